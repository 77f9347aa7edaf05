package router_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// trustedTransport admits anonymous sessions with role trusted.
// joinAs joins realm1 through url and checks the role it got.
func joinAs(t *testing.T, url, role string) *peer {
	t.Helper()
	p := dialURL(t, url, "json")
	w := p.join()
	if got, _ := wamp.OptString(w.Details, "authrole"); got != role {
		t.Fatalf("joined as %q, want %q", got, role)
	}
	return p
}

// callRaw sends CALL and returns the RESULT or ERROR answering it.
func (p *peer) callRaw(proc wamp.URI, args wamp.List, kwargs wamp.Dict) wamp.Message {
	p.t.Helper()
	req := p.next()
	p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc, Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
	for {
		switch m := p.recv().(type) {
		case *wamp.Result:
			if m.Request == req {
				return m
			}
		case *wamp.Error:
			if m.Request == req {
				return m
			}
		case *wamp.Event:
			// A meta event may overtake the RESULT; keep it for event().
			v, loaded := stashed.LoadOrStore(p, &eventStash{})
			if !loaded {
				p.t.Cleanup(func() { stashed.Delete(p) })
			}
			st := v.(*eventStash)
			st.mu.Lock()
			st.events = append(st.events, m)
			st.mu.Unlock()
		default:
			p.t.Fatalf("calling %s: got %v %+v", proc, m.MessageType(), m)
		}
	}
}

// callOK calls proc and returns the result's positional arguments.
func (p *peer) callOK(proc wamp.URI, args wamp.List, kwargs wamp.Dict) wamp.List {
	p.t.Helper()
	switch m := p.callRaw(proc, args, kwargs).(type) {
	case *wamp.Result:
		return argsOf(p.t, &m.Payload)
	case *wamp.Error:
		p.t.Fatalf("%s%v: ERROR %s %v", proc, args, m.Error, argsOf(p.t, &m.Payload))
	}
	return nil
}

// callErr calls proc and expects ERROR uri.
func (p *peer) callErr(proc wamp.URI, args wamp.List, kwargs wamp.Dict, uri wamp.URI) string {
	p.t.Helper()
	m := p.callRaw(proc, args, kwargs)
	e, ok := m.(*wamp.Error)
	if !ok || e.Error != uri {
		p.t.Fatalf("%s%v%v = %v %+v, want ERROR %s", proc, args, kwargs, m.MessageType(), m, uri)
	}
	a := argsOf(p.t, &e.Payload)
	if len(a) == 0 {
		return ""
	}
	msg, _ := a[0].(string)
	return msg
}

// stashed holds, per peer, the events callRaw read while waiting for a
// RESULT.
var stashed sync.Map // *peer → *eventStash

type eventStash struct {
	mu     sync.Mutex
	events []*wamp.Event
}

// event expects an EVENT on subscription sub and returns its arguments.
func (p *peer) event(sub wamp.ID) wamp.List {
	p.t.Helper()
	var ev *wamp.Event
	if v, ok := stashed.Load(p); ok {
		st := v.(*eventStash)
		st.mu.Lock()
		if len(st.events) > 0 {
			ev = st.events[0]
			st.events = st.events[1:]
		}
		st.mu.Unlock()
	}
	if ev == nil {
		ev = expect[*wamp.Event](p)
	}
	if ev.Subscription != sub {
		p.t.Fatalf("EVENT for subscription %d (%v), want %d", ev.Subscription, argsOf(p.t, &ev.Payload), sub)
	}
	return argsOf(p.t, &ev.Payload)
}

func asID(t testing.TB, v any) wamp.ID {
	t.Helper()
	n, ok := wamp.AsInt(v)
	if !ok {
		t.Fatalf("%v (%T) is not an id", v, v)
	}
	return wamp.ID(n)
}

func asIDs(t testing.TB, v any) []wamp.ID {
	t.Helper()
	l, ok := v.(wamp.List)
	if !ok {
		t.Fatalf("%v (%T) is not a list", v, v)
	}
	out := []wamp.ID{}
	for _, x := range l {
		out = append(out, asID(t, x))
	}
	return out
}

