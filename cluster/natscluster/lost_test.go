package natscluster_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func isMessageLost(err error) bool {
	var we *client.Error
	return errors.As(err, &we) && we.URI == wamp.ErrCanceled && we.Details["reason"] == cluster.ReasonMessageLost
}

// dropEvery makes nd lose every nth RPC message of kind (counting them).
func dropEvery(nd *node, kind cluster.CallKind, n int64, dropped *atomic.Int64) {
	var seen atomic.Int64
	nd.c.DropRPC(func(m *cluster.CallMsg) bool {
		if m.Kind != kind || seen.Add(1)%n != 0 {
			return false
		}
		dropped.Add(1)
		return true
	})
}

// TestLostMessageAnswered: NATS loses an INVOCATION from A to B, then a
// final RESULT from B to A; the calls have no timeout, yet each is
// answered canceled (message_lost) within a second or so, and the next
// call works.
func TestLostMessageAnswered(t *testing.T) {
	nodes := startRPCNodes(t, 2)
	ctx := testCtx(t)
	var invoked atomic.Int64
	register(t, dialN(t, nodes[1], 4), "com.lost", func() int64 { return invoked.Add(1) })
	waitCallees(t, nodes, "com.lost", wamp.MatchExact, 1)
	caller := dial(t, nodes[0])
	for _, c := range []struct {
		name        string
		at          *node
		kind        cluster.CallKind
		wantInvoked int64
	}{{"INVOCATION", nodes[0], cluster.KindInvoke, 0}, {"RESULT", nodes[1], cluster.KindResult, 1}} {
		var dropped atomic.Int64
		dropEvery(c.at, c.kind, 1, &dropped)
		before := invoked.Load()
		start := time.Now()
		_, err := caller.Call(ctx, "com.lost", nil, nil)
		c.at.c.DropRPC(nil)
		if !isMessageLost(err) || dropped.Load() != 1 {
			t.Fatalf("call whose %s was lost: %v after %d dropped, want canceled (message_lost)", c.name, err, dropped.Load())
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("lost %s noticed after %v, want <= 2s", c.name, d)
		} else {
			t.Logf("lost %s noticed after %v", c.name, d)
		}
		if n := invoked.Load() - before; n != c.wantInvoked {
			t.Errorf("lost %s: callee invoked %d times, want %d", c.name, n, c.wantInvoked)
		}
		if _, err := caller.Call(ctx, "com.lost", nil, nil); err != nil {
			t.Fatalf("next call: %v", err)
		}
	}
	if p := nodes[0].c.Pending(); p != 0 {
		t.Errorf("%d calls still pending", p)
	}
}

// TestLostMessagesUnderLoad: every 25th INVOCATION and every 25th RESULT
// between A and B is lost; every call is answered once, by its result or
// by canceled (message_lost), and exactly the calls that lost a message
// get the latter.
func TestLostMessagesUnderLoad(t *testing.T) {
	nodes := startRPCNodes(t, 2)
	ctx := testCtx(t)
	register(t, dialN(t, nodes[1], 16), "com.lossy", func(n int64) int64 { return n })
	waitCallees(t, nodes, "com.lossy", wamp.MatchExact, 1)
	var dropped atomic.Int64
	dropEvery(nodes[0], cluster.KindInvoke, 25, &dropped)
	dropEvery(nodes[1], cluster.KindResult, 25, &dropped)
	const workers, perWorker = 8, 100
	var results, lost atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		caller := dial(t, nodes[0])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				_, err := caller.Call(ctx, "com.lossy", wamp.List{i}, nil)
				switch {
				case err == nil:
					results.Add(1)
				case isMessageLost(err):
					lost.Add(1)
				default:
					t.Errorf("call: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	if results.Load()+lost.Load() != workers*perWorker || lost.Load() != dropped.Load() {
		t.Fatalf("%d calls: %d results, %d message_lost; %d messages dropped", workers*perWorker, results.Load(), lost.Load(), dropped.Load())
	}
	t.Logf("%d calls: %d results, %d message_lost for %d dropped", workers*perWorker, results.Load(), lost.Load(), dropped.Load())
}
