package router_test

import (
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// authzRouter: roles backend (everything), guest (call public.*), user
// (dynamic authorizer com.example.authorize). Returns the backdoor URL
// (role backend) and the front URL (static tickets: joe and bob are users,
// gus is a guest; each ticket is "pw").
func authzRouter(t *testing.T) (srv *routertest.Server, backdoor, front string) {
	srv = routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
			{Name: "guest", Permissions: []authz.Permission{{URI: "public.*", Allow: authz.Actions{Call: true, Subscribe: true}}}},
			{Name: "user", Authorizer: "com.example.authorize", Timeout: 300 * time.Millisecond},
		}}}
	})
	backdoor = srv.Serve(t, "unix", anonymousTransport("backend"))
	front = srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}, "bob": {Ticket: "pw", Role: "user"}, "gus": {Ticket: "pw", Role: "guest"}},
	}}))
	return srv, backdoor, front
}

func loginTicket(t *testing.T, url, authid string) *peer {
	p := dialURL(t, url, "json")
	p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": authid})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	p.welcomed()
	return p
}

func TestStaticAuthorization(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("public.echo", wamp.Dict{})
	backend.register("private.secret", wamp.Dict{})
	gus := loginTicket(t, front, "gus")

	req := gus.next()
	gus.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "public.echo"})
	inv := expect[*wamp.Invocation](backend)
	if _, disclosed := inv.Details["caller"]; disclosed {
		t.Errorf("caller disclosed without a disclose permission: %v", inv.Details)
	}
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	expect[*wamp.Result](gus)

	// Denied before the lookup: an existing and a missing procedure look alike.
	for _, proc := range []wamp.URI{"private.secret", "private.nothing_here"} {
		req = gus.next()
		gus.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc})
		gus.expectError(wamp.TypeCall, req, wamp.ErrNotAuthorized)
	}
	req = gus.next()
	gus.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "public.mine"})
	gus.expectError(wamp.TypeRegister, req, wamp.ErrNotAuthorized)
	req = gus.next()
	gus.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "public.news"})
	gus.expectError(wamp.TypePublish, req, wamp.ErrNotAuthorized)
	gus.subscribe("public.news", wamp.Dict{})
	req = gus.next()
	gus.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "private.news"})
	gus.expectError(wamp.TypeSubscribe, req, wamp.ErrNotAuthorized)
	// Only trusted sessions may register router URIs, whatever the permissions say.
	req = backend.next()
	backend.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "tollgate.authorizer.flush2"})
	backend.expectError(wamp.TypeRegister, req, wamp.ErrInvalidURI)
}

// authorizeNext expects the next INVOCATION of com.example.authorize and
// answers it with answer (a Yield arg) or, for a wamp.URI, an ERROR.
func authorizeNext(t *testing.T, backend *peer, answer any) (session wamp.Dict, uri, action string) {
	t.Helper()
	inv := expect[*wamp.Invocation](backend)
	args := argsOf(t, &inv.Payload)
	if len(args) != 4 {
		t.Fatalf("authorizer got %d args, want 4: %v", len(args), args)
	}
	session, _ = args[0].(wamp.Dict)
	uri, _ = args[1].(string)
	action, _ = args[2].(string)
	if _, ok := args[3].(wamp.Dict); !ok {
		t.Errorf("options argument %T, want dict", args[3])
	}
	switch v := answer.(type) {
	case nil:
	case wamp.URI:
		backend.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: v})
	default:
		backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{v}}})
	}
	return session, uri, action
}