func sortedIDs(ids ...wamp.ID) []wamp.ID {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestSessionMetaAPI(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	trustedURL := srv.Serve(t, "unix", anonymousTransport("trusted"))
	obs := dialPeer(t, srv, "tcp", "json")
	obs.join()
	onJoin := obs.subscribe("wamp.session.on_join", wamp.Dict{})
	onLeave := obs.subscribe("wamp.session.on_leave", wamp.Dict{})
	tobs := joinAs(t, trustedURL, "trusted")
	tJoin := tobs.subscribe("wamp.session.on_join", wamp.Dict{})

	// A trusted session joins: only trusted subscribers hear of it.
	tr := joinAs(t, trustedURL, "trusted")
	if d, _ := tobs.event(tJoin)[0].(wamp.Dict); asID(t, d["session"]) != tr.id {
		t.Errorf("trusted on_join %v", d)
	}
	obs.expectNothing(50 * time.Millisecond)

	a := dialPeer(t, srv, "ws", "msgpack")
	a.join()
	args := obs.event(onJoin)
	d, _ := args[0].(wamp.Dict)
	if asID(t, d["session"]) != a.id || d["authrole"] != "anonymous" || d["authmethod"] != "anonymous" || d["realm"] != "realm1" {
		t.Errorf("on_join details %v", d)
	}
	if tp, _ := d["transport"].(wamp.Dict); tp["channel_serializer"] != "msgpack" {
		t.Errorf("on_join transport %v", d["transport"])
	}
	tobs.event(tJoin)
	b := dialPeer(t, srv, "unix", "cbor")
	b.join()
	obs.event(onJoin)
	tobs.event(tJoin)

	// count, list, get: trusted sessions are invisible to others.
	visible := sortedIDs(obs.id, a.id, b.id)
	all := sortedIDs(obs.id, a.id, b.id, tobs.id, tr.id)
	if n := a.callOK("wamp.session.count", nil, nil); asID(t, n[0]) != 3 {
		t.Errorf("count = %v, want 3", n)
	}
	if n := tr.callOK("wamp.session.count", nil, nil); asID(t, n[0]) != 5 {
		t.Errorf("trusted count = %v, want 5", n)
	}
	if n := a.callOK("wamp.session.count", wamp.List{wamp.List{"nobody"}}, nil); asID(t, n[0]) != 0 {
		t.Errorf("filtered count = %v", n)
	}
	deepEqual(t, "list", asIDs(t, a.callOK("wamp.session.list", nil, nil)[0]), visible)
	deepEqual(t, "trusted list", asIDs(t, tr.callOK("wamp.session.list", nil, nil)[0]), all)
	deepEqual(t, "list trusted only", asIDs(t, tr.callOK("wamp.session.list", wamp.List{wamp.List{"trusted"}}, nil)[0]), sortedIDs(tobs.id, tr.id))
	got, _ := a.callOK("wamp.session.get", wamp.List{b.id}, nil)[0].(wamp.Dict)
	if asID(t, got["session"]) != b.id || got["authid"] == "" {
		t.Errorf("get = %v", got)
	}
	a.callErr("wamp.session.get", wamp.List{tr.id}, nil, wamp.ErrNoSuchSession)
	tr.callOK("wamp.session.get", wamp.List{tobs.id}, nil)
	a.callErr("wamp.session.get", wamp.List{int64(424242)}, nil, wamp.ErrNoSuchSession)

	// Bad arguments are refused with a message.
	for _, c := range []struct {
		proc   wamp.URI
		args   wamp.List
		kwargs wamp.Dict
		uri    wamp.URI
	}{
		{"wamp.session.get", nil, nil, wamp.ErrInvalidArgument},
		{"wamp.session.get", wamp.List{"x"}, nil, wamp.ErrInvalidArgument},
		{"wamp.session.get", wamp.List{b.id}, wamp.Dict{"x": 1}, wamp.ErrInvalidArgument},
		{"wamp.session.count", wamp.List{"anonymous"}, nil, wamp.ErrInvalidArgument},
		{"wamp.session.list", wamp.List{wamp.List{1}}, nil, wamp.ErrInvalidArgument},
		{"wamp.session.kill", wamp.List{b.id}, wamp.Dict{"reason": "not a uri!"}, wamp.ErrInvalidURI},
		{"wamp.session.kill", wamp.List{b.id}, wamp.Dict{"message": 7}, wamp.ErrInvalidArgument},
		{"wamp.session.kill", wamp.List{b.id}, wamp.Dict{"bogus": 7}, wamp.ErrInvalidArgument},
		{"wamp.session.kill", wamp.List{a.id}, nil, wamp.ErrNoSuchSession},    // itself
		{"wamp.session.kill", wamp.List{tr.id}, nil, wamp.ErrNoSuchSession},   // hidden
		{"wamp.session.kill_all", wamp.List{1}, nil, wamp.ErrInvalidArgument}, // no args
		{"wamp.session.kill_by_authid", wamp.List{1}, nil, wamp.ErrInvalidArgument},
	} {
		if msg := a.callErr(c.proc, c.args, c.kwargs, c.uri); msg == "" {
			t.Errorf("%s%v: error without a message", c.proc, c.args)
		}
	}

	// kill: GOODBYE with reason and message; on_leave is [id, authid, authrole].
	bAuthID, _ := got["authid"].(string)
	a.callOK("wamp.session.kill", wamp.List{b.id}, wamp.Dict{"reason": "com.example.go_away", "message": "bye"})
	g := expect[*wamp.Goodbye](b)
	if g.Reason != "com.example.go_away" || g.Details["message"] != "bye" {
		t.Errorf("GOODBYE %v %v", g.Reason, g.Details)
	}
	b.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
	b.expectClosed()
	if l := obs.event(onLeave); len(l) != 3 || asID(t, l[0]) != b.id || l[1] != bAuthID || l[2] != "anonymous" {
		t.Errorf("on_leave %v", l)
	}

	// Default reason, no message; a transport that just goes away.
	c := dialPeer(t, srv, "tcp", "json")
	c.join()
	obs.event(onJoin)
	tobs.event(tJoin)
	tr.callOK("wamp.session.kill", wamp.List{c.id}, nil)
	g = expect[*wamp.Goodbye](c)
	if g.Reason != wamp.CloseKilled || wamp.Has(g.Details, "message") {
		t.Errorf("GOODBYE %v %v", g.Reason, g.Details)
	}
	c.tc.Close()
	if l := obs.event(onLeave); asID(t, l[0]) != c.id {
		t.Errorf("on_leave %v", l)
	}
	// A trusted session leaving: only trusted subscribers hear of it.
	tOnLeave := tobs.subscribe("wamp.session.on_leave", wamp.Dict{})
	tr.tc.Close()
	if l := tobs.event(tOnLeave); asID(t, l[0]) != tr.id || l[2] != "trusted" {
		t.Errorf("trusted on_leave %v", l)
	}
	obs.expectNothing(50 * time.Millisecond)
}

func TestSessionKillBulk(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "user", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "admin", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
		}}}
	})
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}, "bob": {Ticket: "pw", Role: "user"}, "ann": {Ticket: "pw", Role: "admin"}},
	}}))
	trustedURL := srv.Serve(t, "unix", anonymousTransport("trusted"))

	bye := func(p *peer, reason wamp.URI) {
		t.Helper()
		g := expect[*wamp.Goodbye](p)
		if g.Reason != reason {
			t.Errorf("GOODBYE reason %s, want %s", g.Reason, reason)
		}
		p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
		p.expectClosed()
	}

	joe1, joe2, joe3 := loginTicket(t, front, "joe"), loginTicket(t, front, "joe"), loginTicket(t, front, "joe")
	bob := loginTicket(t, front, "bob")
	tr := joinAs(t, trustedURL, "trusted")
	// kill_by_authid spares the caller and returns the killed ids.
	killed := asIDs(t, joe1.callOK("wamp.session.kill_by_authid", wamp.List{"joe"}, wamp.Dict{"message": "dup"})[0])
	deepEqual(t, "kill_by_authid", killed, sortedIDs(joe2.id, joe3.id))
	bye(joe2, wamp.CloseKilled)
	bye(joe3, wamp.CloseKilled)
	deepEqual(t, "kill_by_authid nobody", asIDs(t, joe1.callOK("wamp.session.kill_by_authid", wamp.List{"nobody"}, nil)[0]), []wamp.ID{})

	// kill_by_authrole returns a count and spares the caller.
	if n := bob.callOK("wamp.session.kill_by_authrole", wamp.List{"user"}, wamp.Dict{"reason": "wamp.close.logout"}); asID(t, n[0]) != 1 {
		t.Errorf("kill_by_authrole = %v, want 1", n)
	}
	bye(joe1, wamp.CloseLogout)
	// kill_by_authrole trusted from a non-trusted caller: nobody visible.
	if n := bob.callOK("wamp.session.kill_by_authrole", wamp.List{"trusted"}, nil); asID(t, n[0]) != 0 {
		t.Errorf("kill_by_authrole trusted = %v, want 0", n)
	}

	// kill_all: everybody but the caller and the hidden trusted session.
	ann := loginTicket(t, front, "ann")
	joe4 := loginTicket(t, front, "joe")
	if n := ann.callOK("wamp.session.kill_all", nil, nil); asID(t, n[0]) != 2 {
		t.Errorf("kill_all = %v, want 2", n)
	}
	bye(bob, wamp.CloseKilled)
	bye(joe4, wamp.CloseKilled)
	if n := ann.callOK("wamp.session.count", nil, nil); asID(t, n[0]) != 1 {
		t.Errorf("count after kill_all = %v, want 1", n)
	}
	tr.callOK("wamp.session.get", wamp.List{ann.id}, nil) // trusted still there and sees ann
	// A trusted caller sees and may kill everybody else.
	if n := tr.callOK("wamp.session.kill_all", nil, wamp.Dict{"reason": "wamp.close.system_shutdown"}); asID(t, n[0]) != 1 {
		t.Errorf("trusted kill_all = %v, want 1", n)
	}
	bye(ann, wamp.CloseSystemShutdown)
}

