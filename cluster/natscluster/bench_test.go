package natscluster_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// cpuTime is the process's user+system CPU time: routers, NATS and the
// clients together (all in this process).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fanout publishes b.N 64-byte events from pubNode to perNode subscribers
// on each of subNodes (distinct nodes) and reports events/s (wall clock)
// and events/cpu-s (the cost). One op is one publication delivered to all.
func fanout(b *testing.B, pubNode *node, subNodes []*node, perNode int) {
	var got atomic.Int64
	for _, nd := range subNodes {
		for range perNode {
			subscribe(b, dial(b, nd), "com.bench", func(context.Context, *client.Event) { got.Add(1) })
		}
	}
	if pubNode.c != nil {
		// Every subscribing node's one NATS subscription, the
		// publisher's own included.
		waitInterest(b, pubNode, "com.bench", len(subNodes))
	}
	subscribers := len(subNodes) * perNode
	pub := dial(b, pubNode)
	args := wamp.List{string(make([]byte, 64))}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	const batch = 500
	for sent := 0; sent < b.N; {
		n := min(batch, b.N-sent)
		for range n {
			if err := pub.Publish(ctx, "com.bench", args, nil); err != nil {
				b.Fatal(err)
			}
		}
		sent += n
		// Bounded in flight, so no subscriber queue overflows.
		want := int64(sent * subscribers)
		waitFor(b, "events delivered", func() bool { return got.Load() >= want })
	}
	events := float64(b.N * subscribers)
	b.ReportMetric(events/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(events/(cpuTime(b)-cpu0).Seconds(), "events/cpu-s")
}

// BenchmarkFanout compares one publisher fanning out to 10 subscribers
// on its own node (single: no cluster at all) with the same 10 on another
// node of a 3-node cluster (cross); compare events/s (wall clock: two
// routers work in parallel in cross) and events/cpu-s of the two in one
// run (docs/cluster.md).
func BenchmarkFanout(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		nd := &node{srv: routertest.Start(b)}
		fanout(b, nd, []*node{nd}, 10)
	})
	b.Run("cross", func(b *testing.B) {
		nodes := startNodes(b, 3)
		fanout(b, nodes[0], nodes[2:], 10)
	})
	// Publisher and subscribers on one clustered node: what the cluster
	// costs a publication no other node wants (it is still sent to NATS).
	b.Run("clustered-local", func(b *testing.B) {
		nodes := startNodes(b, 3)
		fanout(b, nodes[0], nodes[:1], 10)
	})
}

// BenchmarkFanout3 (cluster-design.md §8 row 2): a publisher on A and 10
// subscribers on each of A, B and C (cross) against 30 subscribers on one
// node without a cluster (single). Each remote node must take exactly one
// NATS message per publication, whatever its number of subscribers.
func BenchmarkFanout3(b *testing.B) {
	b.Run("single", func(b *testing.B) {
		nd := &node{srv: routertest.Start(b)}
		fanout(b, nd, []*node{nd}, 30)
	})
	b.Run("cross", func(b *testing.B) {
		nodes := startNodes(b, 3)
		fanout(b, nodes[0], nodes, 10)
		b.StopTimer()
		for _, nd := range nodes[1:] {
			if st := nd.c.Stats(); st.Received != uint64(b.N) || st.Duplicates != 0 {
				b.Fatalf("%s took %d NATS messages (%d duplicates) for %d publications, want one each", nd.c.Node(), st.Received, st.Duplicates, b.N)
			}
		}
	})
}

// callLatency times b.N calls of proc (one 64-byte argument), one at a
// time, and reports their p50 and p99 in µs.
func callLatency(b *testing.B, caller *client.Session, proc wamp.URI) {
	ctx := context.Background()
	args := wamp.List{string(make([]byte, 64))}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if _, err := caller.Call(ctx, proc, args, nil); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkCallLatency: one caller, one callee, one call at a time: on
// one node without a cluster (single) and with the caller on A and the
// callee on C of a 3-node cluster (cross). Reports p50 and p99 in µs
// (cluster-design.md §8 row 3: cross p50 ≤ single p50 + 150 µs).
func BenchmarkCallLatency(b *testing.B) {
	run := func(b *testing.B, callerNode, calleeNode *node, nodes []*node) {
		register(b, dialN(b, calleeNode, 1), "com.echo", echo)
		if nodes != nil {
			waitCallees(b, nodes, "com.echo", wamp.MatchExact, 1)
		}
		callLatency(b, dial(b, callerNode), "com.echo")
	}
	b.Run("single", func(b *testing.B) {
		nd := &node{srv: routertest.Start(b)}
		run(b, nd, nd, nil)
	})
	b.Run("cross", func(b *testing.B) {
		nodes := startRPCNodes(b, 3)
		run(b, nodes[0], nodes[2], nodes)
	})
}

// BenchmarkMiss: one caller calling a procedure nobody registered, one
// call at a time: on one node (single) and on a node of a 3-node cluster
// (cross), where a miss asks the registry stream before it is answered
// (catchup.go). Reports p50 in µs.
func BenchmarkMiss(b *testing.B) {
	run := func(b *testing.B, nd *node) {
		caller := dial(b, nd)
		ctx := context.Background()
		lat := make([]time.Duration, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t0 := time.Now()
			if _, err := caller.Call(ctx, "com.none", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	}
	b.Run("single", func(b *testing.B) { run(b, &node{srv: routertest.Start(b)}) })
	b.Run("cross", func(b *testing.B) { run(b, startRPCNodes(b, 3)[0]) })
}

// BenchmarkRPC8x16: 8 callers with 16 calls in flight each against one
// callee: on one node (single) and with the callers on A and the callee on
// C (cross). One op is one call; compare calls per process CPU-second
// (§8 row 4: cross ≥ 0.5× single, 0 failed).
func BenchmarkRPC8x16(b *testing.B) {
	const callers, inflight = 8, 16
	run := func(b *testing.B, callerNode, calleeNode *node, nodes []*node) {
		register(b, dialN(b, calleeNode, callers*inflight), "com.echo", echo)
		if nodes != nil {
			waitCallees(b, nodes, "com.echo", wamp.MatchExact, 1)
		}
		sess := make([]*client.Session, callers)
		for i := range sess {
			sess[i] = dial(b, callerNode)
		}
		ctx := context.Background()
		args := wamp.List{string(make([]byte, 64))}
		var next, failed atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		var wg sync.WaitGroup
		for _, s := range sess {
			for range inflight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if _, err := s.Call(ctx, "com.echo", args, nil); err != nil {
							failed.Add(1)
						}
					}
				}()
			}
		}
		wg.Wait()
		cpu := cpuTime(b) - cpu0
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "calls/cpu-s")
		b.ReportMetric(float64(failed.Load()), "failed")
	}
	b.Run("single", func(b *testing.B) {
		nd := &node{srv: routertest.Start(b)}
		run(b, nd, nd, nil)
	})
	b.Run("cross", func(b *testing.B) {
		nodes := startRPCNodes(b, 3)
		run(b, nodes[0], nodes[2], nodes)
	})
}

func echo(_ context.Context, inv *client.Invocation) (client.Result, error) {
	return client.Result{Args: inv.Args}, nil
}
