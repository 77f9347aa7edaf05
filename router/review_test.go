package router_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// deafCallee joins, registers proc and then never reads again: its socket
// buffers and then its router queue fill up.
func deafCallee(t *testing.T, srv *routertest.Server, proc wamp.URI) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc := dialConn(t, srv.URL("tcp"), codec.JSON)
	t.Cleanup(func() { tc.Close() })
	if _, ok := rawRPC(t, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
		t.Fatal("no WELCOME")
	}
	if _, ok := rawRPC(t, ctx, tc, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: proc}).(*wamp.Registered); !ok {
		t.Fatal("no REGISTERED")
	}
	return tc
}

// A callee that stops reading is disconnected as a slow consumer; every
// call routed to it gets exactly one answer.
func TestReviewDeafCalleeEveryCallAnswered(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.MaxQueueBytes = 64 << 10
		o.MaxQueueMessages = 4096
	})
	deafCallee(t, srv, "com.deaf")
	caller := dialPeer(t, srv, "tcp", "json")
	caller.join()
	const n = 400
	big := strings.Repeat("x", 4<<10)
	for i := 1; i <= n; i++ {
		caller.send(&wamp.Call{Request: wamp.ID(i), Options: wamp.Dict{}, Procedure: "com.deaf", Payload: wamp.Payload{Args: wamp.List{big}}})
	}
	seen := map[wamp.ID]wamp.URI{}
	for len(seen) < n {
		e := expect[*wamp.Error](caller)
		if _, dup := seen[e.Request]; dup {
			t.Fatalf("second answer for call %d: %s", e.Request, e.Error)
		}
		if e.Error != wamp.ErrCanceled && e.Error != wamp.ErrNoSuchProcedure {
			t.Fatalf("call %d: %s", e.Request, e.Error)
		}
		seen[e.Request] = e.Error
	}
	caller.expectNothing(50 * time.Millisecond)
}

// Concurrent Shutdown calls while sessions are mid-handshake, mid-call
// (the callee never answers) and idle: all return, the caller's call is
// answered or its session closed, nothing leaks (goleak in TestMain).
func TestReviewShutdownMidEverything(t *testing.T) {
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

// TestReviewStressRouting runs joins and leaves watched by meta
// subscribers, subscribe/unsubscribe/publish and register/unregister/call
// from many sessions at once (for -race); every acknowledged request is
// answered.
func TestReviewStressRouting(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	watcher := dialPeer(t, srv, "tcp", "json")
	watcher.join()
	for _, topic := range []wamp.URI{"wamp.session.on_join", "wamp.session.on_leave", "wamp.registration.on_create", "wamp.subscription.on_delete"} {
		watcher.subscribe(topic, nil)
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 4 {
				p := dialPeer(t, srv, transports[(w+round)%len(transports)], "json")
				p.join()
				proc := wamp.URI(fmt.Sprintf("com.stress.p%d", w%3)) // shared names: some REGISTERs are refused
				topic := wamp.URI(fmt.Sprintf("com.stress.t%d", w%2))
				pending := 0
				regReq, subReq := p.next(), p.next()
				p.send(&wamp.Register{Request: regReq, Options: wamp.Dict{}, Procedure: proc})
				p.send(&wamp.Subscribe{Request: subReq, Options: wamp.Dict{}, Topic: topic})
				pending += 2
				for range 10 {
					p.send(&wamp.Publish{Request: p.next(), Options: wamp.Dict{"acknowledge": true, "exclude_me": false}, Topic: topic, Payload: wamp.Payload{Args: wamp.List{1}}})
					p.send(&wamp.Call{Request: p.next(), Options: wamp.Dict{"timeout": int64(500)}, Procedure: proc})
					pending += 2
				}
				for pending > 0 {
					switch m := p.recv().(type) {
					case *wamp.Invocation:
						p.send(&wamp.Yield{Request: m.Request, Options: wamp.Dict{}})
					case *wamp.Registered:
						p.send(&wamp.Unregister{Request: p.next(), Registration: m.Registration}) // answered in its place
					case *wamp.Subscribed:
						p.send(&wamp.Unsubscribe{Request: p.next(), Subscription: m.Subscription}) // answered in its place
					case *wamp.Event:
					default:
						pending--
					}
				}
				if round%2 == 0 {
					p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseRealm})
					// Other workers' events may still be on their way before the reply.
					for done := false; !done; {
						switch m := p.recv().(type) {
						case *wamp.Goodbye:
							done = true
						case *wamp.Event:
						default:
							t.Errorf("before GOODBYE: unexpected %v", m.MessageType())
							done = true
						}
					}
				}
				p.tc.Close()
			}
		}()
	}
	wg.Wait()
	// The watcher saw every join and leave; its session is still fine.
	joins, leaves := 0, 0
	for joins < 24 || leaves < 24 {
		ev := expect[*wamp.Event](watcher)
		switch len(argsOf(t, &ev.Payload)) {
		case 1:
			joins++
		case 3:
			leaves++
		}
	}
}
