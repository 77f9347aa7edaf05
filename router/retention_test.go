package router_test

import (
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// roleURL serves a RawSocket transport that admits anonymous sessions with
// role; it returns its tcp:// URL.
func roleURL(t *testing.T, srv *routertest.Server, role string) string {
	return srv.Serve(t, "tcp", anonymousTransport(role))
}

// joinWith joins realm1 at url with serializer ser, announcing roles.
func joinWith(t *testing.T, url, ser string, roles wamp.Dict) *peer {
	t.Helper()
	p := dialURL(t, url, ser)
	p.send(&wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": roles}})
	p.welcomed()
	return p
}

func (p *peer) publishAck(topic wamp.URI, opts wamp.Dict, args ...any) wamp.ID {
	p.t.Helper()
	o := wamp.Dict{"acknowledge": true}
	for k, v := range opts {
		o[k] = v
	}
	req := p.next()
	p.send(&wamp.Publish{Request: req, Options: o, Topic: topic, Payload: wamp.Payload{Args: args}})
	ack := expect[*wamp.Published](p)
	if ack.Request != req {
		p.t.Fatalf("PUBLISHED for %d, want %d", ack.Request, req)
	}
	return ack.Publication
}

func TestEventRetention(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) { o.Realms[0].RetainedEvents = 2 })
	pub := dialPeer(t, srv, "ws", "json")
	pub.join()
	sub := dialPeer(t, srv, "tcp", "cbor")
	sub.join()

	pub.publishAck("com.news.a", wamp.Dict{"retain": true}, "a1")
	a2 := pub.publishAck("com.news.a", wamp.Dict{"retain": true}, "a2") // replaces a1
	pub.publishAck("com.news.b", nil, "b-not-retained")
	b1 := pub.publishAck("com.news.b", wamp.Dict{"retain": true}, "b1")

	// Exact subscription: SUBSCRIBED, then the retained event.
	req := sub.next()
	sub.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": true}, Topic: "com.news.a"})
	id := expect[*wamp.Subscribed](sub).Subscription
	ev := expect[*wamp.Event](sub)
	if ev.Subscription != id || ev.Publication != a2 || ev.Details["retained"] != true {
		t.Errorf("retained EVENT %+v, want subscription %d publication %d retained", ev, id, a2)
	}
	deepEqual(t, "retained args", argsOf(t, &ev.Payload), wamp.List{"a2"})

	// Without get_retained: nothing.
	sub.subscribe("com.news.b", wamp.Dict{})
	sub.expectNothing(50 * time.Millisecond)

	// Prefix subscription: every matching topic's retained event, with topic.
	pid := sub.subscribe("com.news", wamp.Dict{"match": "prefix", "get_retained": true})
	got := map[wamp.ID]string{}
	for range 2 {
		ev := expect[*wamp.Event](sub)
		if ev.Subscription != pid || ev.Details["retained"] != true {
			t.Errorf("prefix retained EVENT %+v", ev)
		}
		got[ev.Publication], _ = ev.Details["topic"].(string)
	}
	deepEqual(t, "prefix retained events", got, map[wamp.ID]string{a2: "com.news.a", b1: "com.news.b"})

	// The bound: a third retained topic evicts the least recently retained (a).
	pub.publishAck("com.news.c", wamp.Dict{"retain": true}, "c1")
	if ev := expect[*wamp.Event](sub); ev.Subscription != pid { // live, on the prefix subscription
		t.Errorf("live EVENT %+v", ev)
	}
	late := dialPeer(t, srv, "unix", "msgpack")
	late.join()
	req = late.next()
	late.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": true}, Topic: "com.news.a"})
	expect[*wamp.Subscribed](late)
	late.expectNothing(50 * time.Millisecond)

	// Errors: option types.
	req = pub.next()
	pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true, "retain": "yes"}, Topic: "com.news.a"})
	pub.expectError(wamp.TypePublish, req, wamp.ErrInvalidArgument)
	req = sub.next()
	sub.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": 1}, Topic: "com.news.a"})
	sub.expectError(wamp.TypeSubscribe, req, wamp.ErrInvalidArgument)
}

// Retained events obey the same black/whitelists as live ones.
func TestEventRetentionEligibility(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	pub := dialPeer(t, srv, "tcp", "json")
	pub.join()
	a := dialPeer(t, srv, "tcp", "json")
	a.join()
	b := dialPeer(t, srv, "tcp", "json")
	b.join()
	pub.publishAck("com.x", wamp.Dict{"retain": true, "exclude": wamp.List{uint64(a.id)}}, "x")
	req := a.next()
	a.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": true}, Topic: "com.x"})
	expect[*wamp.Subscribed](a)
	a.expectNothing(50 * time.Millisecond)
	req = b.next()
	b.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": true}, Topic: "com.x"})
	expect[*wamp.Subscribed](b)
	if ev := expect[*wamp.Event](b); ev.Details["retained"] != true {
		t.Errorf("EVENT %+v", ev)
	}
	// A realm with retention disabled ignores retain.
	off := routertest.Start(t, func(o *router.Options) { o.Realms[0].RetainedEvents = -1 })
	p := dialPeer(t, off, "tcp", "json")
	p.join()
	p.publishAck("com.x", wamp.Dict{"retain": true}, "x")
	req = p.next()
	p.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": true}, Topic: "com.x"})
	expect[*wamp.Subscribed](p)
	p.expectNothing(50 * time.Millisecond)
}

