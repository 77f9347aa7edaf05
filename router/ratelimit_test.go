package router_test

import (
	"errors"
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Over its message rate a session's requests get ERROR
// wamp.error.rate_limited; the CloseAfter-th refusal ends it with GOODBYE
// tollgate.close.rate_limited. Other sessions are unaffected.
func TestMessageRateLimitPerSession(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].MessageRates = router.MessageRates{Session: router.Rate{PerSecond: 0.01, Burst: 3}, CloseAfter: 2}
	})
	ctx := specCtx(t)
	callee := specDial(t, ctx, srv.URL("tcp"), client.Config{})
	if _, err := callee.Register(ctx, "com.echo", func(x int64) int64 { return x }); err != nil {
		t.Fatal(err)
	}
	caller := specDial(t, ctx, srv.URL("ws"), client.Config{})
	for i := range 3 {
		if _, err := caller.Call(ctx, "com.echo", wamp.List{int64(i)}, nil); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	if _, err := caller.Call(ctx, "com.echo", wamp.List{int64(3)}, nil); !errors.Is(err, &client.Error{URI: router.ErrRateLimited}) {
		t.Fatalf("call over the rate: %v, want %s", err, router.ErrRateLimited)
	}
	// The callee has its own bucket.
	if _, err := callee.Call(ctx, "com.echo", wamp.List{int64(1)}, nil); err != nil {
		t.Fatalf("another session: %v", err)
	}
	if _, err := caller.Call(ctx, "com.echo", wamp.List{int64(4)}, nil); !errors.Is(err, &client.Error{URI: router.ErrRateLimited}) {
		t.Fatalf("second call over the rate: %v, want %s", err, router.ErrRateLimited)
	}
	select {
	case <-caller.Done():
	case <-ctx.Done():
		t.Fatal("the session was not closed after CloseAfter refusals")
	}
	var ge *client.GoodbyeError
	if err := caller.Err(); !errors.As(err, &ge) || ge.Reason != router.CloseRateLimited {
		t.Fatalf("session ended with %v, want GOODBYE %s", caller.Err(), router.CloseRateLimited)
	}
	if st := srv.Router().Stats(); st.RateLimited != 2 || st.RateLimitCloses != 1 {
		t.Errorf("RateLimited %d, RateLimitCloses %d; want 2, 1", st.RateLimited, st.RateLimitCloses)
	}
}

// A role's limit is shared by all its sessions; an unacknowledged PUBLISH
// over it is dropped and counted (it has no answer).
func TestMessageRateLimitPerRole(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].RoleMessageRates = map[string]router.MessageRates{"anonymous": {Role: router.Rate{PerSecond: 0.01, Burst: 2}}}
	})
	a := dialPeer(t, srv, "tcp", "json")
	a.join()
	b := dialPeer(t, srv, "ws", "json")
	b.join()
	a.send(&wamp.Publish{Request: a.next(), Options: wamp.Dict{"acknowledge": true}, Topic: "com.t"})
	expect[*wamp.Published](a)
	b.send(&wamp.Publish{Request: b.next(), Options: wamp.Dict{"acknowledge": true}, Topic: "com.t"})
	expect[*wamp.Published](b)
	b.send(&wamp.Publish{Request: b.next(), Options: wamp.Dict{}, Topic: "com.t"}) // dropped
	req := a.next()
	a.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.t"})
	a.expectError(wamp.TypePublish, req, router.ErrRateLimited)
	// No CloseAfter: the sessions stay. b's GOODBYE reply also means its
	// dropped PUBLISH, read before it, has been counted.
	b.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](b)
	if st := srv.Router().Stats(); st.RateLimited != 2 || st.DroppedPublications != 1 {
		t.Errorf("RateLimited %d, DroppedPublications %d; want 2, 1", st.RateLimited, st.DroppedPublications)
	}
}
