package auth_test

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// FuzzWAMPCRAAuthenticate feeds arbitrary signatures to WAMP-CRA pendings
// of a known and an unknown user: no panic, never accepted (the challenge
// has a fresh random nonce, so no input can be right).
func FuzzWAMPCRAAuthenticate(f *testing.F) {
	a := newCRA(f)
	for _, s := range []string{"", craUnsalted, craSalted, "====", strings.Repeat("A", 44), "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sig string) {
		for _, authid := range []string{"peter", "salty", "ghost"} {
			_, _, p, err := a.Hello(context.Background(), &auth.Request{Realm: "r", AuthID: authid, Session: 1})
			if err != nil {
				t.Fatal(err)
			}
			if id, err := p.Authenticate(context.Background(), &wamp.Authenticate{Signature: sig}); err == nil {
				t.Fatalf("signature %q accepted for %s: %+v", sig, authid, id)
			}
		}
	})
}

// FuzzCryptosignAuthenticate feeds arbitrary bytes, raw and hex-encoded
// (so the 96-byte path is reached), to cryptosign pendings.
func FuzzCryptosignAuthenticate(f *testing.F) {
	_, pub := cryptosignKey(f, 1)
	a, err := auth.NewCryptosign(auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
		"alice": {AuthorizedKeys: []string{pub}, Role: "user"},
	}})
	if err != nil {
		f.Fatal(err)
	}
	sig, _ := hex.DecodeString(cryptosignVectors[0].signature)
	f.Add(sig)
	f.Add(make([]byte, 96))
	f.Add([]byte("zz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, s := range []string{string(b), hex.EncodeToString(b)} {
			for _, extra := range []wamp.Dict{{"pubkey": pub}, {"pubkey": strings.Repeat("ab", 32)}} {
				_, _, p, err := a.Hello(context.Background(), &auth.Request{Realm: "r", AuthExtra: extra})
				if err != nil {
					t.Fatal(err)
				}
				if id, err := p.Authenticate(context.Background(), &wamp.Authenticate{Signature: s}); err == nil {
					t.Fatalf("signature %q accepted: %+v", s, id)
				}
			}
		}
	})
}
