package client

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Vectors from wamp-spec.md §15.4 and §15.5.
const (
	craChallenge    = `{"authid":"peter","authrole":"user","authmethod":"wampcra","authprovider":"static","nonce":"Cn0h8vP1n8x9qJ2w","timestamp":"2024-01-01T00:00:00.000Z","session":1234567890}`
	craUnsalted     = "xX4UitJHX8UZMkxcrJ8dgmGoKKigDdc8q8pmb3R+Tnw="
	craDerived      = "Eu7CQLfR+/Ffb+275A4s9/6H/RGKYxM4s6IMrsNKzC8="
	craSalted       = "luiJQ9DczazsOYA/xBddG57SYq6OOQBuxPZgX7CSypM="
	csSeed          = "4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510"
	csPub           = "1adfc8bfe1d35616e64dffbd900096f23b066f914c8c2ffbb66f6075b96e116d"
	csChallenge     = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	csAuthenticate  = "c2d7722f11ccafb3ea8be77a87fb7e106f6a7a647f3141973d4504208460a52d30f3d86aac2dc21334f3a21cb9cdad0be4077578cea6d6cc5ea6fc78684fcb0b00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	csChannelID     = "1fc7aa539f007f2dd1cacc85298960f7d2580bd74f02b9544f831bd336cf5c30"
	csAuthenticateB = "d0eb69e24d1c8923ad24956f26a923b64bfc164f3d9cfe257745ff1b75948d3ea56c968184f443bf21cb1ec539e4d1caf393cc08bd48ce851b7e128c4f7891021fd68860db55195a5953663ee5548e08d24929e40b57df23c71ab168fa12b2cf"
)

func TestWAMPCRAVectors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		extra wamp.Dict
		want  string
		err   string
	}{
		{"unsalted", wamp.Dict{"challenge": craChallenge}, craUnsalted, ""},
		{"salted", wamp.Dict{"challenge": craChallenge, "salt": "salt123", "iterations": int64(1000), "keylen": int64(32)}, craSalted, ""},
		{"salted defaults", wamp.Dict{"challenge": craChallenge, "salt": "salt123"}, craSalted, ""},
		{"salted json floats", wamp.Dict{"challenge": craChallenge, "salt": "salt123", "iterations": 1000.0, "keylen": 32.0}, craSalted, ""},
		{"no challenge", wamp.Dict{}, "", "without a challenge"},
		{"bad iterations", wamp.Dict{"challenge": craChallenge, "salt": "s", "iterations": "many"}, "", "invalid iterations"},
		{"bad keylen", wamp.Dict{"challenge": craChallenge, "salt": "s", "keylen": int64(-1)}, "", "invalid keylen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig, _, err := WAMPCRA("secret123").Authenticate(context.Background(), &Challenge{Method: "wampcra", Extra: tt.extra})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || sig != tt.want {
				t.Fatalf("signature = %q, %v; want %q", sig, err, tt.want)
			}
		})
	}
}

func seedKey(t *testing.T) ed25519.PrivateKey {
	seed, err := hex.DecodeString(csSeed)
	if err != nil {
		t.Fatal(err)
	}
	return ed25519.NewKeyFromSeed(seed)
}

func TestCryptosignVectors(t *testing.T) {
	t.Parallel()
	key := seedKey(t)
	if got := hex.EncodeToString(key.Public().(ed25519.PublicKey)); got != csPub {
		t.Fatalf("public key = %s, want %s", got, csPub)
	}

	a := Cryptosign(key, CryptosignOptions{})
	if got := a.HelloExtra()["pubkey"]; got != csPub {
		t.Errorf("HELLO pubkey = %v", got)
	}
	sig, _, err := a.Authenticate(context.Background(), &Challenge{Method: "cryptosign", Extra: wamp.Dict{"challenge": csChallenge}})
	if err != nil || sig != csAuthenticate {
		t.Errorf("Authenticate = %s, %v", sig, err)
	}
}

