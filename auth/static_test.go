package auth_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestAnonymous(t *testing.T) {
	t.Parallel()
	idRE := regexp.MustCompile(`^[A-Z2-9]{4}(-[A-Z2-9]{4}){5}$`)
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		a := auth.NewAnonymous(auth.AnonymousConfig{})
		extra := wamp.Dict{"hint": "x"}
		id, ch, p, err := a.Hello(context.Background(), &auth.Request{Realm: "realm1", AuthID: "wish", AuthExtra: extra})
		if err != nil || ch != nil || p != nil || id == nil {
			t.Fatalf("Hello = %v, %v, %v, %v", id, ch, p, err)
		}
		if id.AuthRole != "anonymous" || id.AuthMethod != "anonymous" || id.AuthProvider != "static" || id.Realm != "realm1" {
			t.Fatalf("identity %+v", id)
		}
		if !idRE.MatchString(id.AuthID) {
			t.Fatalf("authid %q is not a random Crossbar-style id", id.AuthID)
		}
		if !reflect.DeepEqual(id.AuthExtra, extra) {
			t.Fatalf("authextra %v, want the client's %v echoed", id.AuthExtra, extra)
		}
		id.AuthExtra["hint"] = "changed"
		if extra["hint"] != "x" {
			t.Fatal("identity aliases the client's authextra")
		}
		id2, _, _, _ := a.Hello(context.Background(), &auth.Request{Realm: "realm1"})
		if id2.AuthID == id.AuthID {
			t.Fatal("two sessions got the same random authid")
		}
		if id2.AuthExtra != nil {
			t.Fatalf("authextra %v without client authextra, want nil", id2.AuthExtra)
		}
	})
	t.Run("fixed", func(t *testing.T) {
		t.Parallel()
		a := auth.NewAnonymous(auth.AnonymousConfig{Role: "backend", AuthID: "svc"})
		id, _, _, err := a.Hello(context.Background(), &auth.Request{Realm: "r", AuthID: "other"})
		if err != nil || id.AuthID != "svc" || id.AuthRole != "backend" {
			t.Fatalf("Hello = %+v, %v", id, err)
		}
	})
}

func TestTicketStatic(t *testing.T) {
	t.Parallel()
	argon, err := auth.HashPassword("argon-pw")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.NewTicket(auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{
		"plain":   {Ticket: "plain-pw", Role: "user"},
		"argon":   {Ticket: argon, Role: "admin"},
		"bcrypt":  {Ticket: string(bc), Role: "user"},
		"moved":   {Ticket: "m", Role: "user", Realm: "elsewhere"},
		"no-role": {Ticket: "nr"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		authid, ticket string
		role           string   // "" = Denied
		realm          wamp.URI // expected realm when admitted
	}{
		{"plain", "plain-pw", "user", "realm1"},
		{"plain", "plain-pw ", "", ""},
		{"plain", "", "", ""},
		{"argon", "argon-pw", "admin", "realm1"},
		{"argon", "argon-px", "", ""},
		{"argon", argon, "", ""}, // the hash itself is not the ticket
		{"bcrypt", "bcrypt-pw", "user", "realm1"},
		{"bcrypt", "bcrypt-pX", "", ""},
		{"moved", "m", "user", "elsewhere"},
		{"nobody", "plain-pw", "", ""},
		{"nobody", "argon-pw", "", ""}, // matches the decoy hash, still refused
		{"nobody", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.authid+"/"+tt.ticket, func(t *testing.T) {
			t.Parallel()
			extra := wamp.Dict{"k": "v"}
			ch, p := challengeOf(t, a, &auth.Request{Realm: "realm1", AuthID: tt.authid, AuthExtra: extra, Session: 7})
			if len(ch.Extra) != 0 || ch.Extra == nil {
				t.Fatalf("challenge extra %v, want {}", ch.Extra)
			}
			id, err := authenticate(p, tt.ticket)
			if tt.role == "" {
				wantDenied(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &auth.Identity{Realm: tt.realm, AuthID: tt.authid, AuthRole: tt.role, AuthMethod: "ticket", AuthProvider: "static", AuthExtra: extra}
			if !reflect.DeepEqual(id, want) {
				t.Fatalf("identity %+v, want %+v", id, want)
			}
		})
	}
	t.Run("no-role", func(t *testing.T) {
		t.Parallel()
		_, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "no-role"})
		_, err := authenticate(p, "nr")
		wantError(t, err, wamp.ErrNoSuchRole, `principal "no-role" has no role`)
	})
	t.Run("no-authid", func(t *testing.T) {
		t.Parallel()
		_, _, _, err := a.Hello(context.Background(), &auth.Request{Realm: "r"})
		wantError(t, err, wamp.ErrAuthenticationFailed, "ticket authentication needs an authid in HELLO")
	})
	t.Run("answered-twice", func(t *testing.T) {
		t.Parallel()
		_, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "plain"})
		wantDenied(t, func() error { _, err := authenticate(p, "wrong"); return err }())
		_, err := authenticate(p, "plain-pw")
		wantError(t, err, wamp.ErrAuthenticationFailed, "challenge already answered")
	})
}

func TestTicketConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := auth.NewTicket(auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{
		"a": {Ticket: ""},
		"b": {Ticket: "$argon2id$v=19$m=65536,t=3,p=2$bad"},
		"c": {Ticket: "$2b$10$short"},
		"":  {Ticket: "x"},
		"d": {Ticket: "fine"},
	}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`principals[""]: empty authid`,
		`principals["a"].ticket: empty`,
		`principals["b"].ticket: auth: malformed password hash: argon2id:`,
		`principals["c"].ticket: auth: malformed password hash: bcrypt:`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), `"d"`) {
		t.Errorf("error %q mentions the good principal", err)
	}
}

func newCRA(t testing.TB) *auth.WAMPCRA {
	t.Helper()
	a, err := auth.NewWAMPCRA(auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{
		"peter":  {Secret: craSecret, Role: "user"},
		"salty":  {Secret: auth.DeriveKey("pw", "salt123", 100, 16), Salt: "salt123", Iterations: 100, KeyLen: 16, Role: "user"},
		"salty2": {Secret: auth.DeriveKey("pw2", "s2", 100, 16), Salt: "s2", Iterations: 100, KeyLen: 16, Role: "admin"},
		"deflt":  {Secret: craDerived, Salt: "salt123", Role: "user"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// craFields decodes a challenge string, checking it is compact JSON with
// the spec's fields in the spec's order.
func craFields(t testing.TB, s string) map[string]any {
	t.Helper()
	re := regexp.MustCompile(`^\{"authid":"[^"]*","authrole":"[^"]*","authmethod":"wampcra","authprovider":"(static|dynamic)","nonce":"[A-Za-z0-9+/]{64}","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","session":\d+\}$`)
	if !re.MatchString(s) {
		t.Fatalf("challenge %s does not have the spec's shape", s)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestWAMPCRAStatic(t *testing.T) {
	t.Parallel()
	a := newCRA(t)
	tests := []struct {
		name, authid, password string
		ok                     bool
	}{
		{"unsalted", "peter", craSecret, true},
		{"unsalted-wrong", "peter", "secret124", false},
		{"salted", "salty", "pw", true},
		{"salted-wrong", "salty", "px", false},
		{"salted-defaults", "deflt", craSecret, true},
		{"unknown", "nobody", "pw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch, p := challengeOf(t, a, &auth.Request{Realm: "realm1", AuthID: tt.authid, Session: 1234567890})
			text, _ := wamp.OptString(ch.Extra, "challenge")
			f := craFields(t, text)
			if f["authid"] != tt.authid || f["session"] != float64(1234567890) || f["authprovider"] != "static" {
				t.Fatalf("challenge fields %v", f)
			}
			key := []byte(tt.password)
			if salt, ok := wamp.OptString(ch.Extra, "salt"); ok {
				it, _ := wamp.OptInt(ch.Extra, "iterations")
				kl, _ := wamp.OptInt(ch.Extra, "keylen")
				key = []byte(auth.DeriveKey(tt.password, salt, int(it), int(kl)))
			}
			id, err := authenticate(p, auth.SignWAMPCRA(key, text))
			if !tt.ok {
				wantDenied(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &auth.Identity{Realm: "realm1", AuthID: tt.authid, AuthRole: "user", AuthMethod: "wampcra", AuthProvider: "static"}
			if !reflect.DeepEqual(id, want) {
				t.Fatalf("identity %+v, want %+v", id, want)
			}
		})
	}
	t.Run("extra", func(t *testing.T) {
		t.Parallel()
		ch, _ := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "peter"})
		if len(ch.Extra) != 1 {
			t.Fatalf("unsalted challenge extra %v, want only challenge", ch.Extra)
		}
		ch, _ = challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "salty"})
		want := wamp.Dict{"challenge": ch.Extra["challenge"], "salt": "salt123", "iterations": int64(100), "keylen": int64(16)}
		if !reflect.DeepEqual(ch.Extra, want) {
			t.Fatalf("salted challenge extra %v, want %v", ch.Extra, want)
		}
		ch, _ = challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "deflt"})
		if ch.Extra["iterations"] != int64(1000) || ch.Extra["keylen"] != int64(32) {
			t.Fatalf("default salting parameters %v", ch.Extra)
		}
	})
	t.Run("unknown-looks-real", func(t *testing.T) {
		t.Parallel()
		ch1, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "ghost"})
		ch2, _ := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "ghost"})
		other, _ := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "ghost2"})
		salt, _ := wamp.OptString(ch1.Extra, "salt")
		if salt == "" || salt != ch2.Extra["salt"] || salt != a.FakeSalt("ghost") || salt == other.Extra["salt"] {
			t.Fatalf("fake salts %v, %v, %v: want deterministic per authid", ch1.Extra["salt"], ch2.Extra["salt"], other.Extra["salt"])
		}
		// Most users are salted with 100 iterations and 16 bytes.
		if ch1.Extra["iterations"] != int64(100) || ch1.Extra["keylen"] != int64(16) {
			t.Fatalf("fake salting parameters %v", ch1.Extra)
		}
		text, _ := wamp.OptString(ch1.Extra, "challenge")
		if f := craFields(t, text); f["authrole"] != "" {
			t.Fatalf("fake challenge role %v, want none", f["authrole"])
		}
		_, errUnknown := authenticate(p, "AAAA")
		_, p2 := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "peter"})
		_, errWrong := authenticate(p2, auth.SignWAMPCRA([]byte("nope"), text))
		if !reflect.DeepEqual(errUnknown, errWrong) {
			t.Fatalf("unknown user error %#v differs from wrong secret error %#v", errUnknown, errWrong)
		}
		wantDenied(t, errUnknown)
	})
	t.Run("unknown-unsalted-config", func(t *testing.T) {
		t.Parallel()
		b, err := auth.NewWAMPCRA(auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{"u": {Secret: "s", Role: "r"}}})
		if err != nil {
			t.Fatal(err)
		}
		known, _ := challengeOf(t, b, &auth.Request{Realm: "r", AuthID: "u"})
		ch, _ := challengeOf(t, b, &auth.Request{Realm: "r", AuthID: "ghost"})
		if _, salted := ch.Extra["salt"]; salted {
			t.Fatalf("fake challenge %v is salted while no user is", ch.Extra)
		}
		sameCRAShape(t, known, ch)
	})
	t.Run("bad-signatures", func(t *testing.T) {
		t.Parallel()
		for _, sig := range []string{"", "!!!", "xX4UitJHX8UZMkxcrJ8dgmGoKKigDdc8q8pmb3R+Tnw", strings.Repeat("A", 10000)} {
			_, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "peter"})
			_, err := authenticate(p, sig)
			wantDenied(t, err)
		}
	})
	t.Run("no-authid", func(t *testing.T) {
		t.Parallel()
		_, _, _, err := a.Hello(context.Background(), &auth.Request{Realm: "r"})
		wantError(t, err, wamp.ErrAuthenticationFailed, "wampcra authentication needs an authid in HELLO")
	})
}

func TestWAMPCRAConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := auth.NewWAMPCRA(auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{
		"a": {Secret: ""},
		"b": {Secret: "s", Iterations: 10},
		"c": {Secret: "s", Salt: "x", Iterations: -1},
		"d": {Secret: "s", Salt: "x", KeyLen: 5000},
	}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`users["a"].secret: empty`,
		`users["b"].salt: iterations and keylen need a salt`,
		`users["c"].iterations: -1 out of range`,
		`users["d"].keylen: 5000 out of range`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// cryptosignKey is a fixed test key pair.
func cryptosignKey(t testing.TB, seed byte) (ed25519.PrivateKey, string) {
	t.Helper()
	s := make([]byte, 32)
	for i := range s {
		s[i] = seed
	}
	k := ed25519.NewKeyFromSeed(s)
	return k, hex.EncodeToString(k.Public().(ed25519.PublicKey))
}

func signChallenge(t testing.TB, k ed25519.PrivateKey, ch *wamp.Challenge, cid []byte) string {
	t.Helper()
	c, _ := wamp.OptString(ch.Extra, "challenge")
	sig, err := auth.SignCryptosign(k, c, cid)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func TestCryptosignStatic(t *testing.T) {
	t.Parallel()
	alice, alicePub := cryptosignKey(t, 1)
	alice2, alice2Pub := cryptosignKey(t, 2)
	bob, bobPub := cryptosignKey(t, 3)
	stranger, strangerPub := cryptosignKey(t, 4)
	a, err := auth.NewCryptosign(auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
		"alice": {AuthorizedKeys: []string{alicePub, strings.ToUpper(alice2Pub)}, Role: "user"},
		"bob":   {AuthorizedKeys: []string{bobPub}, Role: "admin", Realm: "bobs"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		authid string
		pub    string
		key    ed25519.PrivateKey
		want   *auth.Identity // nil = Denied
	}{
		{"alice", "alice", alicePub, alice, &auth.Identity{Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthMethod: "cryptosign", AuthProvider: "static"}},
		{"alice-2nd-key", "alice", alice2Pub, alice2, &auth.Identity{Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthMethod: "cryptosign", AuthProvider: "static"}},
		{"inferred", "", alicePub, alice, &auth.Identity{Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthMethod: "cryptosign", AuthProvider: "static"}},
		{"realm-override", "", bobPub, bob, &auth.Identity{Realm: "bobs", AuthID: "bob", AuthRole: "admin", AuthMethod: "cryptosign", AuthProvider: "static"}},
		{"other-principals-key", "alice", bobPub, bob, nil},
		{"unknown-key", "", strangerPub, stranger, nil},
		{"unknown-authid", "carol", alicePub, alice, nil},
		{"wrong-private-key", "alice", alicePub, stranger, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ch, p := challengeOf(t, a, &auth.Request{Realm: "realm1", AuthID: tt.authid, AuthExtra: wamp.Dict{"pubkey": tt.pub}})
			if c, _ := wamp.OptString(ch.Extra, "challenge"); len(c) != 64 {
				t.Fatalf("challenge %q is not 64 hex digits", c)
			}
			if v, ok := ch.Extra["channel_binding"]; !ok || v != nil {
				t.Fatalf("channel_binding %v, want null", ch.Extra)
			}
			id, err := authenticate(p, signChallenge(t, tt.key, ch, nil))
			if tt.want == nil {
				wantDenied(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(id, tt.want) {
				t.Fatalf("identity %+v, want %+v", id, tt.want)
			}
		})
	}
	t.Run("wrong-message", func(t *testing.T) {
		t.Parallel()
		_, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthExtra: wamp.Dict{"pubkey": alicePub}})
		sig, _ := auth.SignCryptosign(alice, strings.Repeat("00", 32), nil)
		_, err := authenticate(p, sig)
		wantDenied(t, err)
	})
	t.Run("malformed-signature", func(t *testing.T) {
		t.Parallel()
		for _, sig := range []string{"", "zz", strings.Repeat("00", 95), strings.Repeat("00", 97)} {
			_, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthExtra: wamp.Dict{"pubkey": alicePub}})
			_, err := authenticate(p, sig)
			wantError(t, err, wamp.ErrAuthenticationFailed, "cryptosign signature must be 192 hex digits (64-byte signature then the 32-byte message)")
		}
	})
	t.Run("pubkey-errors", func(t *testing.T) {
		t.Parallel()
		for msg, extra := range map[string]wamp.Dict{
			"cryptosign authentication needs authextra.pubkey: an Ed25519 public key as 64 hex digits": nil,
			"authextra.pubkey must be a string of 64 hex digits, got number 5":                         {"pubkey": 5},
			`authextra.pubkey must be an Ed25519 public key as 64 hex digits, got "abc"`:               {"pubkey": "abc"},
		} {
			_, _, _, err := a.Hello(context.Background(), &auth.Request{Realm: "r", AuthExtra: extra})
			wantError(t, err, wamp.ErrAuthenticationFailed, msg)
		}
	})
}

