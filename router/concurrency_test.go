package router_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestConcurrentRouting runs joins and leaves watched by meta
// subscribers, subscribe/unsubscribe/publish and register/unregister/call
// from many sessions at once (for -race); every acknowledged request is
// answered.
func TestConcurrentRouting(t *testing.T) {
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
