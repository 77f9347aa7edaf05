package router_test

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// BenchmarkAuthorizedCallGrant is BenchmarkAuthorizedCall's round trip by
// a session of the dynamic role whose per-session grants (from the
// authenticator's answer) cover the call: its authorizer is not even
// registered, so a call the grants did not decide would fail.
func BenchmarkAuthorizedCallGrant(b *testing.B) {
	ctx := context.Background()
	srv := routertest.Start(b, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
			{Name: "dynamic_user", Authorizer: "com.example.authorize"},
		}}}
	})
	backdoor := srv.Serve(b, "tcp", anonymousTransport("backend"))
	front := srv.Serve(b, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}}))

	backend := dialConn(b, backdoor, codec.MsgPack)
	defer backend.Close()
	rawRPC(b, ctx, backend, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
	authReg := rawRPC(b, ctx, backend, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.authenticate"}).(*wamp.Registered).Registration
	rawRPC(b, ctx, backend, &wamp.Register{Request: 2, Options: wamp.Dict{}, Procedure: "com.bench.echo"})
	go serveBackend(backend, authReg, wamp.Dict{"role": "dynamic_user", "permissions": wamp.List{
		wamp.Dict{"uri": "com.example.admin.*", "allow": wamp.Dict{"call": true}},
		wamp.Dict{"uri": "com.example.public.*", "allow": wamp.Dict{"call": true, "subscribe": true}},
		wamp.Dict{"uri": "com.bench.*", "allow": wamp.Dict{"call": true}},
	}})

	caller := dialConn(b, front, codec.MsgPack)
	defer caller.Close()
	rawRPC(b, ctx, caller, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{"ticket"}, "authid": "joe"}})
	if _, ok := rawRPC(b, ctx, caller, &wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}}).(*wamp.Welcome); !ok {
		b.Fatal("join failed")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := rawRPC(b, ctx, caller, &wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: "com.bench.echo", Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
		if _, ok := r.(*wamp.Result); !ok {
			b.Fatalf("call %d: %v %+v", i, r.MessageType(), r)
		}
	}
}
