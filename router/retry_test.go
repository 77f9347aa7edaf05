package router_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestBackendRetryOnCalleeLoss: with two backend instances registered
// roundrobin, an authenticator or authorizer call whose callee leaves
// mid-flight is made once more, on the instance still there, and the
// login or action succeeds.
func TestBackendRetryOnCalleeLoss(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Authorizer: "com.example.authorize"},
		}}}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{
		Authenticator: "com.example.authenticate", Timeout: 5 * time.Second,
	}}))
	rr := wamp.Dict{"invoke": "roundrobin"}
	// The instances that will leave register first, so roundrobin picks
	// them first.
	leaverAuthn := joinBackend(t, backdoor, "realm1")
	leaverAuthn.register("com.example.authenticate", rr)
	leaverAuthz := joinBackend(t, backdoor, "realm1")
	leaverAuthz.register("com.example.authorize", rr)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var authnCalls, authzCalls atomic.Int64
	stay, err := client.Dial(ctx, backdoor, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer stay.Close(ctx)
	if _, err := stay.Register(ctx, "com.example.authenticate", func(context.Context, *client.Invocation) (client.Result, error) {
		authnCalls.Add(1)
		return client.Result{Args: wamp.List{"user"}}, nil
	}, client.Invoke(wamp.InvokeRoundRobin)); err != nil {
		t.Fatal(err)
	}
	if _, err := stay.Register(ctx, "com.example.authorize", func(context.Context, *client.Invocation) (client.Result, error) {
		authzCalls.Add(1)
		return client.Result{Args: wamp.List{true}}, nil
	}, client.Invoke(wamp.InvokeRoundRobin)); err != nil {
		t.Fatal(err)
	}

	p := dialURL(t, front, "json")
	p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "t", Extra: wamp.Dict{}})
	expect[*wamp.Invocation](leaverAuthn)
	leaverAuthn.tc.Close() // gone mid-flight
	p.welcomed()
	if n := authnCalls.Load(); n != 1 {
		t.Errorf("staying authenticator called %d times, want 1", n)
	}

	// Authorized (the retried authorizer allowed it): the CALL gets as far
	// as the procedure lookup.
	p.send(&wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "public.nothing"})
	expect[*wamp.Invocation](leaverAuthz)
	leaverAuthz.tc.Close()
	p.expectError(wamp.TypeCall, 1, wamp.ErrNoSuchProcedure)
	if n := authzCalls.Load(); n != 1 {
		t.Errorf("staying authorizer called %d times, want 1", n)
	}
}
