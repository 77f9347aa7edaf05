package router_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The spec's prefix-matching examples (pattern-based subscription and
// registration) through the Go client, over every transport and
// serializer: prefixes match UTF-8 byte strings, not URI components.

// specTopics are the topics of the spec's pattern-based subscription
// example that a prefix subscription to com.myapp.topic.emergency gets.
var specTopics = []wamp.URI{
	"com.myapp.topic.emergency.11",
	"com.myapp.topic.emergency-low",
	"com.myapp.topic.emergency.category.severe",
	"com.myapp.topic.emergency",
}

// looseRealm lets realm1 take the spec's URIs ("emergency-low" is not a
// strict component).
func looseRealm(o *router.Options) { o.Realms[0].URICheck = "loose" }

func specCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func specDial(t *testing.T, ctx context.Context, url string, cfg client.Config) *client.Session {
	t.Helper()
	if cfg.Realm == "" {
		cfg.Realm = routertest.Realm
	}
	s, err := client.Dial(ctx, url, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// collectTopics subscribes sub to the spec's prefix and to the exact topic
// com.myapp.done, publishes com.myapp.topic.emerge (must not match), the
// spec's topics and then com.myapp.done from pub, and returns the topics
// sub received before done. Handlers run one at a time in arrival order
// (MaxConcurrentHandlers 1), and the router delivers one publisher's
// events in order, so a wrongly delivered event shows up before done.
func collectTopics(t *testing.T, ctx context.Context, sub, pub *client.Session) []wamp.URI {
	t.Helper()
	topics := make(chan wamp.URI, 16)
	onEvent := func(_ context.Context, ev *client.Event) { topics <- ev.Topic }
	if _, err := sub.Subscribe(ctx, "com.myapp.topic.emergency", onEvent, client.Match(wamp.MatchPrefix)); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(ctx, "com.myapp.done", onEvent); err != nil {
		t.Fatal(err)
	}
	for _, topic := range append(append([]wamp.URI{"com.myapp.topic.emerge"}, specTopics...), "com.myapp.done") {
		if err := pub.Publish(ctx, topic, wamp.List{string(topic)}, nil, client.Acknowledge()); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	var got []wamp.URI
	for {
		select {
		case topic := <-topics:
			if topic == "com.myapp.done" {
				return got
			}
			got = append(got, topic)
		case <-ctx.Done():
			t.Fatalf("events so far %v: %v", got, ctx.Err())
		}
	}
}

func TestSpecPrefixSubscription(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, looseRealm)
	for _, tc := range [][2]string{{"ws", "json"}, {"tcp", "msgpack"}, {"unix", "cbor"}} {
		t.Run(tc[0]+"/"+tc[1], func(t *testing.T) {
			t.Parallel()
			// A router of its own: parallel subtests publish the same topics.
			srv := routertest.Start(t, looseRealm)
			ctx := specCtx(t)
			cfg := client.Config{Serializer: tc[1], MaxConcurrentHandlers: 1}
			sub := specDial(t, ctx, srv.URL(tc[0]), cfg)
			pub := specDial(t, ctx, srv.URL(tc[0]), cfg)
			if got := collectTopics(t, ctx, sub, pub); !slices.Equal(got, specTopics) {
				t.Fatalf("prefix subscription com.myapp.topic.emergency got %v, want %v", got, specTopics)
			}
		})
	}
	// The meta API resolves with the same index.
	ctx := specCtx(t)
	admin := specDial(t, ctx, srv.URL("ws"), client.Config{})
	owner := specDial(t, ctx, srv.URL("ws"), client.Config{})
	sub, err := owner.Subscribe(ctx, "com.meta.topic.emergency", func() {}, client.Match(wamp.MatchPrefix))
	if err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[wamp.URI][]wamp.ID{
		"com.meta.topic.emergency-low": {sub.ID},
		"com.meta.topic.emergency":     {sub.ID},
		"com.meta.topic.emerge":        nil,
	} {
		res, err := admin.Call(ctx, "wamp.subscription.match", wamp.List{string(topic)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if want == nil {
			deepEqual(t, "wamp.subscription.match "+string(topic), res.Args, wamp.List{nil})
			continue
		}
		deepEqual(t, "wamp.subscription.match "+string(topic), asIDs(t, res.Args[0]), want)
	}
	res, err := admin.Call(ctx, "wamp.subscription.lookup", wamp.List{"com.meta.topic.emergency", wamp.Dict{"match": "prefix"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	deepEqual(t, "wamp.subscription.lookup", asID(t, res.Args[0]), sub.ID)
}

func TestSpecPrefixRegistration(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, looseRealm)
	for _, tc := range [][2]string{{"ws", "cbor"}, {"tcp", "json"}, {"unix", "msgpack"}} {
		t.Run(tc[0]+"/"+tc[1], func(t *testing.T) {
			t.Parallel()
			ctx := specCtx(t)
			cfg := client.Config{Serializer: tc[1]}
			callee := specDial(t, ctx, srv.URL(tc[0]), cfg)
			caller := specDial(t, ctx, srv.URL(tc[0]), cfg)
			// Each subtest has its own procedure space.
			base := wamp.URI("com." + tc[0] + ".")
			reg, err := callee.Register(ctx, base+"myobject1", func(cc *client.CallContext) (string, error) {
				return string(cc.Procedure), nil
			}, client.Match(wamp.MatchPrefix))
			if err != nil {
				t.Fatal(err)
			}
			var res *client.Result
			for _, p := range []wamp.URI{"myobject1.myprocedure1", "myobject1-mysubobject1", "myobject1.mysubobject1.myprocedure1", "myobject1"} {
				res, err = caller.Call(ctx, base+p, nil, nil)
				if err != nil {
					t.Fatalf("call %s: %v", base+p, err)
				}
				if len(res.Args) != 1 || res.Args[0] != string(base+p) {
					t.Errorf("call %s: callee saw %v", base+p, res.Args)
				}
			}
			for _, p := range []wamp.URI{"myobject2", "myobject"} {
				if _, err := caller.Call(ctx, base+p, nil, nil); !errors.Is(err, client.NewError(wamp.ErrNoSuchProcedure)) {
					t.Errorf("call %s: %v, want %s", base+p, err, wamp.ErrNoSuchProcedure)
				}
			}
			res, err = caller.Call(ctx, "wamp.registration.match", wamp.List{string(base + "myobject1-mysubobject1")}, nil)
			if err != nil {
				t.Fatal(err)
			}
			deepEqual(t, "wamp.registration.match", asID(t, res.Args[0]), reg.ID)
		})
	}
}

// TestSpecRegistrationResolution is the spec's resolution example with its
// own URIs, over a socket. The spec's text routes a1.b2.c3.d4.e5 to
// registration 5 although prefixes 2 and 3 match it and its rule 2 puts
// the longest prefix first: Tollgate follows the rule (3).
func TestSpecRegistrationResolution(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := specCtx(t)
	callee := specDial(t, ctx, srv.URL("tcp"), client.Config{Serializer: "msgpack"})
	caller := specDial(t, ctx, srv.URL("ws"), client.Config{})
	regs := []struct {
		uri   wamp.URI
		match string
	}{
		{"a1.b2.c3.d4.e55", wamp.MatchExact},
		{"a1.b2.c3", wamp.MatchPrefix},
		{"a1.b2.c3.d4", wamp.MatchPrefix},
		{"a1.b2..d4.e5", wamp.MatchWildcard},
		{"a1.b2.c3..e5", wamp.MatchWildcard},
		{"a1.b2..d4.e5..g7", wamp.MatchWildcard},
		{"a1.b2..d4..f6.g7", wamp.MatchWildcard},
	}
	for i, r := range regs {
		n := int64(i + 1)
		if _, err := callee.Register(ctx, r.uri, func() int64 { return n }, client.Match(r.match)); err != nil {
			t.Fatalf("register %s (%s): %v", r.uri, r.match, err)
		}
	}
	for call, want := range map[wamp.URI]int64{
		"a1.b2.c3.d4.e55":       1,
		"a1.b2.c3.d98.e74":      2,
		"a1.b2.c3.d4.e325":      3,
		"a1.b2.c55.d4.e5":       4,
		"a1.b2.c3.d4.e5":        3,
		"a1.b2.c88.d4.e5.f6.g7": 6,
		"a1.b2.c3x.d4":          2, // byte prefix "a1.b2.c3"
	} {
		res, err := caller.Call(ctx, call, nil, nil)
		if err != nil {
			t.Fatalf("call %s: %v", call, err)
		}
		if got, _ := wamp.AsInt(res.Args[0]); got != want {
			t.Errorf("call %s routed to registration %v, want %d", call, res.Args[0], want)
		}
	}
	if _, err := caller.Call(ctx, "a2.b2.c2.d2.e2", nil, nil); !errors.Is(err, client.NewError(wamp.ErrNoSuchProcedure)) {
		t.Errorf("call a2.b2.c2.d2.e2: %v, want %s", err, wamp.ErrNoSuchProcedure)
	}
}

// TestBytePrefixAuthorization: static permissions keep whole-component
// prefixes (docs/authorization.md). A role whose only subscribe
// permission is the prefix com.myapp.topic.emergency may make the spec's
// prefix subscription, but the per-event check withholds
// com.myapp.topic.emergency-low, which that permission does not cover; a
// role with com.myapp.topic. gets every spec topic.
func TestBytePrefixAuthorization(t *testing.T) {
	t.Parallel()
	pubAll := authz.Permission{URI: "com.myapp.", Match: wamp.MatchPrefix, Allow: authz.Actions{Publish: true, Subscribe: true}}
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: routertest.Realm, URICheck: "loose", Roles: []authz.RoleConfig{
			{Name: "narrow", Permissions: []authz.Permission{
				{URI: "com.myapp.topic.emergency", Match: wamp.MatchPrefix, Allow: authz.Actions{Subscribe: true}},
				{URI: "com.myapp.done", Match: wamp.MatchExact, Allow: authz.Actions{Subscribe: true}},
			}},
			{Name: "wide", Permissions: []authz.Permission{pubAll}},
		}}}
	})
	narrowURL := srv.Serve(t, "tcp", anonymousTransport("narrow"))
	wideURL := srv.Serve(t, "unix", anonymousTransport("wide"))
	ctx := specCtx(t)
	cfg := client.Config{MaxConcurrentHandlers: 1}
	pub := specDial(t, ctx, wideURL, cfg)

	narrow := specDial(t, ctx, narrowURL, cfg)
	want := []wamp.URI{"com.myapp.topic.emergency.11", "com.myapp.topic.emergency.category.severe", "com.myapp.topic.emergency"}
	if got := collectTopics(t, ctx, narrow, pub); !slices.Equal(got, want) {
		t.Errorf("narrow role got %v, want %v (emergency-low withheld)", got, want)
	}
	if n := srv.Router().Stats().WithheldEvents; n != 1 {
		t.Errorf("WithheldEvents = %d, want 1 (emergency-low)", n)
	}
	wide := specDial(t, ctx, wideURL, cfg)
	if got := collectTopics(t, ctx, wide, pub); !slices.Equal(got, specTopics) {
		t.Errorf("wide role got %v, want %v", got, specTopics)
	}
}

// TestReservedBytePrefixRegistration: since prefixes match bytes, any
// prefix of "wamp." or "tollgate." would receive calls to reserved
// procedures the router does not serve; only trusted sessions may
// register one.
func TestReservedBytePrefixRegistration(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	ctx := specCtx(t)
	s := specDial(t, ctx, backdoor, client.Config{Realm: "realm1"})
	for _, p := range []wamp.URI{"w", "wam", "t", "tollg", "tollgate"} {
		if _, err := s.Register(ctx, p, func() {}, client.Match(wamp.MatchPrefix)); !errors.Is(err, client.NewError(wamp.ErrInvalidURI)) {
			t.Errorf("prefix registration %q by a backend session: %v, want %s", p, err, wamp.ErrInvalidURI)
		}
	}
	for _, p := range []wamp.URI{"wampx", "tollgatex", "x", "wax"} {
		if _, err := s.Register(ctx, p, func() {}, client.Match(wamp.MatchPrefix)); err != nil {
			t.Errorf("prefix registration %q: %v", p, err)
		}
	}
	caller := specDial(t, ctx, backdoor, client.Config{Realm: "realm1"})
	if _, err := caller.Call(ctx, "wamp.session.nonexistent", nil, nil); !errors.Is(err, client.NewError(wamp.ErrNoSuchProcedure)) {
		t.Errorf("call wamp.session.nonexistent: %v, want %s", err, wamp.ErrNoSuchProcedure)
	}
}
