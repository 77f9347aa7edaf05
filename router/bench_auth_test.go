package router_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// serveBackend answers every INVOCATION: the authorizer registration with
// authorizeAnswer, anything else by echoing the payload.
func serveBackend(tc transport.Conn, authorizeReg wamp.ID, authorizeAnswer any) {
	c := tc.Codec()
	for {
		data, err := tc.Read(context.Background())
		if err != nil {
			return
		}
		m, err := c.Decode(data)
		if err != nil {
			return
		}
		inv, ok := m.(*wamp.Invocation)
		if !ok {
			continue
		}
		y := &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: inv.Payload}
		if inv.Registration == authorizeReg {
			y.Payload = wamp.Payload{Args: wamp.List{authorizeAnswer}}
		}
		f, _ := c.Encode(nil, y)
		if tc.Write(context.Background(), [][]byte{f}) != nil {
			return
		}
	}
}

// BenchmarkAuthorizedCall is a CALL round trip by a session whose role is
// authorized (a) statically, (b) by a dynamic authorizer whose answer is
// cached, (c) by a dynamic authorizer asked on every call.
func BenchmarkAuthorizedCall(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name, role string
		answer     any
	}{
		{"static", "static_user", nil},
		{"dynamic-cached", "dynamic_user", wamp.Dict{"allow": true, "cache": true}},
		{"dynamic-uncached", "dynamic_user", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv := routertest.Start(b, func(o *router.Options) {
				o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
					{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
					{Name: "static_user", Permissions: []authz.Permission{
						{URI: "com.example.admin.*", Allow: authz.Actions{Call: true}},
						{URI: "com.example.public.*", Allow: authz.Actions{Call: true, Subscribe: true}},
						{URI: "com.bench.*", Allow: authz.Actions{Call: true}},
					}},
					{Name: "dynamic_user", Authorizer: "com.example.authorize"},
				}}}
			})
			backdoor := srv.Serve(b, "tcp", anonymousTransport("backend"))
			front := srv.Serve(b, "tcp", anonymousTransport(c.role))

			backend := dialConn(b, backdoor, codec.MsgPack)
			defer backend.Close()
			rawRPC(b, ctx, backend, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
			authReg := rawRPC(b, ctx, backend, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.authorize"}).(*wamp.Registered).Registration
			rawRPC(b, ctx, backend, &wamp.Register{Request: 2, Options: wamp.Dict{}, Procedure: "com.bench.echo"})
			go serveBackend(backend, authReg, c.answer)

			caller := dialConn(b, front, codec.MsgPack)
			defer caller.Close()
			if _, ok := rawRPC(b, ctx, caller, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
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
		})
	}
}

// BenchmarkHandshake measures connect + HELLO … WELCOME + close per
// operation for each auth method, over loopback RawSocket.
func BenchmarkHandshake(b *testing.B) {
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	hash, _ := auth.HashPassword("pw")
	methods := map[string]auth.MethodConfig{
		"anonymous":       {Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}},
		"ticket-static":   {Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "backend"}}}},
		"ticket-argon2id": {Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: hash, Role: "backend"}}}},
		"ticket-dynamic":  {Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}},
		"wampcra":         {Method: "wampcra", Type: "static", WAMPCRA: auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{"joe": {Secret: "pw", Role: "backend"}}}},
		"cryptosign":      {Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{"joe": {AuthorizedKeys: []string{hex.EncodeToString(pub)}, Role: "backend"}}}},
	}
	for _, name := range []string{"anonymous", "ticket-static", "ticket-argon2id", "ticket-dynamic", "wampcra", "cryptosign"} {
		m := methods[name]
		b.Run(name, func(b *testing.B) {
			srv := routertest.Start(b, func(o *router.Options) {
				o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
					{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
				}}}
				// b.N logins as joe from one address: admission would refuse them.
				o.HelloRatePerIP, o.HelloRatePerAuthID = router.Rate{PerSecond: -1}, router.Rate{PerSecond: -1}
			})
			front := srv.Serve(b, "tcp", rawTransport(m))
			if m.Type == "dynamic" {
				backdoor := srv.Serve(b, "unix", anonymousTransport("backend"))
				backend := dialConn(b, backdoor, codec.MsgPack)
				defer backend.Close()
				rawRPC(b, ctx, backend, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
				reg := rawRPC(b, ctx, backend, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.example.authenticate"}).(*wamp.Registered).Registration
				go serveBackend(backend, reg, "backend")
			}
			details := wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{m.Method}, "authid": "joe"}
			if m.Method == "cryptosign" {
				details["authextra"] = wamp.Dict{"pubkey": hex.EncodeToString(pub)}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tc := dialConn(b, front, codec.MsgPack)
				reply := rawRPC(b, ctx, tc, &wamp.Hello{Realm: "realm1", Details: details})
				if ch, ok := reply.(*wamp.Challenge); ok {
					var sig string
					switch m.Method {
					case "ticket":
						sig = "pw"
					case "wampcra":
						challenge, _ := wamp.OptString(ch.Extra, "challenge")
						sig = auth.SignWAMPCRA([]byte("pw"), challenge)
					case "cryptosign":
						challenge, _ := wamp.OptString(ch.Extra, "challenge")
						sig, _ = auth.SignCryptosign(priv, challenge, nil)
					}
					reply = rawRPC(b, ctx, tc, &wamp.Authenticate{Signature: sig, Extra: wamp.Dict{}})
				}
				if _, ok := reply.(*wamp.Welcome); !ok {
					b.Fatalf("%s: got %v %+v", name, reply.MessageType(), reply)
				}
				tc.Close()
			}
		})
	}
}
