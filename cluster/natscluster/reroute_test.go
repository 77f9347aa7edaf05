package natscluster_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestRerouteNotDelivered: three roundrobin callees on three nodes, calls
// from A under load; B's callee leaves, then C crashes. Calls the gone
// callees never got are rerouted (no no_available_callee), calls they
// may have got are answered canceled; every call is answered once and
// invoked at most once (exactly once when it has a result).
func TestRerouteNotDelivered(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	var invoked sync.Map // call number → *atomic.Int32
	fn := func(n int64) int64 {
		v, _ := invoked.LoadOrStore(n, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
		return n
	}
	var callees []*client.Session
	for i, nd := range nodes {
		s := dialN(t, nd, 16)
		register(t, s, "com.rr", fn, client.Invoke(wamp.InvokeRoundRobin))
		waitCallees(t, nodes, "com.rr", wamp.MatchExact, i+1)
		callees = append(callees, s)
	}
	const workers, perWorker = 6, 100
	var results, canceled atomic.Int64
	answered := make([]atomic.Int32, workers*perWorker)
	var wg sync.WaitGroup
	third := make(chan struct{})
	var once sync.Once
	for w := range workers {
		caller := dial(t, nodes[0])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				if i == perWorker/3 {
					once.Do(func() { close(third) })
				}
				n := int64(w*perWorker + i)
				res, err := caller.Call(ctx, "com.rr", wamp.List{n}, nil)
				answered[n].Add(1)
				switch {
				case err == nil:
					if v, _ := wamp.AsInt(res.Args[0]); v != n {
						t.Errorf("call %d answered with %v", n, res.Args)
					}
					results.Add(1)
				case errURI(err) == wamp.ErrCanceled:
					canceled.Add(1)
				default:
					t.Errorf("call %d: %v, want a result or canceled", n, err)
				}
			}
		}()
	}
	<-third
	_ = callees[1].Close(context.Background())
	waitCallees(t, nodes, "com.rr", wamp.MatchExact, 2)
	nodes[2].c.Crash()
	wg.Wait()
	for n := range answered {
		if a := answered[n].Load(); a != 1 {
			t.Fatalf("call %d answered %d times", n, a)
		}
	}
	var once1 int
	invoked.Range(func(k, v any) bool {
		if c := v.(*atomic.Int32).Load(); c != 1 {
			t.Errorf("call %v invoked %d times", k, c)
		}
		once1++
		return true
	})
	if int64(once1) < results.Load() {
		t.Fatalf("%d results but only %d calls invoked", results.Load(), once1)
	}
	if p := nodes[0].c.Pending(); p != 0 {
		t.Errorf("%d calls still pending", p)
	}
	t.Logf("%d calls: %d results, %d canceled; %d invoked once", workers*perWorker, results.Load(), canceled.Load(), once1)
}
