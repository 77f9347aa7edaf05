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

// Testaments are published when the session ends, however it ends:
// detached first, then destroyed, each in the order added, then on_leave.
func TestTestamentsOnEveryEnd(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"goodbye", "transport lost", "killed", "protocol violation"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			srv := routertest.Start(t)
			obs := dialPeer(t, srv, "tcp", "json")
			obs.join()
			will := obs.subscribe("com.example.will", wamp.Dict{})
			onLeave := obs.subscribe("wamp.session.on_leave", wamp.Dict{})

			p := dialPeer(t, srv, "ws", "msgpack")
			p.join()
			deepEqual(t, "add_testament result", p.callOK("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"destroyed 1"}, wamp.Dict{"k": "v"}}, nil), wamp.List(nil))
			p.callOK("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"detached"}}, wamp.Dict{"scope": "detached"})
			p.callOK("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"destroyed 2"}}, wamp.Dict{"scope": "destroyed", "publish_options": wamp.Dict{"acknowledge": true, "exclude_me": true}})
			obs.expectNothing(30 * time.Millisecond)

			switch end {
			case "goodbye":
				p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
				expect[*wamp.Goodbye](p)
			case "transport lost":
				p.tc.Close()
			case "killed":
				obs.callOK("wamp.session.kill", wamp.List{p.id}, nil)
			case "protocol violation":
				p.send(&wamp.Welcome{Session: 1, Details: wamp.Dict{}})
			}
			for _, want := range []string{"detached", "destroyed 1", "destroyed 2"} {
				ev := expect[*wamp.Event](obs)
				if ev.Subscription != will {
					t.Fatalf("got event on %d before the testament %q", ev.Subscription, want)
				}
				if a := argsOf(t, &ev.Payload); len(a) != 1 || a[0] != want {
					t.Errorf("testament args %v, want [%s]", a, want)
				}
				if want == "destroyed 1" {
					deepEqual(t, "kwargs", kwargsOf(t, &ev.Payload), wamp.Dict{"k": "v"})
				}
				if wamp.Has(ev.Details, "publisher") {
					t.Errorf("publisher disclosed without disclose_me: %v", ev.Details)
				}
			}
			if l := obs.event(onLeave); asID(t, l[0]) != p.id {
				t.Errorf("on_leave %v", l)
			}
		})
	}
}

func TestTestamentOptionsAndFlush(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	a := dialPeer(t, srv, "tcp", "json")
	a.join()
	b := dialPeer(t, srv, "tcp", "cbor")
	b.join()
	subA := a.subscribe("com.example.will", wamp.Dict{})
	subB := b.subscribe("com.example.will", wamp.Dict{})

	p := dialPeer(t, srv, "unix", "json")
	p.join()
	for _, c := range []struct {
		args   wamp.List
		kwargs wamp.Dict
		uri    wamp.URI
	}{
		{nil, nil, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will"}, wamp.Dict{"scope": "forever"}, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will"}, wamp.Dict{"scope": 1}, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will"}, wamp.Dict{"what": 1}, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will", "not a list"}, nil, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will", nil, wamp.List{}}, nil, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will"}, wamp.Dict{"publish_options": "x"}, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will"}, wamp.Dict{"publish_options": wamp.Dict{"exclude": "x"}}, wamp.ErrInvalidArgument},
		{wamp.List{"com.example.will"}, wamp.Dict{"publish_options": wamp.Dict{"disclose_me": "yes"}}, wamp.ErrInvalidArgument},
		{wamp.List{"com.example..will"}, nil, wamp.ErrInvalidURI},
		{wamp.List{7}, nil, wamp.ErrInvalidArgument},
		{wamp.List{"wamp.session.on_leave"}, nil, wamp.ErrInvalidURI},
		{wamp.List{"tollgate.x"}, nil, wamp.ErrInvalidURI},
	} {
		if msg := p.callErr("wamp.session.add_testament", c.args, c.kwargs, c.uri); msg == "" {
			t.Errorf("add_testament%v%v: no message", c.args, c.kwargs)
		}
	}
	p.callErr("wamp.session.flush_testaments", nil, wamp.Dict{"scope": "x"}, wamp.ErrInvalidArgument)
	p.callErr("wamp.session.flush_testaments", wamp.List{1}, nil, wamp.ErrInvalidArgument)

	// Flushing removes one scope only and says how many it removed.
	p.callOK("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"flushed"}}, nil)
	p.callOK("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"flushed"}}, nil)
	p.callOK("wamp.session.add_testament", wamp.List{"com.example.will", wamp.List{"kept"}}, wamp.Dict{"scope": "detached",
		"publish_options": wamp.Dict{"eligible": wamp.List{b.id}, "disclose_me": true}})
	if n := p.callOK("wamp.session.flush_testaments", nil, nil); asID(t, n[0]) != 2 {
		t.Errorf("flush = %v, want 2", n)
	}
	if n := p.callOK("wamp.session.flush_testaments", nil, wamp.Dict{"scope": "destroyed"}); asID(t, n[0]) != 0 {
		t.Errorf("second flush = %v, want 0", n)
	}
	// Up to the per-scope limit.
	for i := 0; ; i++ {
		m := p.callRaw("wamp.session.add_testament", wamp.List{"com.example.other"}, nil)
		if e, ok := m.(*wamp.Error); ok {
			if e.Error != wamp.ErrInvalidArgument || i != 64 {
				t.Fatalf("testament %d refused with %s", i, e.Error)
			}
			break
		}
		if i > 64 {
			t.Fatal("no limit on testaments")
		}
	}

	p.tc.Close()
	ev := expect[*wamp.Event](b)
	if ev.Subscription != subB || argsOf(t, &ev.Payload)[0] != "kept" {
		t.Errorf("b got %v", argsOf(t, &ev.Payload))
	}
	if asID(t, ev.Details["publisher"]) != p.id {
		t.Errorf("disclose_me ignored: %v", ev.Details)
	}
	b.expectNothing(50 * time.Millisecond)
	a.expectNothing(10 * time.Millisecond) // not eligible
	_ = subA
}

// Testaments are authorized as the session that left them, with its role.
func TestTestamentStaticAuthorization(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Permissions: []authz.Permission{
				{URI: "wamp.session.", Match: "prefix", Allow: authz.Actions{Call: true}},
				{URI: "public.", Match: "prefix", Allow: authz.Actions{Publish: true}, Disclose: authz.Disclose{Publisher: true}},
			}},
		}}}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}},
	}}))
	obs := joinBackend(t, backdoor, "realm1")
	pub := obs.subscribe("public.will", wamp.Dict{})
	priv := obs.subscribe("private.will", wamp.Dict{})
	onLeave := obs.subscribe("wamp.session.on_leave", wamp.Dict{})

	joe := loginTicket(t, front, "joe")
	joe.callOK("wamp.session.add_testament", wamp.List{"private.will", wamp.List{"denied"}}, nil) // accepted now, checked at the end
	joe.callOK("wamp.session.add_testament", wamp.List{"public.will", wamp.List{"allowed"}}, nil)
	joe.tc.Close()
	a := obs.event(pub)
	if a[0] != "allowed" {
		t.Errorf("testament %v", a)
	}
	if l := obs.event(onLeave); asID(t, l[0]) != joe.id || l[1] != "joe" || l[2] != "user" {
		t.Errorf("on_leave %v", l)
	}
	obs.expectNothing(30 * time.Millisecond)
	_ = priv
}

