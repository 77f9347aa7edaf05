package router_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// trustRouter is the issue 17 #5 setup: myrealm with an admin role, and a
// second, open realm where anonymous clients may do everything, register
// the authenticator's URI included. The public transport offers dynamic
// ticket (authenticator "authenticate", no authenticator-realm) and
// anonymous; the backdoor gives role server on myrealm.
func trustRouter(t *testing.T, dyn auth.DynamicConfig) (srv *routertest.Server, public, backdoor string) {
	srv = routertest.Start(t, func(o *router.Options) {
		all := []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}
		o.Realms = []router.RealmOptions{
			{Name: "myrealm", Roles: []authz.RoleConfig{
				{Name: "admin", Permissions: all},
				{Name: "server", Permissions: all},
			}},
			{Name: "open", Roles: []authz.RoleConfig{{Name: "anonymous", Permissions: all}}},
			{Name: "authrealm", Roles: []authz.RoleConfig{{Name: "server", Permissions: all}}},
		}
	})
	if dyn.Authenticator == "" {
		dyn.Authenticator = "authenticate"
	}
	public = srv.Serve(t, "tcp", rawTransport(
		auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: dyn},
		auth.MethodConfig{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "anonymous"}},
	))
	backdoor = srv.Serve(t, "unix", anonymousTransport("server"))
	return srv, public, backdoor
}

// ticketLogin sends HELLO for realm with ticket auth, answers the
// challenge, and lets authenticator (a peer that registered it) answer.
func ticketLogin(t *testing.T, url string, realm wamp.URI, authenticator *peer, answer wamp.Dict) *peer {
	t.Helper()
	p := dialURL(t, url, "json")
	p.send(&wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{"ticket"}, "authid": "mallory"}})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "anything", Extra: wamp.Dict{}})
	inv := expect[*wamp.Invocation](authenticator)
	authenticator.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{answer}}})
	return p
}

// The attack of issue 17 #5: anyone joins the open realm, registers
// "authenticate" there, logs in asking for the open realm, and answers
// with myrealm as admin. That must not be a WELCOME for myrealm.
func TestOpenRealmAuthenticatorCannotGrantAnotherRealm(t *testing.T) {
	t.Parallel()
	_, public, _ := trustRouter(t, auth.DynamicConfig{})
	mallory := dialURL(t, public, "msgpack")
	mallory.send(&wamp.Hello{Realm: "open", Details: wamp.Dict{"roles": clientRoles}})
	mallory.welcomed()
	mallory.register("authenticate", wamp.Dict{})

	p := ticketLogin(t, public, "open", mallory, wamp.Dict{"realm": "myrealm", "authrole": "admin"})
	m := p.recv()
	if w, ok := m.(*wamp.Welcome); ok {
		t.Fatalf("WELCOME %v: an authenticator in realm open admitted a session to myrealm", w.Details)
	}
	a, ok := m.(*wamp.Abort)
	if !ok || a.Reason != wamp.ErrAuthenticationFailed {
		t.Fatalf("got %v, want ABORT authentication_failed", m)
	}
	msg, _ := wamp.OptString(a.Details, "message")
	if !strings.Contains(msg, `not trusted for realm "myrealm"`) {
		t.Errorf("message %q", msg)
	}

	// Staying in its own realm is the open realm's business (its
	// permissions let anyone register the authenticator there).
	p = ticketLogin(t, public, "open", mallory, wamp.Dict{"authrole": "anonymous"})
	if realm, _ := wamp.OptString(p.welcomed().Details, "realm"); realm != "open" {
		t.Fatalf("realm %q", realm)
	}
}

// The seed's setup keeps working unchanged: the backend (static role
// server, through the backdoor) registers authenticate in myrealm, and
// its answer places the session in myrealm, with or without "realm".
func TestSameRealmAuthenticatorStillAdmits(t *testing.T) {
	t.Parallel()
	_, public, backdoor := trustRouter(t, auth.DynamicConfig{})
	backend := dialURL(t, backdoor, "json")
	backend.send(&wamp.Hello{Realm: "myrealm", Details: wamp.Dict{"roles": clientRoles}})
	backend.welcomed()
	backend.register("authenticate", wamp.Dict{})
	for _, answer := range []wamp.Dict{{"authrole": "admin"}, {"role": "admin", "realm": "myrealm"}} {
		p := ticketLogin(t, public, "myrealm", backend, answer)
		w := p.welcomed()
		if realm, _ := wamp.OptString(w.Details, "realm"); realm != "myrealm" {
			t.Fatalf("realm %q", realm)
		}
		if role, _ := wamp.OptString(w.Details, "authrole"); role != "admin" {
			t.Fatalf("role %q", role)
		}
	}
	// A role the realm does not define is refused, as before.
	p := ticketLogin(t, public, "myrealm", backend, wamp.Dict{"authrole": "root"})
	expectAbort(p, wamp.ErrNoSuchRole)
}

