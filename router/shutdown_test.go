package router_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Concurrent Shutdown calls while sessions are mid-handshake, mid-call
// (the callee never answers) and idle: all return, the caller's call is
// answered or its session closed, nothing leaks (goleak in TestMain).
func TestShutdownMidEverything(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	callee := dialPeer(t, srv, "ws", "json")
	callee.join()
	callee.register("com.silent", nil)
	caller := dialPeer(t, srv, "tcp", "msgpack")
	caller.join()
	caller.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "com.silent"})
	expect[*wamp.Invocation](callee)
	noHello := dialPeer(t, srv, "unix", "cbor") // connected, never says HELLO
	_ = noHello
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- srv.Router().Shutdown(ctx)
		}()
	}
	// The callee and caller answer the router's GOODBYE.
	for _, p := range []*peer{callee, caller} {
		for {
			m := p.recv()
			if g, ok := m.(*wamp.Goodbye); ok {
				if g.Reason != wamp.CloseSystemShutdown {
					t.Fatalf("GOODBYE %s", g.Reason)
				}
				p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
				break
			}
			if e, ok := m.(*wamp.Error); ok && p == caller && e.Request != 1 {
				t.Fatalf("unexpected ERROR %+v", e)
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	noHello.expectClosed()
}
