package auth_test

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// BenchmarkHandshake measures one authentication at the auth layer per op:
// Hello plus Authenticate, and for wampcra and cryptosign the client's
// signing of the fresh challenge too (the router-side share is the rest).
func BenchmarkHandshake(b *testing.B) {
	ctx := context.Background()
	ticket, err := auth.NewTicket(auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "secret", Role: "user"}}})
	if err != nil {
		b.Fatal(err)
	}
	dynTicket := newDynamic(b, "ticket", auth.DynamicConfig{Caller: callerFunc(func(_ context.Context, _, _ wamp.URI, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		if d, _ := args[2].(wamp.Dict); d["ticket"] != "secret" {
			return nil, nil, &wamp.CallError{URI: wamp.ErrAuthenticationFailed}
		}
		return wamp.List{wamp.Dict{"role": "user"}}, nil, nil
	})})
	cra, err := auth.NewWAMPCRA(auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{"joe": {Secret: "secret", Role: "user"}}})
	if err != nil {
		b.Fatal(err)
	}
	key, pub := cryptosignKey(b, 1)
	cs, err := auth.NewCryptosign(auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{"joe": {AuthorizedKeys: []string{pub}, Role: "user"}}})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, a auth.Authenticator, req *auth.Request, sign func(*wamp.Challenge) string) {
		b.ReportAllocs()
		for b.Loop() {
			_, ch, p, err := a.Hello(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := p.Authenticate(ctx, &wamp.Authenticate{Signature: sign(ch)}); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("ticket-static", func(b *testing.B) {
		run(b, ticket, &auth.Request{Realm: "r", AuthID: "joe"}, func(*wamp.Challenge) string { return "secret" })
	})
	b.Run("ticket-dynamic", func(b *testing.B) {
		run(b, dynTicket, &auth.Request{Realm: "r", AuthID: "joe"}, func(*wamp.Challenge) string { return "secret" })
	})
	b.Run("wampcra", func(b *testing.B) {
		run(b, cra, &auth.Request{Realm: "r", AuthID: "joe", Session: 1}, func(ch *wamp.Challenge) string {
			s, _ := wamp.OptString(ch.Extra, "challenge")
			return auth.SignWAMPCRA([]byte("secret"), s)
		})
	})
	b.Run("cryptosign", func(b *testing.B) {
		run(b, cs, &auth.Request{Realm: "r", AuthExtra: wamp.Dict{"pubkey": pub}}, func(ch *wamp.Challenge) string {
			return signChallenge(b, key, ch, nil)
		})
	})
}