func TestCryptosignChannelBinding(t *testing.T) {
	t.Parallel()
	k, pub := cryptosignKey(t, 9)
	a, err := auth.NewCryptosign(auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
		"k": {AuthorizedKeys: []string{pub}, Role: "user"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s12, c12 := tlsStates(t, tls.VersionTLS12, nil)
	s13, c13 := tlsStates(t, tls.VersionTLS13, nil)
	if len(c12.TLSUnique) == 0 || c13.Version != tls.VersionTLS13 {
		t.Fatalf("test TLS states: 1.2 unique %x, 1.3 version %x", c12.TLSUnique, c13.Version)
	}
	unique := sha256.Sum256(c12.TLSUnique)
	exporter, err := c13.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
	if err != nil {
		t.Fatal(err)
	}
	ok := []struct {
		name    string
		state   *tls.ConnectionState
		binding string
		cid     []byte
	}{
		{"tls-unique/1.2", &s12, "tls-unique", unique[:]},
		{"tls-exporter/1.3", &s13, "tls-exporter", exporter},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := &auth.Request{Realm: "r", AuthExtra: wamp.Dict{"pubkey": pub, "channel_binding": tt.binding}, Transport: transport.Info{TLS: tt.state}}
			ch, p := challengeOf(t, a, req)
			if ch.Extra["channel_binding"] != tt.binding {
				t.Fatalf("challenge channel_binding %v, want %s", ch.Extra["channel_binding"], tt.binding)
			}
			if _, err := authenticate(p, signChallenge(t, k, ch, tt.cid)); err != nil {
				t.Fatalf("bound signature refused: %v", err)
			}
			// Signing without the channel id (or from another connection) fails.
			ch, p = challengeOf(t, a, req)
			_, err := authenticate(p, signChallenge(t, k, ch, nil))
			wantDenied(t, err)
		})
	}
	refused := []struct {
		name    string
		state   *tls.ConnectionState
		binding any
		msg     string
	}{
		{"tls-unique/1.3", &s13, "tls-unique", "channel binding tls-unique unavailable on this connection: TLS 1.3 has no tls-unique, use tls-exporter"},
		{"tls-unique/plain", nil, "tls-unique", "channel binding tls-unique unavailable on this connection: not TLS"},
		{"tls-exporter/plain", nil, "tls-exporter", "channel binding tls-exporter unavailable on this connection: not TLS"},
		{"tls-exporter/handmade", &tls.ConnectionState{Version: tls.VersionTLS13}, "tls-exporter", "channel binding tls-exporter unavailable on this connection: the TLS state has no keying material exporter"},
		{"unknown-type", &s12, "tls-server-end-point", `unsupported channel binding "tls-server-end-point" (supported: tls-unique, tls-exporter)`},
		{"not-a-string", &s12, true, "authextra.channel_binding must be a string or null, got bool true"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, _, err := a.Hello(context.Background(), &auth.Request{Realm: "r",
				AuthExtra: wamp.Dict{"pubkey": pub, "channel_binding": tt.binding}, Transport: transport.Info{TLS: tt.state}})
			wantError(t, err, wamp.ErrAuthenticationFailed, tt.msg)
		})
	}
}

