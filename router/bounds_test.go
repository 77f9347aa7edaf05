package router_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestCallsInFlightAreBounded(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].MaxCallsPerCaller = 3
		o.Realms[0].MaxCallsPerCallee = 5
	})
	caller, callee := callPair(t, srv, "json", "msgpack")
	callee.register("com.example.slow", wamp.Dict{})
	call := func(p *peer) wamp.ID {
		req := p.next()
		p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.slow"})
		return req
	}
	var invs []*wamp.Invocation
	for range 3 {
		call(caller)
		invs = append(invs, expect[*wamp.Invocation](callee))
	}
	e := caller.expectError(wamp.TypeCall, call(caller), "tollgate.error.too_many_calls")
	if msg := errorMessage(t, e); msg != "this session has 3 calls in flight, the most the realm allows" {
		t.Errorf("message %q", msg)
	}
	// An answered call frees its slot.
	callee.send(&wamp.Yield{Request: invs[0].Request, Options: wamp.Dict{}})
	expect[*wamp.Result](caller)
	call(caller)
	expect[*wamp.Invocation](callee)

	// The callee now has 3 in flight; another caller fills it to 5.
	other := dialPeer(t, srv, "tcp", "cbor")
	other.join()
	for range 2 {
		call(other)
		expect[*wamp.Invocation](callee)
	}
	other.expectError(wamp.TypeCall, call(other), "tollgate.error.callee_busy")
	if got := srv.Router().Stats().BoundRefusals; got != 2 {
		t.Errorf("BoundRefusals = %d, want 2", got)
	}
}

func TestSubscriptionsAndRegistrationsPerSessionAreBounded(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].MaxSubscriptionsPerSession = 2
		o.Realms[0].MaxRegistrationsPerSession = 2
	})
	p := dialPeer(t, srv, "ws", "json")
	p.join()
	var subs []wamp.ID
	for i := range 2 {
		subs = append(subs, p.subscribe(wamp.URI(fmt.Sprintf("com.example.t%d", i)), wamp.Dict{}))
		p.register(wamp.URI(fmt.Sprintf("com.example.p%d", i)), wamp.Dict{})
	}
	req := p.next()
	p.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "com.example.t2"})
	p.expectError(wamp.TypeSubscribe, req, router.ErrTooManySubscriptions)
	req = p.next()
	p.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p2"})
	p.expectError(wamp.TypeRegister, req, router.ErrTooManyRegistrations)

	req = p.next()
	p.send(&wamp.Unsubscribe{Request: req, Subscription: subs[0]})
	expect[*wamp.Unsubscribed](p)
	p.subscribe("com.example.t2", wamp.Dict{})
}

// TestDefaultCallBound: without configuration a caller that never sees
// answers cannot hold more than DefaultMaxCallsPerCaller calls (about
// 190 bytes of router heap each).
func TestDefaultCallBound(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "msgpack", "msgpack")
	callee.register("com.example.hold", wamp.Dict{})
	const n = router.DefaultMaxCallsPerCaller + 50
	for range n {
		caller.send(&wamp.Call{Request: caller.next(), Options: wamp.Dict{}, Procedure: "com.example.hold"})
	}
	for range router.DefaultMaxCallsPerCaller {
		expect[*wamp.Invocation](callee)
	}
	for range n - router.DefaultMaxCallsPerCaller {
		if e := expect[*wamp.Error](caller); e.Error != "tollgate.error.too_many_calls" {
			t.Fatalf("ERROR %s", e.Error)
		}
	}
	callee.expectNothing(50 * time.Millisecond)
}