// A killed peer that never answers GOODBYE is closed after GoodbyeTimeout,
// and a kill issued while the target is busy never blocks the killer.
func TestSessionKillUnresponsive(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) { o.GoodbyeTimeout = 200 * time.Millisecond })
	obs := dialPeer(t, srv, "tcp", "json")
	obs.join()
	onLeave := obs.subscribe("wamp.session.on_leave", wamp.Dict{})
	victim := dialPeer(t, srv, "ws", "json")
	victim.join()
	for range 3 { // repeated kills are harmless
		obs.callOK("wamp.session.kill", wamp.List{victim.id}, nil)
	}
	expect[*wamp.Goodbye](victim)
	victim.expectClosed()
	if l := obs.event(onLeave); asID(t, l[0]) != victim.id {
		t.Errorf("on_leave %v", l)
	}
	obs.callErr("wamp.session.kill", wamp.List{victim.id}, nil, wamp.ErrNoSuchSession)
}

func TestRegistrationMetaAPI(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	trustedURL := srv.Serve(t, "unix", anonymousTransport("trusted"))
	obs := dialPeer(t, srv, "tcp", "json")
	obs.join()
	topics := map[string]wamp.ID{}
	for _, e := range []string{"on_create", "on_register", "on_unregister", "on_delete"} {
		topics[e] = obs.subscribe(wamp.URI("wamp.registration."+e), wamp.Dict{})
	}
	ev := func(name string) wamp.List {
		t.Helper()
		return obs.event(topics[name])
	}
	c1 := dialPeer(t, srv, "ws", "json")
	c1.join()
	c2 := dialPeer(t, srv, "tcp", "msgpack")
	c2.join()

	before := time.Now().UTC().Add(-time.Second)
	reg := c1.register("com.example.add", wamp.Dict{"invoke": "roundrobin"})
	created := ev("on_create")
	if asID(t, created[0]) != c1.id {
		t.Errorf("on_create session %v", created[0])
	}
	details, _ := created[1].(wamp.Dict)
	if asID(t, details["id"]) != reg || details["uri"] != "com.example.add" || details["match"] != "exact" || details["invoke"] != "roundrobin" {
		t.Errorf("on_create details %v", details)
	}
	if ts, err := time.Parse(time.RFC3339Nano, details["created"].(string)); err != nil || ts.Before(before) {
		t.Errorf("created %v: %v", details["created"], err)
	}
	r := ev("on_register")
	if asID(t, r[0]) != c1.id || asID(t, r[1]) != reg {
		t.Errorf("on_register %v", r)
	}
	// A second callee: on_register only.
	if id := c2.register("com.example.add", wamp.Dict{"invoke": "roundrobin"}); id != reg {
		t.Fatalf("shared registration id %d, want %d", id, reg)
	}
	if r := ev("on_register"); asID(t, r[0]) != c2.id {
		t.Errorf("on_register %v", r)
	}
	pre := c2.register("com.example", wamp.Dict{"match": "prefix"})
	ev("on_create")
	ev("on_register")
	// Trusted sessions' own registrations are announced to trusted observers only.
	tr := joinAs(t, trustedURL, "trusted")
	treg := tr.register("com.example.secret", wamp.Dict{})
	obs.expectNothing(50 * time.Millisecond)

	// Procedures.
	list, _ := obs.callOK("wamp.registration.list", nil, nil)[0].(wamp.Dict)
	deepEqual(t, "list exact", asIDs(t, list["exact"]), sortedIDs(reg, treg))
	deepEqual(t, "list prefix", asIDs(t, list["prefix"]), []wamp.ID{pre})
	deepEqual(t, "list wildcard", asIDs(t, list["wildcard"]), []wamp.ID{})
	// Crossbar's session_id filter, positional or keyword.
	byC1, _ := obs.callOK("wamp.registration.list", wamp.List{c1.id}, nil)[0].(wamp.Dict)
	deepEqual(t, "list session c1 exact", asIDs(t, byC1["exact"]), []wamp.ID{reg})
	deepEqual(t, "list session c1 prefix", asIDs(t, byC1["prefix"]), []wamp.ID{})
	byC2, _ := obs.callOK("wamp.registration.list", nil, wamp.Dict{"session_id": c2.id})[0].(wamp.Dict)
	deepEqual(t, "list session c2 prefix", asIDs(t, byC2["prefix"]), []wamp.ID{pre})
	byTr, _ := obs.callOK("wamp.registration.list", wamp.List{tr.id}, nil)[0].(wamp.Dict)
	deepEqual(t, "list of a hidden session", asIDs(t, byTr["exact"]), []wamp.ID{})
	ownTr, _ := tr.callOK("wamp.registration.list", wamp.List{tr.id}, nil)[0].(wamp.Dict)
	deepEqual(t, "trusted list of itself", asIDs(t, ownTr["exact"]), []wamp.ID{treg})
	obs.callErr("wamp.registration.list", wamp.List{"c1"}, nil, wamp.ErrInvalidArgument)
	obs.callErr("wamp.registration.list", wamp.List{c1.id}, wamp.Dict{"session_id": c1.id}, wamp.ErrInvalidArgument)
	obs.callErr("wamp.registration.list", nil, wamp.Dict{"session": c1.id}, wamp.ErrInvalidArgument)
	tlist, _ := tr.callOK("wamp.registration.list", nil, nil)[0].(wamp.Dict)
	if n := len(asIDs(t, tlist["exact"])); n < 20 {
		t.Errorf("trusted list shows %d exact registrations; the router's own should be there", n)
	}
	if l := obs.callOK("wamp.registration.lookup", wamp.List{"com.example.add"}, nil); asID(t, l[0]) != reg {
		t.Errorf("lookup = %v", l)
	}
	if l := obs.callOK("wamp.registration.lookup", wamp.List{"com.example", wamp.Dict{"match": "prefix"}}, nil); asID(t, l[0]) != pre {
		t.Errorf("lookup prefix = %v", l)
	}
	deepEqual(t, "lookup missing", obs.callOK("wamp.registration.lookup", wamp.List{"com.example"}, nil), wamp.List{nil})
	deepEqual(t, "lookup of a router procedure", obs.callOK("wamp.registration.lookup", wamp.List{"wamp.session.get"}, nil), wamp.List{nil})
	if l := tr.callOK("wamp.registration.lookup", wamp.List{"wamp.session.get"}, nil); l[0] == nil {
		t.Errorf("trusted lookup of wamp.session.get = %v", l)
	}
	if m := obs.callOK("wamp.registration.match", wamp.List{"com.example.add"}, nil); asID(t, m[0]) != reg {
		t.Errorf("match exact = %v", m)
	}
	if m := obs.callOK("wamp.registration.match", wamp.List{"com.example.sub"}, nil); asID(t, m[0]) != pre {
		t.Errorf("match prefix = %v", m)
	}
	deepEqual(t, "match none", obs.callOK("wamp.registration.match", wamp.List{"org.other"}, nil), wamp.List{nil})
	got, _ := obs.callOK("wamp.registration.get", wamp.List{reg}, nil)[0].(wamp.Dict)
	if asID(t, got["id"]) != reg || got["uri"] != "com.example.add" || got["created"] != details["created"] {
		t.Errorf("get = %v (on_create said %v)", got, details)
	}
	deepEqual(t, "list_callees", asIDs(t, obs.callOK("wamp.registration.list_callees", wamp.List{reg}, nil)[0]), []wamp.ID{c1.id, c2.id})
	if n := obs.callOK("wamp.registration.count_callees", wamp.List{reg}, nil); asID(t, n[0]) != 2 {
		t.Errorf("count_callees = %v", n)
	}
	deepEqual(t, "list_callees of a trusted callee", asIDs(t, obs.callOK("wamp.registration.list_callees", wamp.List{treg}, nil)[0]), []wamp.ID{})
	deepEqual(t, "trusted list_callees", asIDs(t, tr.callOK("wamp.registration.list_callees", wamp.List{treg}, nil)[0]), []wamp.ID{tr.id})
	wampGet := asID(t, tr.callOK("wamp.registration.lookup", wamp.List{"wamp.session.get"}, nil)[0])
	for _, c := range []struct {
		proc wamp.URI
		args wamp.List
		uri  wamp.URI
	}{
		{"wamp.registration.get", wamp.List{int64(999999)}, wamp.ErrNoSuchRegistration},
		{"wamp.registration.get", wamp.List{wampGet}, wamp.ErrNoSuchRegistration}, // hidden
		{"wamp.registration.get", wamp.List{"x"}, wamp.ErrInvalidArgument},
		{"wamp.registration.get", nil, wamp.ErrInvalidArgument},
		{"wamp.registration.list", wamp.List{1, 2}, wamp.ErrInvalidArgument},
		{"wamp.registration.lookup", wamp.List{"a", wamp.Dict{"match": "fuzzy"}}, wamp.ErrInvalidArgument},
		{"wamp.registration.lookup", wamp.List{"a", "prefix"}, wamp.ErrInvalidArgument},
		{"wamp.registration.match", wamp.List{7}, wamp.ErrInvalidArgument},
		{"wamp.registration.list_callees", wamp.List{int64(999999)}, wamp.ErrNoSuchRegistration},
		{"wamp.registration.count_callees", wamp.List{wampGet}, wamp.ErrNoSuchRegistration},
	} {
		obs.callErr(c.proc, c.args, nil, c.uri)
	}

	// Unregister: on_unregister, then on_delete for the last callee.
	req := c1.next()
	c1.send(&wamp.Unregister{Request: req, Registration: reg})
	expect[*wamp.Unregistered](c1)
	if u := ev("on_unregister"); asID(t, u[0]) != c1.id || asID(t, u[1]) != reg {
		t.Errorf("on_unregister %v", u)
	}
	// The last callee leaves: its registrations go, each with on_delete.
	c2.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](c2)
	seen := map[wamp.ID][]string{}
	for range 4 {
		e := expect[*wamp.Event](obs)
		a := argsOf(t, &e.Payload)
		if asID(t, a[0]) != c2.id {
			t.Errorf("event for session %v, want %d", a[0], c2.id)
		}
		for name, sub := range topics {
			if sub == e.Subscription {
				seen[asID(t, a[1])] = append(seen[asID(t, a[1])], name)
			}
		}
	}
	deepEqual(t, "events on leave", seen, map[wamp.ID][]string{reg: {"on_unregister", "on_delete"}, pre: {"on_unregister", "on_delete"}})
	obs.callErr("wamp.registration.get", wamp.List{reg}, nil, wamp.ErrNoSuchRegistration)
}

