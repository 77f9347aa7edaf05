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

// expiryRouter is grantsRouter's setup with a static user role and
// refresh as the realm's credential refresh procedure ("" none).
func expiryRouter(t *testing.T, refresh wamp.URI) (backdoor, front string) {
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", CredentialRefresh: refresh, Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Permissions: []authz.Permission{{URI: "app.", Match: "prefix", Allow: everything}}},
		}}}
	})
	backdoor = srv.Serve(t, "unix", anonymousTransport("backend"))
	front = srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{
		Authenticator: "com.example.authenticate", Timeout: 2 * time.Second,
	}}))
	return backdoor, front
}

func expectExpiredGoodbye(t *testing.T, p *peer) {
	t.Helper()
	if g := expect[*wamp.Goodbye](p); g.Reason != router.CloseCredentialsExpired {
		t.Errorf("GOODBYE %s %v", g.Reason, g.Details)
	}
	p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
}

func TestCredentialsExpire(t *testing.T) {
	t.Parallel()
	backdoor, front := expiryRouter(t, "")
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authenticate", wamp.Dict{})

	for _, bad := range []wamp.Dict{
		{"role": "user", "expires_in": -1},
		{"role": "user", "expires_in": "soon"},
		{"role": "user", "expires_at": "2020-01-01T00:00:00Z"},
		{"role": "user", "expires_at": "tomorrow"},
		{"role": "user", "expires_in": 5, "expires_at": "2999-01-01T00:00:00Z"},
	} {
		p := loginDynamic(t, front, backend, "joe", bad)
		if a := expectAbort(p, wamp.ErrAuthenticationFailed); !containsAll(a.Details["message"].(string), "expir") {
			t.Errorf("%v: abort %v", bad, a.Details)
		}
	}

	// Three sessions, one shared heap: they close in expiry order; the
	// one without expiry stays.
	start := time.Now()
	late := loginDynamic(t, front, backend, "late", wamp.Dict{"role": "user", "expires_at": time.Now().Add(600 * time.Millisecond).UTC().Format(time.RFC3339Nano)})
	late.welcomed()
	early := loginDynamic(t, front, backend, "early", wamp.Dict{"role": "user", "expires_in": 0.2})
	early.welcomed()
	forever := loginDynamic(t, front, backend, "forever", "user")
	forever.welcomed()
	expectExpiredGoodbye(t, early)
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("closed after %v, before its expiry", d)
	}
	late.expectNothing(10 * time.Millisecond) // not yet
	expectExpiredGoodbye(t, late)
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("late closed after %v, before its expiry", d)
	}
	forever.expectNothing(50 * time.Millisecond)
}

func TestCredentialsRefresh(t *testing.T) {
	t.Parallel()
	backdoor, front := expiryRouter(t, "com.example.refresh")
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authenticate", wamp.Dict{})
	backend.register("com.example.refresh", wamp.Dict{})
	// Lifetimes of 2s: the refresh is called 1s (minRefreshLead) before
	// expiry, and the backend's answer must beat the expiry. A shorter
	// lifetime leaves it half that, too little for a loaded -race run.
	joe := loginDynamic(t, front, backend, "joe", wamp.Dict{"role": "user", "expires_in": 2})
	joe.welcomed()

	// refresh(session, authid) before expiry; a new expiry keeps the session.
	for i := range 2 {
		inv := expect[*wamp.Invocation](backend)
		var answer any = 2
		if i == 1 {
			answer = wamp.Dict{"expires_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)}
		}
		args := argsOf(t, &inv.Payload)
		if len(args) != 2 || asID(t, args[0]) != joe.id || args[1] != "joe" {
			t.Fatalf("refresh args %v", args)
		}
		backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{answer}}})
		joe.expectNothing(20 * time.Millisecond)
	}
	// A refusal ends it.
	inv := expect[*wamp.Invocation](backend)
	backend.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.revoked"})
	expectExpiredGoodbye(t, joe)
}