// With a dynamic authorizer the testament is authorized by the authorizer,
// even though the session is gone; if the authorizer component is gone too
// (Crossbar issue #1666) or does not answer, the testament is dropped and
// logged, on_leave still follows, and nothing hangs.
func TestTestamentDynamicAuthorization(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"allowed", "denied", "authorizer gone", "authorizer silent"} {
		t.Run(c, func(t *testing.T) {
			t.Parallel()
			srv, backdoor, front := authzRouter(t) // role user: authorizer com.example.authorize, timeout 300ms
			authorizer := joinBackend(t, backdoor, "realm1")
			authorizer.register("com.example.authorize", wamp.Dict{})
			obs := joinBackend(t, backdoor, "realm1")
			will := obs.subscribe("public.will", wamp.Dict{})
			onLeave := obs.subscribe("wamp.session.on_leave", wamp.Dict{})

			joe := dialURL(t, front, "json")
			joe.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
			expect[*wamp.Challenge](joe)
			joe.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
			joe.welcomed()
			req := joe.next()
			joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.add_testament",
				Payload: wamp.Payload{Args: wamp.List{"public.will", wamp.List{"bye"}}, Kwargs: wamp.Dict{"publish_options": wamp.Dict{"acknowledge": true}}}})
			authorizeNext(t, authorizer, true)
			expect[*wamp.Result](joe)

			switch c {
			case "authorizer gone":
				authorizer.tc.Close()
				// The router has seen it go once on_leave is out: a
				// session's registrations go before its on_leave (lifecycle.go).
				if l := obs.event(onLeave); asID(t, l[0]) != authorizer.id {
					t.Fatalf("on_leave %v, want the authorizer's", l)
				}
				if r := obs.callOK("wamp.registration.match", wamp.List{"com.example.authorize"}, nil); r[0] != nil {
					t.Fatalf("the authorizer's registration outlived its on_leave: %v", r)
				}
			}
			joe.tc.Close()
			switch c {
			case "allowed", "denied":
				sess, uri, action := authorizeNext(t, authorizer, map[string]bool{"allowed": true, "denied": false}[c])
				if uri != "public.will" || action != "publish" || asID(t, sess["session"]) != joe.id || sess["authid"] != "joe" {
					t.Errorf("authorizer asked %s %s for %v", action, uri, sess)
				}
				// The stored options reach the authorizer without acknowledge.
			case "authorizer silent":
				expect[*wamp.Invocation](authorizer) // never answered: times out
			}
			if c == "allowed" {
				if a := obs.event(will); a[0] != "bye" {
					t.Errorf("testament %v", a)
				}
			}
			if l := obs.event(onLeave); asID(t, l[0]) != joe.id {
				t.Errorf("on_leave %v", l)
			}
			obs.expectNothing(30 * time.Millisecond)
			failures := map[string]uint64{"allowed": 0, "denied": 0, "authorizer gone": 1, "authorizer silent": 1}[c]
			if got := srv.Router().Stats().AuthzFailures; got != failures {
				t.Errorf("AuthzFailures = %d, want %d", got, failures)
			}
		})
	}
}

// A testament waiting on a slow authorizer does not hold up the router:
// other sessions keep working, and Shutdown waits for it (goleak checks).
func TestTestamentDoesNotBlock(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	authorizer := joinBackend(t, backdoor, "realm1")
	authorizer.register("com.example.authorize", wamp.Dict{})
	other := joinBackend(t, backdoor, "realm1")
	other.register("com.example.echo", wamp.Dict{})

	joe := dialURL(t, front, "json")
	joe.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	expect[*wamp.Challenge](joe)
	joe.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	joe.welcomed()
	req := joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.add_testament", Payload: wamp.Payload{Args: wamp.List{"public.will"}}})
	authorizeNext(t, authorizer, true)
	expect[*wamp.Result](joe)
	joe.tc.Close()
	pending := expect[*wamp.Invocation](authorizer) // the testament's question, left unanswered

	// Meanwhile a backend call round trip works.
	caller := joinBackend(t, backdoor, "realm1")
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.echo"})
	inv := expect[*wamp.Invocation](other)
	other.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	expect[*wamp.Result](caller)
	_ = pending
}