func TestRegistrationRevocation(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	admin := dialPeer(t, srv, "tcp", "json")
	admin.join()
	onUnreg := admin.subscribe("wamp.registration.on_unregister", wamp.Dict{})
	onDelete := admin.subscribe("wamp.registration.on_delete", wamp.Dict{})

	// A callee announcing registration_revocation hears about it.
	aware := dialPeer(t, srv, "ws", "msgpack")
	aware.hello(wamp.Dict{"roles": wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"registration_revocation": true, "shared_registration": true}}}})
	aware.welcomed()
	unaware := dialPeer(t, srv, "tcp", "cbor")
	unaware.join()
	reg := aware.register("com.example.job", wamp.Dict{"invoke": "first"})
	unaware.register("com.example.job", wamp.Dict{"invoke": "first"})

	admin.callErr("wamp.registration.remove_callee", wamp.List{int64(999999), aware.id}, nil, wamp.ErrNoSuchRegistration)
	admin.callErr("wamp.registration.remove_callee", wamp.List{reg, int64(999999)}, nil, wamp.ErrNoSuchSession)
	admin.callErr("wamp.registration.remove_callee", wamp.List{reg, admin.id}, nil, wamp.ErrNoSuchRegistration) // not a callee
	admin.callErr("wamp.registration.remove_callee", wamp.List{reg}, nil, wamp.ErrInvalidArgument)
	admin.callErr("wamp.registration.remove_callee", wamp.List{reg, aware.id, 5}, nil, wamp.ErrInvalidArgument)

	admin.callOK("wamp.registration.remove_callee", wamp.List{reg, aware.id, "maintenance"}, nil)
	u := expect[*wamp.Unregistered](aware)
	if u.Request != 0 || asID(t, u.Details["registration"]) != reg || u.Details["reason"] != "maintenance" {
		t.Errorf("UNREGISTERED %d %v", u.Request, u.Details)
	}
	if e := admin.event(onUnreg); asID(t, e[0]) != aware.id || asID(t, e[1]) != reg {
		t.Errorf("on_unregister %v", e)
	}
	// Calls now go to the remaining callee; the revoked one may not unregister again.
	req := admin.next()
	admin.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.job"})
	inv := expect[*wamp.Invocation](unaware)
	unaware.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	expect[*wamp.Result](admin)
	req = aware.next()
	aware.send(&wamp.Unregister{Request: req, Registration: reg})
	aware.expectError(wamp.TypeUnregister, req, wamp.ErrNoSuchRegistration)

	// A callee without the feature is removed silently (reason as kwarg).
	admin.callOK("wamp.registration.remove_callee", wamp.List{reg, unaware.id}, wamp.Dict{"reason": "bye"})
	unaware.expectNothing(100 * time.Millisecond)
	admin.event(onUnreg)
	if e := admin.event(onDelete); asID(t, e[1]) != reg {
		t.Errorf("on_delete %v", e)
	}
	admin.callErr("com.example.job", nil, nil, wamp.ErrNoSuchProcedure)
	// It may register again and gets a new registration.
	if again := unaware.register("com.example.job", wamp.Dict{}); again == reg {
		t.Error("registration id reused")
	}
	// Its session ending later is clean (nothing stale left behind).
	unaware.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](unaware)
	admin.event(onUnreg)
	admin.event(onDelete)
}

