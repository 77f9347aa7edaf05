package router_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// serveAuthorizer answers every INVOCATION on tc with answer().
func serveAuthorizer(tc transport.Conn, answer func() any) {
	c := tc.Codec()
	for {
		data, err := tc.Read(context.Background())
		if err != nil {
			return
		}
		m, err := c.Decode(data)
		if inv, ok := m.(*wamp.Invocation); err == nil && ok {
			f, _ := c.Encode(nil, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{answer()}}})
			if tc.Write(context.Background(), [][]byte{f}) != nil {
				return
			}
		}
	}
}

// TestRevokeScale: 10,000 live subscriptions (10 each for 1,000
// sessions) re-checked by one revoke, for a static role (all stay) and for
// a dynamic role whose authorizer now denies (all go: 10,000 authorizer
// calls). It logs the latency; it fails if anything is left behind.
func TestRevokeScale(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 sessions")
	}
	const sessions, perSession = 1000, 10
	for _, role := range []string{"guest", "user"} {
		t.Run(role, func(t *testing.T) {
			ctx := context.Background()
			srv := routertest.Start(t, func(o *router.Options) {
				o.HelloRatePerIP = router.Rate{PerSecond: -1} // 1,000 logins from one address
				o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
					{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
					{Name: "guest", Permissions: []authz.Permission{{URI: "public.*", Allow: authz.Actions{Subscribe: true}}}},
					{Name: "user", Authorizer: "com.example.authorize", Timeout: 10 * time.Second},
				}}}
			})
			backdoor := srv.Serve(t, "tcp", anonymousTransport("backend"))
			front := srv.Serve(t, "tcp", anonymousTransport(role))
			authz := dialConn(t, backdoor, codec.MsgPack)
			rawRPC(t, ctx, authz, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
			rawRPC(t, ctx, authz, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.authorize"})
			var deny atomic.Bool
			var asked atomic.Int64
			go serveAuthorizer(authz, func() any {
				asked.Add(1)
				return wamp.Dict{"allow": !deny.Load(), "cache": true}
			})
			conns := make([]transport.Conn, sessions)
			defer func() { // also keeps them reachable: a lost conn is closed by its finalizer
				for _, c := range conns {
					if c != nil {
						c.Close()
					}
				}
			}()
			for i := range conns {
				tc := dialConn(t, front, codec.MsgPack)
				conns[i] = tc
				rawRPC(t, ctx, tc, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
				for j := range perSession {
					topic := wamp.URI(fmt.Sprintf("public.s%d.t%d", i, j))
					if _, ok := rawRPC(t, ctx, tc, &wamp.Subscribe{Request: wamp.ID(j + 1), Options: wamp.Dict{}, Topic: topic}).(*wamp.Subscribed); !ok {
						t.Fatalf("subscribe %s refused", topic)
					}
				}
			}
			admin := dialConn(t, backdoor, codec.MsgPack)
			rawRPC(t, ctx, admin, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
			deny.Store(true)
			asked.Store(0)
			start := time.Now()
			r, ok := rawRPC(t, ctx, admin, &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "tollgate.authorizer.revoke", Payload: wamp.Payload{Kwargs: wamp.Dict{"authrole": role}}}).(*wamp.Result)
			elapsed := time.Since(start)
			if !ok {
				t.Fatal("revoke failed")
			}
			res, _ := argsOf(t, &r.Payload)[0].(wamp.Dict)
			removed, _ := wamp.AsInt(res["subscriptions"])
			checked, _ := wamp.AsInt(res["checked"])
			want := int64(sessions * perSession)
			if role == "guest" {
				want = 0
			}
			if checked != sessions*perSession || removed != want {
				t.Fatalf("revoke = %v, want %d checked and %d removed", res, sessions*perSession, want)
			}
			t.Logf("revoke over %d live subscriptions (%s role): %d removed, %d authorizer calls, %v round trip (router: %vµs)",
				checked, role, removed, asked.Load(), elapsed.Round(time.Millisecond), res["latency_us"])
		})
	}
}