// With authenticator-realm the authenticator is pinned by the config: it
// may keep the session in the realm asked for, place it in its own realm
// or in a listed realm, and nowhere else.
func TestPinnedAuthenticatorRealms(t *testing.T) {
	t.Parallel()
	_, public, backdoor := trustRouter(t, auth.DynamicConfig{Realm: "authrealm", Realms: []wamp.URI{"myrealm"}})
	backend := dialURL(t, backdoor, "json")
	backend.send(&wamp.Hello{Realm: "authrealm", Details: wamp.Dict{"roles": clientRoles}})
	backend.welcomed()
	backend.register("authenticate", wamp.Dict{})

	// Asked for open, kept there; moved to the listed myrealm.
	p := ticketLogin(t, public, "open", backend, wamp.Dict{"authrole": "anonymous"})
	if realm, _ := wamp.OptString(p.welcomed().Details, "realm"); realm != "open" {
		t.Fatalf("realm %q", realm)
	}
	p = ticketLogin(t, public, "open", backend, wamp.Dict{"authrole": "admin", "realm": "myrealm"})
	if realm, _ := wamp.OptString(p.welcomed().Details, "realm"); realm != "myrealm" {
		t.Fatalf("realm %q", realm)
	}
	// Asked for myrealm, moved to open: not listed.
	p = ticketLogin(t, public, "myrealm", backend, wamp.Dict{"authrole": "anonymous", "realm": "open"})
	expectAbort(p, wamp.ErrAuthenticationFailed)
}

// A HELLO with a null realm on a transport without authentication: nothing
// can choose a realm, and the ABORT says so (issue 14 part 2).
func TestNullRealmWithoutAuth(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialPeer(t, srv, "tcp", "json")
	p.sendRaw([]byte(`[1,null,{"roles":{"caller":{}}}]`))
	a := expectAbort(p, wamp.ErrNoSuchRealm)
	if msg, _ := wamp.OptString(a.Details, "message"); msg != "HELLO names no realm, and this transport has no authentication that could choose one" {
		t.Errorf("message %q", msg)
	}
}

// An authenticator's failure text (here a DSN with a password, as an
// exception would carry it) stays in the log; a deliberate refusal keeps
// its URI and first line (brief item 5 of issue 17's trust work).
func TestAuthenticatorErrorTextStaysInLog(t *testing.T) {
	t.Parallel()
	_, public, backdoor := trustRouter(t, auth.DynamicConfig{})
	backend := dialURL(t, backdoor, "json")
	backend.send(&wamp.Hello{Realm: "myrealm", Details: wamp.Dict{"roles": clientRoles}})
	backend.welcomed()
	backend.register("authenticate", wamp.Dict{})
	for _, tt := range []struct {
		uri     wamp.URI
		arg     string
		reason  wamp.URI
		message string
	}{
		{wamp.ErrRuntimeError, "connect postgres://tollgate:hunter2@db:5432 refused", wamp.ErrAuthenticationFailed, "authentication failed: the authenticator failed"},
		{"com.example.ticket_expired", "ticket expired\nTraceback: postgres://tollgate:hunter2@db", "com.example.ticket_expired", "ticket expired"},
	} {
		p := dialURL(t, public, "json")
		p.send(&wamp.Hello{Realm: "myrealm", Details: wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{"ticket"}, "authid": "joe"}})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
		inv := expect[*wamp.Invocation](backend)
		backend.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: tt.uri,
			Payload: wamp.Payload{Args: wamp.List{tt.arg}, Kwargs: wamp.Dict{"traceback": "hunter2"}}})
		a := expectAbort(p, tt.reason)
		if msg, _ := wamp.OptString(a.Details, "message"); msg != tt.message || strings.Contains(fmt.Sprint(a.Details, a.Payload), "hunter2") {
			t.Errorf("%s: ABORT %v %v, want message %q and no secret", tt.uri, a.Details, a.Payload, tt.message)
		}
	}
}