func TestSubscriptionMetaAPI(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	obs := dialPeer(t, srv, "tcp", "json")
	obs.join()
	topics := map[string]wamp.ID{}
	for _, e := range []string{"on_create", "on_subscribe", "on_unsubscribe", "on_delete"} {
		topics[e] = obs.subscribe(wamp.URI("wamp.subscription."+e), wamp.Dict{})
	}
	ev := func(name string) wamp.List {
		t.Helper()
		return obs.event(topics[name])
	}
	s1 := dialPeer(t, srv, "ws", "json")
	s1.join()
	s2 := dialPeer(t, srv, "unix", "msgpack")
	s2.hello(wamp.Dict{"roles": wamp.Dict{"subscriber": wamp.Dict{"features": wamp.Dict{"subscription_revocation": true}}}})
	s2.welcomed()

	sub := s1.subscribe("com.example.news", wamp.Dict{})
	c := ev("on_create")
	d, _ := c[1].(wamp.Dict)
	if asID(t, c[0]) != s1.id || asID(t, d["id"]) != sub || d["uri"] != "com.example.news" || d["match"] != "exact" || wamp.Has(d, "invoke") {
		t.Errorf("on_create %v", c)
	}
	if _, err := time.Parse(time.RFC3339Nano, d["created"].(string)); err != nil {
		t.Errorf("created: %v", err)
	}
	ev("on_subscribe")
	// Subscribing twice: same id, no events.
	if again := s1.subscribe("com.example.news", wamp.Dict{}); again != sub {
		t.Errorf("resubscribe id %d", again)
	}
	s2.subscribe("com.example.news", wamp.Dict{})
	if e := ev("on_subscribe"); asID(t, e[0]) != s2.id || asID(t, e[1]) != sub {
		t.Errorf("on_subscribe %v", e)
	}
	wild := s2.subscribe("com..news", wamp.Dict{"match": "wildcard"})
	ev("on_create")
	ev("on_subscribe")
	obs.expectNothing(30 * time.Millisecond)

	list, _ := obs.callOK("wamp.subscription.list", nil, nil)[0].(wamp.Dict)
	deepEqual(t, "list exact", asIDs(t, list["exact"]), []wamp.ID{sub}) // the observer's wamp.* subscriptions are hidden
	deepEqual(t, "list wildcard", asIDs(t, list["wildcard"]), []wamp.ID{wild})
	byS1, _ := obs.callOK("wamp.subscription.list", wamp.List{s1.id}, nil)[0].(wamp.Dict)
	deepEqual(t, "list session s1 exact", asIDs(t, byS1["exact"]), []wamp.ID{sub})
	deepEqual(t, "list session s1 wildcard", asIDs(t, byS1["wildcard"]), []wamp.ID{})
	byS2, _ := obs.callOK("wamp.subscription.list", nil, wamp.Dict{"session_id": s2.id})[0].(wamp.Dict)
	deepEqual(t, "list session s2 wildcard", asIDs(t, byS2["wildcard"]), []wamp.ID{wild})
	deepEqual(t, "match", asIDs(t, obs.callOK("wamp.subscription.match", wamp.List{"com.example.news"}, nil)[0]), []wamp.ID{sub, wild})
	deepEqual(t, "match none", obs.callOK("wamp.subscription.match", wamp.List{"org.x"}, nil), wamp.List{nil})
	deepEqual(t, "match hidden", obs.callOK("wamp.subscription.match", wamp.List{"wamp.subscription.on_create"}, nil), wamp.List{nil})
	if l := obs.callOK("wamp.subscription.lookup", wamp.List{"com..news", wamp.Dict{"match": "wildcard"}}, nil); asID(t, l[0]) != wild {
		t.Errorf("lookup = %v", l)
	}
	deepEqual(t, "lookup hidden", obs.callOK("wamp.subscription.lookup", wamp.List{"wamp.subscription.on_create"}, nil), wamp.List{nil})
	got, _ := obs.callOK("wamp.subscription.get", wamp.List{wild}, nil)[0].(wamp.Dict)
	if got["uri"] != "com..news" || got["match"] != "wildcard" {
		t.Errorf("get = %v", got)
	}
	deepEqual(t, "list_subscribers", asIDs(t, obs.callOK("wamp.subscription.list_subscribers", wamp.List{sub}, nil)[0]), []wamp.ID{s1.id, s2.id})
	if n := obs.callOK("wamp.subscription.count_subscribers", wamp.List{sub}, nil); asID(t, n[0]) != 2 {
		t.Errorf("count_subscribers = %v", n)
	}
	obs.callErr("wamp.subscription.get", wamp.List{topics["on_create"]}, nil, wamp.ErrNoSuchSubscription) // hidden
	obs.callErr("wamp.subscription.get", wamp.List{int64(999999)}, nil, wamp.ErrNoSuchSubscription)
	obs.callErr("wamp.subscription.list_subscribers", wamp.List{int64(999999)}, nil, wamp.ErrNoSuchSubscription)
	obs.callErr("wamp.subscription.count_subscribers", wamp.List{true}, nil, wamp.ErrInvalidArgument)

	// Revocation: s2 announced the feature and gets UNSUBSCRIBED.
	obs.callErr("wamp.subscription.remove_subscriber", wamp.List{sub, obs.id}, nil, wamp.ErrNoSuchSubscription)
	obs.callErr("wamp.subscription.remove_subscriber", wamp.List{sub, int64(999999)}, nil, wamp.ErrNoSuchSession)
	obs.callErr("wamp.subscription.remove_subscriber", wamp.List{int64(999999), s2.id}, nil, wamp.ErrNoSuchSubscription)
	obs.callOK("wamp.subscription.remove_subscriber", wamp.List{sub, s2.id, "spam"}, nil)
	u := expect[*wamp.Unsubscribed](s2)
	if u.Request != 0 || asID(t, u.Details["subscription"]) != sub || u.Details["reason"] != "spam" {
		t.Errorf("UNSUBSCRIBED %d %v", u.Request, u.Details)
	}
	if e := ev("on_unsubscribe"); asID(t, e[0]) != s2.id || asID(t, e[1]) != sub {
		t.Errorf("on_unsubscribe %v", e)
	}
	// s2 no longer receives com.example.news through that subscription
	// (the wildcard one still matches).
	obs.send(&wamp.Publish{Request: obs.next(), Options: wamp.Dict{}, Topic: "com.example.news"})
	if e := expect[*wamp.Event](s2); e.Subscription != wild {
		t.Errorf("s2 got an event on %d, want only the wildcard %d", e.Subscription, wild)
	}
	expect[*wamp.Event](s1)
	s2.expectNothing(30 * time.Millisecond)
	req := s2.next()
	s2.send(&wamp.Unsubscribe{Request: req, Subscription: sub})
	s2.expectError(wamp.TypeUnsubscribe, req, wamp.ErrNoSuchSubscription)

	// s1 (no feature) removed silently; the subscription is then deleted.
	obs.callOK("wamp.subscription.remove_subscriber", wamp.List{sub, s1.id}, nil)
	s1.expectNothing(50 * time.Millisecond)
	ev("on_unsubscribe")
	if e := ev("on_delete"); asID(t, e[1]) != sub {
		t.Errorf("on_delete %v", e)
	}
	// Re-subscribing creates a new subscription.
	if again := s1.subscribe("com.example.news", wamp.Dict{}); again == sub {
		t.Error("subscription id reused")
	}
	ev("on_create")
	ev("on_subscribe")
	// Unsubscribe and session end.
	req = s2.next()
	s2.send(&wamp.Unsubscribe{Request: req, Subscription: wild})
	expect[*wamp.Unsubscribed](s2)
	ev("on_unsubscribe")
	ev("on_delete")
	s1.tc.Close()
	ev("on_unsubscribe")
	ev("on_delete")
}