// patternAuthzRouter: role reader may subscribe under com.app. except
// com.app.secret (an exact rule without subscribe); role dyn is
// authorized by com.example.authorize; backend may do everything.
func patternAuthzRouter(t *testing.T) (srv *routertest.Server, backend, reader, dyn string) {
	srv = routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "reader", Permissions: []authz.Permission{
				{URI: "com.app.", Match: "prefix", Allow: authz.Actions{Subscribe: true, Call: true}},
				{URI: "com.app.secret", Match: "exact", Allow: authz.Actions{Call: true}},
			}},
			{Name: "dyn", Authorizer: "com.example.authorize", Timeout: 2 * time.Second},
		}}}
	})
	return srv, roleURL(t, srv, "backend"), roleURL(t, srv, "reader"), roleURL(t, srv, "dyn")
}

// TestPatternSubscriptionAuthorization proves the rule of
// docs/authorization.md "Pattern subscriptions": an event reaches a prefix
// or wildcard subscriber only if the subscriber may subscribe to the
// concrete topic.
func TestPatternSubscriptionAuthorization(t *testing.T) {
	t.Parallel()
	srv, backendURL, readerURL, dynURL := patternAuthzRouter(t)
	backend := joinWith(t, backendURL, "msgpack", clientRoles)
	reader := joinWith(t, readerURL, "json", clientRoles)

	// Static role: the exact subscription is refused, the pattern one is
	// allowed but never carries com.app.secret events.
	req := reader.next()
	reader.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "com.app.secret"})
	reader.expectError(wamp.TypeSubscribe, req, wamp.ErrNotAuthorized)
	pre := reader.subscribe("com.app", wamp.Dict{"match": "prefix"})
	wild := reader.subscribe("com.app.", wamp.Dict{"match": "wildcard"})
	backend.publishAck("com.app.secret", nil, "classified")
	news := backend.publishAck("com.app.news", nil, "hello")
	subs := map[wamp.ID]bool{}
	for range 2 {
		ev := expect[*wamp.Event](reader)
		if ev.Publication != news {
			t.Fatalf("reader got %+v, want only the com.app.news event", ev)
		}
		subs[ev.Subscription] = true
	}
	deepEqual(t, "subscriptions of the com.app.news events", subs, map[wamp.ID]bool{pre: true, wild: true})
	reader.expectNothing(50 * time.Millisecond)
	if n := srv.Router().Stats().WithheldEvents; n != 2 {
		t.Errorf("WithheldEvents = %d, want 2 (prefix and wildcard subscription)", n)
	}
	// Retained events follow the same rule.
	backend.publishAck("com.app.secret", wamp.Dict{"retain": true}, "retained secret")
	backend.publishAck("com.app.open", wamp.Dict{"retain": true}, "retained open")
	expect[*wamp.Event](reader) // live com.app.open, prefix and wildcard
	expect[*wamp.Event](reader)
	r2 := joinWith(t, readerURL, "cbor", clientRoles)
	rid := r2.subscribe("com.app", wamp.Dict{"match": "prefix", "get_retained": true})
	ev := expect[*wamp.Event](r2)
	if ev.Subscription != rid || ev.Details["topic"] != "com.app.open" {
		t.Errorf("retained for reader %+v, want com.app.open only", ev)
	}
	r2.expectNothing(50 * time.Millisecond)

	// Dynamic role: the authorizer allowed the prefix subscription, so
	// events flow; once it has a cached "no" for a concrete topic, that
	// topic's events are withheld (no authorizer call on the publish path).
	authorizer := joinWith(t, backendURL, "msgpack", clientRoles)
	authorizer.register("com.example.authorize", wamp.Dict{})
	dyn := joinWith(t, dynURL, "json", clientRoles)
	req = dyn.next()
	dyn.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"match": "prefix"}, Topic: "com.app"})
	_, uri, action := authorizeNext(t, authorizer, true)
	if uri != "com.app" || action != "subscribe" {
		t.Fatalf("authorizer asked %s %s", action, uri)
	}
	dpre := expect[*wamp.Subscribed](dyn).Subscription
	backend.publishAck("com.app.secret", nil, "before the deny")
	if ev := expect[*wamp.Event](dyn); ev.Subscription != dpre {
		t.Fatalf("dyn got %+v", ev)
	}
	reader.expectNothing(50 * time.Millisecond)

	// dyn asks for com.app.secret itself; the authorizer says no, cached.
	req = dyn.next()
	dyn.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "com.app.secret"})
	authorizeNext(t, authorizer, wamp.Dict{"allow": false, "cache": true})
	dyn.expectError(wamp.TypeSubscribe, req, wamp.ErrNotAuthorized)
	backend.publishAck("com.app.secret", nil, "after the deny")
	open := backend.publishAck("com.app.news", nil, "still open")
	if ev := expect[*wamp.Event](dyn); ev.Publication != open {
		t.Errorf("dyn got %+v, want only the com.app.news event", ev)
	}
	dyn.expectNothing(50 * time.Millisecond)
	authorizer.expectNothing(10 * time.Millisecond) // no authorizer call on the publish path
	for range 2 {
		if ev := expect[*wamp.Event](reader); ev.Publication != open {
			t.Errorf("reader got %+v", ev)
		}
	}
	reader.expectNothing(20 * time.Millisecond)
}
