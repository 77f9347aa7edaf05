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

// grantsRouter: realm1 with roles backend (everything) and user (dynamic
// authorizer com.example.authorize); the front transport logs in with the
// dynamic ticket authenticator com.example.authenticate.
func grantsRouter(t *testing.T) (backdoor, front string) {
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Authorizer: "com.example.authorize", Timeout: 2 * time.Second},
		}}}
	})
	backdoor = srv.Serve(t, "unix", anonymousTransport("backend"))
	front = srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{
		Authenticator: "com.example.authenticate", Timeout: 2 * time.Second,
	}}))
	return backdoor, front
}

// loginDynamic logs authid in through the front transport while backend
// answers the authenticator with answer.
func loginDynamic(t *testing.T, front string, backend *peer, authid string, answer any) *peer {
	t.Helper()
	p := dialURL(t, front, "json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": revocationRoles, "authmethods": wamp.List{"ticket"}, "authid": authid}})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	inv := expect[*wamp.Invocation](backend)
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{answer}}})
	return p
}

func TestPerSessionGrants(t *testing.T) {
	t.Parallel()
	backdoor, front := grantsRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authenticate", wamp.Dict{})
	backend.register("com.example.authorize", wamp.Dict{})
	backend.register("app.echo", wamp.Dict{})
	backend.register("app.secret", wamp.Dict{})

	// A malformed list refuses the login, naming the problem.
	bad := loginDynamic(t, front, backend, "joe", wamp.Dict{"role": "user", "permissions": wamp.List{wamp.Dict{"uri": "app.", "allow": wamp.Dict{"cal": true}}}})
	if a := expectAbort(bad, wamp.ErrAuthenticationFailed); !containsAll(a.Details["message"].(string), "permissions[0]", `unknown key "cal"`) {
		t.Errorf("abort %v", a.Details)
	}

	joe := loginDynamic(t, front, backend, "joe", wamp.Dict{"role": "user", "permissions": wamp.List{
		wamp.Dict{"uri": "app.", "match": "prefix", "allow": wamp.Dict{"call": true, "subscribe": true}, "disclose": wamp.Dict{"caller": true}},
		wamp.Dict{"uri": "app.secret", "allow": wamp.Dict{"call": false}},
	}})
	joe.welcomed()

	// Covered actions are decided locally: no authorizer invocation.
	req := joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "app.echo"})
	inv := expect[*wamp.Invocation](backend)
	if id, _ := wamp.OptID(inv.Details, "caller"); id != joe.id {
		t.Errorf("grant's disclose not applied: %v", inv.Details)
	}
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	expect[*wamp.Result](joe)
	req = joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "app.secret"})
	joe.expectError(wamp.TypeCall, req, wamp.ErrNotAuthorized)
	sub := joe.subscribe("app.feed", wamp.Dict{})
	backend.expectNothing(20 * time.Millisecond)

	// An action the grants do not name falls to the role's authorizer.
	req = joe.next()
	joe.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "app.feed"})
	if _, uri, action := authorizeNext(t, backend, false); uri != "app.feed" || action != "publish" {
		t.Errorf("authorizer asked %s %s", action, uri)
	}
	joe.expectError(wamp.TypePublish, req, wamp.ErrNotAuthorized)

	// revoke with permissions replaces them and re-checks: subscribe is now
	// refused by the grants; calls fall to the authorizer.
	res := revokeServing(t, backend, wamp.Dict{"session": int64(joe.id), "permissions": wamp.List{
		wamp.Dict{"uri": "app.", "match": "prefix", "allow": wamp.Dict{"subscribe": false}},
	}}, func(uri, action string) any {
		t.Errorf("authorizer asked %s %s: the grants decide", action, uri)
		return false
	})
	if res["subscriptions"] != int64(1) {
		t.Errorf("revoke = %v", res)
	}
	if u := expect[*wamp.Unsubscribed](joe); asID(t, u.Details["subscription"]) != sub {
		t.Errorf("UNSUBSCRIBED %v", u.Details)
	}
	req = joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "app.echo"})
	authorizeNext(t, backend, false)
	joe.expectError(wamp.TypeCall, req, wamp.ErrNotAuthorized)

	e := explainServing(t, backend, wamp.List{int64(joe.id), "app.feed", "subscribe"}, nil, nil)
	if e["allow"] != false || e["source"] != "grant" {
		t.Errorf("explain: %v", e)
	}
	deepEqual(t, "grant rule", e["rule"], wamp.Dict{"uri": "app", "match": "prefix", "index": int64(0)})

	backend.callErr("tollgate.authorizer.revoke", nil, wamp.Dict{"permissions": wamp.List{}}, wamp.ErrInvalidArgument)
	backend.callErr("tollgate.authorizer.revoke", nil, wamp.Dict{"session": int64(joe.id), "permissions": "all"}, wamp.ErrInvalidArgument)
}
