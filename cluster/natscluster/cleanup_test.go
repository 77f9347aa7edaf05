package natscluster_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// within waits (as waitFor) for cond and fails the test if it took longer
// than d since start.
func within(t testing.TB, start time.Time, d time.Duration, what string, cond func() bool) {
	t.Helper()
	waitFor(t, what, cond)
	if took := time.Since(start); took > d {
		t.Errorf("%s after %v, want <= %v", what, took, d)
	} else {
		t.Logf("%s after %v", what, took)
	}
}

// isNodeLost reports whether err is canceled with reason node_lost.
func isNodeLost(err error) bool {
	var we *client.Error
	return errors.As(err, &we) && we.URI == wamp.ErrCanceled && we.Details["reason"] == cluster.ReasonNodeLost
}

// TestCrashedNodeLeavesRegistry: n2 holds a single registration with
// calls from n0 and n1 pending and crashes. The pending calls are
// answered canceled (node_lost), once each; within 2 s the registry
// bucket and every survivor's replica have dropped n2's callee, and n1
// can register the URI.
func TestCrashedNodeLeavesRegistry(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	release := make(chan struct{})
	defer close(release)
	register(t, dialN(t, nodes[2], 8), "com.single", func() { <-release })
	waitCallees(t, nodes, "com.single", wamp.MatchExact, 1)
	const perNode = 3
	var answers atomic.Int64
	errc := make(chan error, 2*perNode)
	for _, nd := range nodes[:2] {
		s := dial(t, nd)
		for range perNode {
			go func() {
				_, err := s.Call(ctx, "com.single", nil, nil)
				answers.Add(1)
				errc <- err
			}()
		}
	}
	waitFor(t, "calls pending", func() bool { return nodes[0].c.Pending() == perNode && nodes[1].c.Pending() == perNode })
	start := time.Now()
	nodes[2].c.Crash()
	for range 2 * perNode {
		if err := <-errc; !isNodeLost(err) {
			t.Fatalf("pending call: %v, want canceled (node lost)", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("pending calls answered %v after the crash, want <= 2s", d)
	}
	within(t, start, 2*time.Second, "n2's callee gone from the bucket", func() bool {
		return nodes[0].c.StoredCallees(ctx, realm, "com.single", wamp.MatchExact) == 0
	})
	waitCallees(t, nodes[:2], "com.single", wamp.MatchExact, 0)
	register(t, dial(t, nodes[1]), "com.single", func() {})
	waitCallees(t, nodes[:2], "com.single", wamp.MatchExact, 1)
	if cs := nodes[0].c.Callees(realm, "com.single", wamp.MatchExact); cs[0].Node != "n1" {
		t.Fatalf("n0's replica: %v, want n1's callee", cs)
	}
	if got := answers.Load(); got != 2*perNode {
		t.Fatalf("%d answers for %d calls", got, 2*perNode)
	}
	for _, nd := range nodes[:2] {
		if p := nd.c.Pending(); p != 0 {
			t.Fatalf("%s: %d calls pending", nd.c.Node(), p)
		}
	}
}

// TestNodeCrashUnderRPCLoad (cluster-design.md §8 row 8): 8 callers on
// n0 and n1 call a roundrobin procedure with callees on all three nodes,
// and 2 more wait on a procedure only n2 has; n2 crashes midway. Every
// CALL gets exactly one answer, the calls pending at n2 within 2 s of the
// crash, and n2's registrations leave the bucket and every survivor's
// replica within 2 s.
func TestNodeCrashUnderRPCLoad(t *testing.T) {
	t0 := time.Now()
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	release := make(chan struct{})
	defer close(release)
	for i, nd := range nodes {
		register(t, dialN(t, nd, 16), "com.load", func() int64 { return int64(i) }, client.Invoke(wamp.InvokeRoundRobin))
		waitCallees(t, nodes, "com.load", wamp.MatchExact, i+1)
	}
	register(t, dialN(t, nodes[2], 8), "com.stuck", func() { <-release })
	waitCallees(t, nodes, "com.stuck", wamp.MatchExact, 1)

	const workers, perWorker = 8, 100
	load := loadCalls(t, ctx, workers, perWorker, "com.load", func(w int) *client.Session { return dial(t, nodes[w%2]) })
	stuck := make(chan error, 2)
	for _, nd := range nodes[:2] {
		s := dial(t, nd)
		load.made.Add(1)
		go func() {
			_, err := s.Call(ctx, "com.stuck", nil, nil)
			stuck <- err
		}()
	}
	waitFor(t, "the stuck calls pending", func() bool { return nodes[0].c.Pending() >= 1 && nodes[1].c.Pending() >= 1 })
	<-load.half
	start := time.Now()
	nodes[2].c.Crash()
	for range 2 {
		err := <-stuck
		if !isNodeLost(err) {
			t.Errorf("call pending at the crashed node: %v, want canceled (node lost)", err)
		}
		load.failed.Add(1)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("calls pending at the crashed node answered %v after the crash, want <= 2s", d)
	} else {
		t.Logf("calls pending at the crashed node answered %v after the crash", d)
	}
	within(t, start, 2*time.Second, "n2's registrations gone from the bucket and the replicas", func() bool {
		for _, nd := range nodes[:2] {
			if len(nd.c.Callees(realm, "com.load", wamp.MatchExact)) != 2 || len(nd.c.Callees(realm, "com.stuck", wamp.MatchExact)) != 0 {
				return false
			}
		}
		return nodes[0].c.StoredCallees(ctx, realm, "com.load", wamp.MatchExact) == 2 &&
			nodes[0].c.StoredCallees(ctx, realm, "com.stuck", wamp.MatchExact) == 0
	})
	load.wg.Wait()
	if load.made.Load() != load.results.Load()+load.failed.Load() {
		t.Fatalf("%d calls made, %d results + %d errors", load.made.Load(), load.results.Load(), load.failed.Load())
	}
	for _, nd := range nodes[:2] {
		if p := nd.c.Pending(); p != 0 {
			t.Errorf("%s: %d calls still pending", nd.c.Node(), p)
		}
	}
	t.Logf("%d calls: %d results, %d canceled or no_available_callee in %v", load.made.Load(), load.results.Load(), load.failed.Load(), time.Since(t0))
}