// Meta procedures and events are authorized like any other URI.
func TestMetaAuthorization(t *testing.T) {
	t.Parallel()
	srv, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	gus := loginTicket(t, front, "gus") // guest: call and subscribe public.* only
	gus.callErr("wamp.session.count", nil, nil, wamp.ErrNotAuthorized)
	req := gus.next()
	gus.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "wamp.session.on_join"})
	gus.expectError(wamp.TypeSubscribe, req, wamp.ErrNotAuthorized)
	if n := backend.callOK("wamp.session.count", nil, nil); asID(t, n[0]) != 2 {
		t.Errorf("count = %v", n)
	}

	// A dynamic role: the authorizer is asked about the meta call.
	joe := dialURL(t, front, "json")
	joe.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	expect[*wamp.Challenge](joe)
	joe.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	joe.welcomed()
	req = joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.kill", Payload: wamp.Payload{Args: wamp.List{gus.id}}})
	if _, uri, action := authorizeNext(t, backend, false); uri != "wamp.session.kill" || action != "call" {
		t.Errorf("authorizer asked about %s %s", action, uri)
	}
	joe.expectError(wamp.TypeCall, req, wamp.ErrNotAuthorized)
	req = joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.kill", Payload: wamp.Payload{Args: wamp.List{gus.id}}})
	authorizeNext(t, backend, true)
	expect[*wamp.Result](joe)
	expect[*wamp.Goodbye](gus)
	_ = srv
}