func TestCryptosignConfigErrors(t *testing.T) {
	t.Parallel()
	_, pub := cryptosignKey(t, 1)
	_, err := auth.NewCryptosign(auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
		"a": {AuthorizedKeys: []string{"abc"}},
		"b": {},
		"c": {AuthorizedKeys: []string{pub}},
		"d": {AuthorizedKeys: []string{pub}},
	}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`principals["a"].authorized_keys[0]: must be an Ed25519 public key as 64 hex digits, got "abc"`,
		`principals["b"].authorized_keys: empty`,
		`principals["d"].authorized_keys[0]: key is also authorized for "c": a key must identify one principal`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestTLSStatic(t *testing.T) {
	t.Parallel()
	certA := selfSigned(t, "alice")
	certB := selfSigned(t, "bob")
	certX := selfSigned(t, "stranger")
	sum1 := sha1.Sum(certA.Certificate[0])
	sum256 := sha256.Sum256(certB.Certificate[0])
	// SHA-1 written lower case with colons, SHA-256 upper case without.
	colons := strings.ToLower(strings.Join(splitPairs(hex.EncodeToString(sum1[:])), ":"))
	a, err := auth.NewTLS(auth.TLSConfig{Principals: map[string]auth.TLSPrincipal{
		"alice": {CertificateSHA1: colons, Role: "user"},
		"bob":   {CertificateSHA256: strings.ToUpper(hex.EncodeToString(sum256[:])), Role: "admin"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sA, _ := tlsStates(t, tls.VersionTLS13, &certA)
	sB, _ := tlsStates(t, tls.VersionTLS12, &certB)
	sX, _ := tlsStates(t, tls.VersionTLS13, &certX)
	sNone, _ := tlsStates(t, tls.VersionTLS13, nil)
	tests := []struct {
		name   string
		state  *tls.ConnectionState
		authid string
		want   *auth.Identity
	}{
		{"sha1", &sA, "", &auth.Identity{Realm: "r", AuthID: "alice", AuthRole: "user", AuthMethod: "tls", AuthProvider: "static"}},
		{"sha1-authid", &sA, "alice", &auth.Identity{Realm: "r", AuthID: "alice", AuthRole: "user", AuthMethod: "tls", AuthProvider: "static"}},
		{"sha256", &sB, "", &auth.Identity{Realm: "r", AuthID: "bob", AuthRole: "admin", AuthMethod: "tls", AuthProvider: "static"}},
		{"authid-mismatch", &sA, "bob", nil},
		{"unknown-cert", &sX, "", nil},
		{"no-cert", &sNone, "", nil},
		{"no-tls", nil, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, ch, p, err := a.Hello(context.Background(), &auth.Request{Realm: "r", AuthID: tt.authid, Transport: transport.Info{TLS: tt.state}})
			if ch != nil || p != nil {
				t.Fatal("tls sent a challenge")
			}
			if tt.want == nil {
				wantDenied(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(id, tt.want) {
				t.Fatalf("identity %+v, want %+v", id, tt.want)
			}
		})
	}
}

func splitPairs(s string) []string {
	var out []string
	for i := 0; i < len(s); i += 2 {
		out = append(out, s[i:i+2])
	}
	return out
}

func TestTLSConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := auth.NewTLS(auth.TLSConfig{Principals: map[string]auth.TLSPrincipal{
		"a": {},
		"b": {CertificateSHA1: "AB:CD"},
		"c": {CertificateSHA1: strings.Repeat("ab", 20), CertificateSHA256: strings.Repeat("ab", 32)},
		"d": {CertificateSHA256: strings.Repeat("ab", 32)},
		"e": {CertificateSHA256: strings.Repeat("AB", 32)},
	}})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`principals["a"]: needs certificate-sha1 or certificate-sha256`,
		`principals["b"].certificate-sha1: must be 20 bytes as hex (colons optional), got "AB:CD"`,
		`principals["c"]: give certificate-sha1 or certificate-sha256, not both`,
		`principals["e"].certificate-sha256: also the certificate of "d"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

// sameCRAShape fails unless two wampcra CHALLENGEs look alike: the same
// extra keys, the same salting parameters, a salt of the same length and
// alphabet, and challenge strings with the same fields and role.
func sameCRAShape(t *testing.T, a, b *wamp.Challenge) {
	t.Helper()
	if !reflect.DeepEqual(slices.Sorted(maps.Keys(a.Extra)), slices.Sorted(maps.Keys(b.Extra))) {
		t.Fatalf("extra keys differ: %v vs %v", a.Extra, b.Extra)
	}
	for _, k := range []string{"iterations", "keylen"} {
		if a.Extra[k] != b.Extra[k] {
			t.Fatalf("%s differs: %v vs %v", k, a.Extra[k], b.Extra[k])
		}
	}
	sa, _ := wamp.OptString(a.Extra, "salt")
	sb, _ := wamp.OptString(b.Extra, "salt")
	if len(sa) != len(sb) || saltClass(sa) != saltClass(sb) {
		t.Fatalf("salts look different: %q vs %q", sa, sb)
	}
	ta, _ := wamp.OptString(a.Extra, "challenge")
	tb, _ := wamp.OptString(b.Extra, "challenge")
	fa, fb := craFields(t, ta), craFields(t, tb)
	if !reflect.DeepEqual(slices.Sorted(maps.Keys(fa)), slices.Sorted(maps.Keys(fb))) || fa["authrole"] != fb["authrole"] || fa["authprovider"] != fb["authprovider"] {
		t.Fatalf("challenge strings differ in shape: %s vs %s", ta, tb)
	}
}

// saltClass names the character classes a salt uses.
func saltClass(s string) string {
	var c []string
	for _, cl := range []struct{ name, chars string }{
		{"digit", "0123456789"}, {"lower", "abcdefghijklmnopqrstuvwxyz"}, {"upper", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
	} {
		if strings.ContainsAny(s, cl.chars) {
			c = append(c, cl.name)
		}
	}
	if strings.Trim(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		c = append(c, "other")
	}
	return strings.Join(c, "+")
}

// Issue 17 #8: a prober cannot tell a known authid from an unknown one by
// its CHALLENGE, and the fake salt is stable across attempts and, with a
// configured secret, across authenticator instances (restarts).
func TestWAMPCRANoEnumeration(t *testing.T) {
	t.Parallel()
	hexSalt := func(s string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(s))) }
	users := map[string]auth.WAMPCRAUser{
		"alice": {Secret: auth.DeriveKey("pa", hexSalt("a"), 5000, 32), Salt: hexSalt("a"), Iterations: 5000, KeyLen: 32, Role: "admin"},
		"bob":   {Secret: auth.DeriveKey("pb", hexSalt("b"), 5000, 32), Salt: hexSalt("b"), Iterations: 5000, KeyLen: 32, Role: "user"},
		"carol": {Secret: auth.DeriveKey("pc", hexSalt("c"), 5000, 32), Salt: hexSalt("c"), Iterations: 5000, KeyLen: 32, Role: "user"},
	}
	cfg := auth.WAMPCRAConfig{Users: users, FakeSaltSecret: "cluster-wide secret"}
	a, err := auth.NewWAMPCRA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Recognisable(); len(r) != 0 {
		t.Fatalf("Recognisable = %v with uniform salting", r)
	}
	ghost, _ := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "mallory", Session: 7})
	for id := range users {
		known, _ := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: id, Session: 7})
		sameCRAShape(t, known, ghost)
		text, _ := wamp.OptString(known.Extra, "challenge")
		if f := craFields(t, text); f["authrole"] != "" {
			t.Fatalf("challenge for %s shows role %v", id, f["authrole"])
		}
	}
	// Stable across attempts and across instances with the same secret;
	// another secret gives another salt.
	again, _ := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: "mallory"})
	b, _ := auth.NewWAMPCRA(cfg)
	fromB, _ := challengeOf(t, b, &auth.Request{Realm: "r", AuthID: "mallory"})
	cfg.FakeSaltSecret = "other"
	c, _ := auth.NewWAMPCRA(cfg)
	fromC, _ := challengeOf(t, c, &auth.Request{Realm: "r", AuthID: "mallory"})
	if ghost.Extra["salt"] != again.Extra["salt"] || ghost.Extra["salt"] != fromB.Extra["salt"] || ghost.Extra["salt"] == fromC.Extra["salt"] {
		t.Fatalf("fake salts %v, %v, %v, %v: want stable per secret", ghost.Extra["salt"], again.Extra["salt"], fromB.Extra["salt"], fromC.Extra["salt"])
	}
	// Real users still log in.
	for id, pw := range map[string]string{"alice": "pa", "bob": "pb"} {
		ch, p := challengeOf(t, a, &auth.Request{Realm: "r", AuthID: id})
		text, _ := wamp.OptString(ch.Extra, "challenge")
		key := auth.DeriveKey(pw, ch.Extra["salt"].(string), 5000, 32)
		got, err := authenticate(p, auth.SignWAMPCRA([]byte(key), text))
		if err != nil || got.AuthRole != users[id].Role {
			t.Fatalf("login %s: %+v, %v", id, got, err)
		}
	}
}

func TestWAMPCRARecognisable(t *testing.T) {
	t.Parallel()
	a := newCRA(t)
	// peter is unsalted among salted users; deflt has the default 1000/32
	// while most have 100/16; salty2's salt is shorter than the common one.
	if got, want := a.Recognisable(), []string{"deflt", "peter", "salty2"}; !slices.Equal(got, want) {
		t.Fatalf("Recognisable = %v, want %v", got, want)
	}
}

func TestFakeSaltShape(t *testing.T) {
	t.Parallel()
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	tests := []struct{ real, chars string }{
		{"9f86d081884c7d659a2feaa0c55ad015", "0123456789abcdef"},
		{"9F86D081", "0123456789ABCDEF"},
		{"salt123", alnum},
		{"c2FsdA==", alnum + "+/="},
		{"ab-_x", alnum + "-_"},
		{"a+b/c", alnum + "+/"},
		{"spa ce~", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" + alnum},
	}
	for _, tt := range tests {
		a, err := auth.NewWAMPCRA(auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{"u": {Secret: "k", Salt: tt.real, Role: "r"}}})
		if err != nil {
			t.Fatal(err)
		}
		fake := a.FakeSalt("nobody")
		if len(fake) != len(tt.real) || strings.Trim(fake, tt.chars) != "" || strings.HasSuffix(tt.real, "==") != strings.HasSuffix(fake, "==") {
			t.Errorf("fake salt %q for real %q: want the same length, alphabet %q and padding", fake, tt.real, tt.chars)
		}
	}
}