// A fixed seed and a random challenge: the signature must verify with
// ed25519.Verify and carry the challenge.
func TestCryptosignDeterministic(t *testing.T) {
	t.Parallel()
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	challenge := sha256.Sum256([]byte("challenge"))
	a := Cryptosign(key, CryptosignOptions{})
	sig1, _, err := a.Authenticate(context.Background(), &Challenge{Extra: wamp.Dict{"challenge": hex.EncodeToString(challenge[:])}})
	if err != nil {
		t.Fatal(err)
	}
	sig2, _, _ := a.Authenticate(context.Background(), &Challenge{Extra: wamp.Dict{"challenge": hex.EncodeToString(challenge[:])}})
	if sig1 != sig2 {
		t.Fatal("ed25519 signatures are deterministic; got two different ones")
	}
	raw, err := hex.DecodeString(sig1)
	if err != nil || len(raw) != 96 {
		t.Fatalf("signature is %d bytes (%v), want 96", len(raw), err)
	}
	if !ed25519.Verify(key.Public().(ed25519.PublicKey), raw[64:], raw[:64]) {
		t.Fatal("signature does not verify")
	}
	if hex.EncodeToString(raw[64:]) != hex.EncodeToString(challenge[:]) {
		t.Fatal("signed message is not the challenge")
	}
}

func TestCryptosignErrors(t *testing.T) {
	t.Parallel()
	key := seedKey(t)
	tests := []struct {
		name string
		a    Authenticator
		ch   *Challenge
		want string
	}{
		{"short challenge", Cryptosign(key, CryptosignOptions{}), &Challenge{Extra: wamp.Dict{"challenge": "abcd"}}, "32 bytes as 64 hex digits"},
		{"not hex", Cryptosign(key, CryptosignOptions{}), &Challenge{Extra: wamp.Dict{"challenge": strings.Repeat("zz", 32)}}, "32 bytes as 64 hex digits"},
		{"missing", Cryptosign(key, CryptosignOptions{}), &Challenge{Extra: wamp.Dict{}}, "without a challenge"},
		{"bad key", Cryptosign(key[:10], CryptosignOptions{}), &Challenge{Extra: wamp.Dict{"challenge": csChallenge}}, "cryptosign key has 10 bytes"},
		{"binding refused", Cryptosign(key, CryptosignOptions{ChannelBinding: ChannelBindingTLSUnique}),
			&Challenge{Extra: wamp.Dict{"challenge": csChallenge}}, "did not accept channel binding"},
		{"binding without TLS", Cryptosign(key, CryptosignOptions{ChannelBinding: ChannelBindingTLSUnique}),
			&Challenge{Extra: wamp.Dict{"challenge": csChallenge, "channel_binding": "tls-unique"}}, "not TLS"},
		{"tls-unique on TLS 1.3", Cryptosign(key, CryptosignOptions{ChannelBinding: ChannelBindingTLSUnique}),
			&Challenge{Extra: wamp.Dict{"challenge": csChallenge, "channel_binding": "tls-unique"}, TLS: &tls.ConnectionState{}}, "tls-unique unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := tt.a.Authenticate(context.Background(), tt.ch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Channel binding with a real TLS state: tls-unique from a TLS 1.2
// handshake is SHA-256 of TLSUnique, XORed into the signed message.
func TestCryptosignChannelBinding(t *testing.T) {
	t.Parallel()
	key := seedKey(t)
	cs := &tls.ConnectionState{TLSUnique: []byte("example-tls-finished-message")}
	a := Cryptosign(key, CryptosignOptions{ChannelBinding: ChannelBindingTLSUnique})
	if a.HelloExtra()["channel_binding"] != "tls-unique" {
		t.Fatal("HELLO authextra lacks channel_binding")
	}
	sig, _, err := a.Authenticate(context.Background(), &Challenge{
		Extra: wamp.Dict{"challenge": csChallenge, "channel_binding": "tls-unique"}, TLS: cs})
	if err != nil || sig != csAuthenticateB {
		t.Fatalf("signature = %s, %v; want the spec vector", sig, err)
	}
}

func TestTicketAndAnonymous(t *testing.T) {
	t.Parallel()
	sig, extra, err := Ticket("s3cret").Authenticate(context.Background(), &Challenge{Method: "ticket"})
	if err != nil || sig != "s3cret" || extra == nil {
		t.Fatalf("ticket = %q %v %v", sig, extra, err)
	}
	if _, _, err := Anonymous().Authenticate(context.Background(), &Challenge{}); err == nil {
		t.Fatal("anonymous must refuse a challenge")
	}
}