// The Go client: meta calls, events, a kill, and revocation handled.
func TestMetaWithClient(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func() *client.Session {
		s, err := client.Dial(ctx, srv.URL("ws"), client.Config{Realm: routertest.Realm})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	}
	admin := dial()
	joins := make(chan wamp.Dict, 4)
	if _, err := admin.Subscribe(ctx, "wamp.session.on_join", func(d wamp.Dict) { joins <- d }); err != nil {
		t.Fatal(err)
	}
	worker := dial()
	select {
	case d := <-joins:
		if asID(t, d["session"]) != worker.ID() {
			t.Errorf("on_join %v", d)
		}
	case <-ctx.Done():
		t.Fatal("no on_join")
	}
	res, err := admin.Call(ctx, "wamp.session.get", wamp.List{worker.ID()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := res.Args[0].(wamp.Dict); d["authrole"] != "anonymous" {
		t.Errorf("get = %v", res.Args)
	}
	if _, err := admin.Call(ctx, "wamp.session.get", wamp.List{int64(999999)}, nil); !errors.Is(err, client.NewError(wamp.ErrNoSuchSession)) {
		t.Errorf("get unknown: %v", err)
	}

	// Revocation: the client forgets the registration; calls then fail.
	if _, err := worker.Register(ctx, "com.example.work", func() (string, error) { return "done", nil }); err != nil {
		t.Fatal(err)
	}
	res, err = admin.Call(ctx, "wamp.registration.lookup", wamp.List{"com.example.work"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Call(ctx, "wamp.registration.remove_callee", wamp.List{res.Args[0], worker.ID()}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Call(ctx, "com.example.work", nil, nil); !errors.Is(err, client.NewError(wamp.ErrNoSuchProcedure)) {
		t.Errorf("call after revocation: %v", err)
	}

	if _, err := admin.Call(ctx, "wamp.session.kill", wamp.List{worker.ID()}, wamp.Dict{"message": "done for today"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-worker.Done():
	case <-ctx.Done():
		t.Fatal("killed session did not end")
	}
	var ge *client.GoodbyeError
	if err := worker.Err(); !errors.As(err, &ge) || ge.Reason != wamp.CloseKilled || ge.Message != "done for today" {
		t.Errorf("worker ended with %v", err)
	}
}

func TestMetaFeaturesAnnounced(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialPeer(t, srv, "tcp", "json")
	w := p.join()
	roles, _ := wamp.OptDict(w.Details, "roles")
	for role, keys := range map[string][]string{
		"broker": {"session_meta_api", "subscription_meta_api", "subscription_revocation"},
		"dealer": {"session_meta_api", "registration_meta_api", "registration_revocation", "testament_meta_api"},
	} {
		r, _ := wamp.OptDict(roles, role)
		f, _ := wamp.OptDict(r, "features")
		for _, k := range keys {
			if v, _ := wamp.OptBool(f, k); !v {
				t.Errorf("WELCOME does not announce %s.%s", role, k)
			}
		}
	}
}