func TestDynamicAuthorizer(t *testing.T) {
	t.Parallel()
	srv, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	joe := loginTicket(t, front, "joe")

	// Not registered yet: authorization_failed, and the log says why.
	req := joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "public.echo"})
	e := joe.expectError(wamp.TypeCall, req, wamp.ErrAuthorizationFailed)
	if msg := argsOf(t, &e.Payload); len(msg) == 0 || !containsAll(msg[0].(string), "not registered") {
		t.Errorf("message %v", msg)
	}

	backend.register("com.example.authorize", wamp.Dict{})
	backend.register("public.echo", wamp.Dict{})

	callEcho := func(p *peer) wamp.ID {
		req := p.next()
		p.send(&wamp.Call{Request: req, Options: wamp.Dict{"timeout": 10000}, Procedure: "public.echo"})
		return req
	}
	serveEcho := func(p *peer, req wamp.ID) *wamp.Invocation {
		inv := expect[*wamp.Invocation](backend)
		backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		if r := expect[*wamp.Result](p); r.Request != req {
			t.Fatalf("RESULT for %d, want %d", r.Request, req)
		}
		return inv
	}

	// First call asks; the answer is cached for this session.
	req = callEcho(joe)
	session, uri, action := authorizeNext(t, backend, wamp.Dict{"allow": true, "cache": true, "disclose": true})
	if uri != "public.echo" || action != "call" {
		t.Errorf("authorizer asked about %s %s", action, uri)
	}
	for k, want := range map[string]any{"authid": "joe", "authrole": "user", "authmethod": "ticket", "authprovider": "static", "realm": "realm1"} {
		if session[k] != want {
			t.Errorf("session[%s] = %v, want %v", k, session[k], want)
		}
	}
	if id, _ := wamp.OptID(session, "session"); id != joe.id {
		t.Errorf("session id %v, want %d", session["session"], joe.id)
	}
	if _, ok := wamp.OptDict(session, "transport"); !ok {
		t.Errorf("session.transport missing")
	}
	inv := serveEcho(joe, req)
	if id, _ := wamp.OptID(inv.Details, "caller"); id != joe.id {
		t.Errorf("disclose: true did not disclose the caller: %v", inv.Details)
	}
	for range 5 {
		serveEcho(joe, callEcho(joe)) // no authorizer invocation in between
	}

	// Another session of the same user asks again (per-session cache).
	bob := loginTicket(t, front, "bob")
	req = callEcho(bob)
	authorizeNext(t, backend, true)
	serveEcho(bob, req)
	req = callEcho(bob) // bool answers are not cached
	authorizeNext(t, backend, false)
	bob.expectError(wamp.TypeCall, req, wamp.ErrNotAuthorized)

	// A flush by authid makes joe's next call ask again.
	freq := backend.next()
	backend.send(&wamp.Call{Request: freq, Options: wamp.Dict{}, Procedure: "tollgate.authorizer.flush", Payload: wamp.Payload{Kwargs: wamp.Dict{"authid": "joe"}}})
	if r := expect[*wamp.Result](backend); argsOf(t, &r.Payload)[0] != int64(1) {
		t.Errorf("flush dropped %v entries, want 1", argsOf(t, &r.Payload))
	}
	req = callEcho(joe)
	authorizeNext(t, backend, wamp.Dict{"allow": true})
	inv = serveEcho(joe, req)
	if _, disclosed := inv.Details["caller"]; disclosed {
		t.Errorf("missing disclose must mean false: %v", inv.Details)
	}

	// Failures fail closed with authorization_failed.
	for _, answer := range []any{wamp.URI("com.example.oops"), int64(3), wamp.Dict{"allow": "yes"}, nil} {
		req = callEcho(joe)
		authorizeNext(t, backend, answer)
		joe.expectError(wamp.TypeCall, req, wamp.ErrAuthorizationFailed)
		if answer == nil {
			expect[*wamp.Interrupt](backend) // the timed-out authorizer call is canceled
		}
	}
	if srv.Router().Stats().AuthzFailures < 5 {
		t.Errorf("AuthzFailures = %d", srv.Router().Stats().AuthzFailures)
	}

	// A denied unacknowledged publish is dropped and counted.
	before := srv.Router().Stats().DroppedPublications
	joe.send(&wamp.Publish{Request: joe.next(), Options: wamp.Dict{}, Topic: "public.news"})
	authorizeNext(t, backend, false)
	// Counted once the router reads the authorizer's answer, after the
	// test sent it: wait for the count, then check no ERROR came back.
	waitStats(t, srv, "denied publish not counted", func(st router.Stats) bool { return st.DroppedPublications == before+1 })
	joe.expectNothing(20 * time.Millisecond)
}

// A session's actions that wait for the authorizer keep their order: the
// next question is asked only after the previous one is answered.
func TestAuthorizerKeepsOrder(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	sub := loginTicket(t, front, "gus")
	sub.subscribe("public.feed", wamp.Dict{})
	joe := loginTicket(t, front, "joe")
	for i := range 3 {
		joe.send(&wamp.Publish{Request: joe.next(), Options: wamp.Dict{}, Topic: "public.feed", Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
	}
	for range 3 {
		inv := expect[*wamp.Invocation](backend)
		backend.expectNothing(30 * time.Millisecond) // one question at a time
		backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{true}}})
	}
	for i := range 3 {
		ev := expect[*wamp.Event](sub)
		deepEqual(t, "event order", argsOf(t, &ev.Payload), wamp.List{int64(i)})
	}
}

// Leaving clears the session's cached decisions.
func TestAuthorizerCacheClearedOnLeave(t *testing.T) {
	t.Parallel()
	srv, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	joe := loginTicket(t, front, "joe")
	req := joe.next()
	joe.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "public.a"})
	authorizeNext(t, backend, wamp.Dict{"allow": true, "cache": true})
	expect[*wamp.Subscribed](joe)
	stats, _ := srv.Router().AuthzCacheStats("realm1")
	if stats.Entries != 1 {
		t.Fatalf("cache entries %d, want 1", stats.Entries)
	}
	joe.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](joe)
	stats, _ = srv.Router().AuthzCacheStats("realm1")
	if stats.Entries != 0 {
		t.Errorf("cache entries after leave %d, want 0", stats.Entries)
	}
	if _, ok := srv.Router().AuthzCacheStats("nope"); ok {
		t.Error("stats for an unknown realm")
	}
}

// A prefix registration serves only the procedures its role may register:
// "everything under com.app. except com.app.secret" holds for calls.
func TestPatternRegistrationServesOnlyAllowedProcedures(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{
				{URI: "com.app.", Match: "prefix", Allow: authz.Actions{Register: true, Call: true}},
				{URI: "com.app.secret", Match: "exact", Allow: authz.Actions{Call: true}},
			}},
		}}}
	})
	backdoor := srv.Serve(t, "tcp", anonymousTransport("backend"))
	callee := joinBackend(t, backdoor, "realm1")
	caller := joinBackend(t, backdoor, "realm1")
	callee.register("com.app.", wamp.Dict{"match": "prefix"})

	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.app.public"})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	expect[*wamp.Result](caller)

	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.app.secret"})
	caller.expectError(wamp.TypeCall, req, wamp.ErrNoSuchProcedure)
	callee.expectNothing(50 * time.Millisecond)
}
