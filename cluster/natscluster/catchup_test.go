package natscluster_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestReadYourWritesAcrossNodes: a callee on C registers, and the moment
// REGISTERED arrives a caller on A calls (exact, then prefix): never
// no_such_procedure, round after round, though A's replica may not have
// the record yet.
func TestReadYourWritesAcrossNodes(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	callee, caller := dialN(t, nodes[2], 4), dial(t, nodes[0])
	const rounds = 100
	for i := range rounds {
		uri := wamp.URI(fmt.Sprintf("com.ryw.r%d", i))
		reg := register(t, callee, uri, func() int64 { return int64(i) })
		if _, err := caller.Call(ctx, uri, nil, nil); err != nil {
			t.Fatalf("round %d: call right after REGISTERED on another node: %v", i, err)
		}
		preg := register(t, callee, uri+".p.", func() int64 { return int64(i) }, client.Match(wamp.MatchPrefix))
		if _, err := caller.Call(ctx, uri+".p.x", nil, nil); err != nil {
			t.Fatalf("round %d: prefix call right after REGISTERED on another node: %v", i, err)
		}
		for _, r := range []*client.Registration{reg, preg} {
			if err := callee.Unregister(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d rounds; node A asked the stream %d times", rounds, nodes[0].c.CatchUps())
}

// TestMissesCoalesce: a genuine miss is still no_such_procedure, and many
// concurrent misses for random URIs share the asks to the stream (at most
// one in flight per node) instead of sending one each.
func TestMissesCoalesce(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	const callers, each = 16, 10
	before := nodes[0].c.CatchUps()
	var wg sync.WaitGroup
	for w := range callers {
		s := dial(t, nodes[0])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				_, err := s.Call(ctx, wamp.URI(fmt.Sprintf("com.none.w%d.c%d", w, i)), nil, nil)
				if errURI(err) != wamp.ErrNoSuchProcedure {
					t.Errorf("unknown procedure: %v, want no_such_procedure", err)
				}
			}
		}()
	}
	wg.Wait()
	asks := nodes[0].c.CatchUps() - before
	if asks == 0 || asks > callers*each/2 {
		t.Fatalf("%d misses sent %d asks to the stream, want between 1 and %d", callers*each, asks, callers*each/2)
	}
	t.Logf("%d concurrent misses: %d asks to the stream", callers*each, asks)
}

// TestMissWithoutRegistry: with the registry's stream out of reach (the
// two other nodes crashed), a miss waits out the bound once; the misses
// in the next second are answered at once.
func TestMissWithoutRegistry(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	caller := dial(t, nodes[0])
	nodes[1].c.Crash()
	nodes[2].c.Crash()
	start := time.Now()
	for i := range 10 {
		if _, err := caller.Call(ctx, "com.none", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
			t.Fatalf("miss %d: %v, want no_such_procedure", i, err)
		}
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Fatalf("10 misses without a registry took %v, want one bound (250 ms) and little more", d)
	} else {
		t.Logf("10 misses without a registry: %v", d)
	}
}
