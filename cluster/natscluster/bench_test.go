package natscluster_test

import (
	"context"
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

// BenchmarkFanout compares one publisher fanning out to 10 subscribers
// on its own node (single: no cluster at all) with the same 10 on another
// node of a 3-node cluster (cross). One op is one publication delivered
// to all 10; compare events/s (wall clock: two routers work in parallel
// in cross) and events/cpu-s (the cost) of the two in one run
// (docs/cluster.md).
func BenchmarkFanout(b *testing.B) {
	const subscribers = 10
	run := func(b *testing.B, pubNode, subNode *node) {
		var got atomic.Int64
		for range subscribers {
			subscribe(b, dial(b, subNode), "com.bench", func(context.Context, *client.Event) { got.Add(1) })
		}
		if pubNode.c != nil && pubNode != subNode {
			waitInterest(b, pubNode, "com.bench", 1)
		}
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
	b.Run("single", func(b *testing.B) {
		nd := &node{srv: routertest.Start(b)}
		run(b, nd, nd)
	})
	b.Run("cross", func(b *testing.B) {
		nodes := startNodes(b, 3)
		run(b, nodes[0], nodes[2])
	})
	// Publisher and subscribers on one clustered node: what the cluster
	// costs a publication no other node wants (it is still sent to NATS).
	b.Run("clustered-local", func(b *testing.B) {
		nodes := startNodes(b, 3)
		run(b, nodes[0], nodes[0])
	})
}
