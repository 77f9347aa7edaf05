package auth_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// callerFunc is a Caller implemented by a Go func.
type callerFunc func(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

func (f callerFunc) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	return f(ctx, realm, procedure, args, kwargs)
}

// call records one authenticator call.
type call struct {
	realm, procedure wamp.URI
	args             wamp.List
	kwargs           wamp.Dict
}

// recorder answers every call with a fixed result and records the calls.
type recorder struct {
	mu     sync.Mutex
	calls  []call
	args   wamp.List
	kwargs wamp.Dict
	err    error
}

func (r *recorder) Call(_ context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call{realm, procedure, args, kwargs})
	return r.args, r.kwargs, r.err
}

func (r *recorder) last(t testing.TB) call {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) == 0 {
		t.Fatal("authenticator not called")
	}
	return r.calls[len(r.calls)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func answering(v ...any) *recorder { return &recorder{args: v} }

func newDynamic(t testing.TB, method string, cfg auth.DynamicConfig) *auth.Dynamic {
	t.Helper()
	if cfg.Authenticator == "" {
		cfg.Authenticator = "com.example.auth"
	}
	d, err := auth.NewDynamic(method, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDynamicAnswers(t *testing.T) {
	t.Parallel()
	const uri = "com.example.auth"
	malformed := func(s string) error {
		return &auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authenticator " + uri + " returned " + s}
	}
	tests := []struct {
		name        string
		caller      *recorder
		defaultRole string
		want        *auth.Identity // AuthID "" means: the random authid passed to the call
		err         error
	}{
		{"string", answering("user"), "", &auth.Identity{Realm: "realm1", AuthRole: "user"}, nil},
		{"dict-role", answering(wamp.Dict{"role": "user"}), "", &auth.Identity{Realm: "realm1", AuthRole: "user"}, nil},
		{"dict-authrole", answering(wamp.Dict{"authrole": "user"}), "", &auth.Identity{Realm: "realm1", AuthRole: "user"}, nil},
		{"dict-both-agree", answering(wamp.Dict{"role": "user", "authrole": "user"}), "", &auth.Identity{Realm: "realm1", AuthRole: "user"}, nil},
		{"overrides", answering(wamp.Dict{"role": "user", "authid": "joe", "realm": "realm2", "extra": wamp.Dict{"tier": "gold"}, "cache": true}), "",
			&auth.Identity{Realm: "realm2", AuthID: "joe", AuthRole: "user", AuthExtra: wamp.Dict{"tier": "gold"}}, nil},
		{"nulls-are-absent", answering(wamp.Dict{"role": "user", "authid": nil, "realm": nil, "extra": nil}), "", &auth.Identity{Realm: "realm1", AuthRole: "user"}, nil},
		{"kwargs", &recorder{kwargs: wamp.Dict{"role": "user"}}, "", &auth.Identity{Realm: "realm1", AuthRole: "user"}, nil},
		{"default-role", answering(wamp.Dict{"authid": "joe"}), "guest", &auth.Identity{Realm: "realm1", AuthID: "joe", AuthRole: "guest"}, nil},
		{"empty-string-default-role", answering(""), "guest", &auth.Identity{Realm: "realm1", AuthRole: "guest"}, nil},
		{"no-role", answering(wamp.Dict{}), "", nil,
			&auth.Error{Reason: wamp.ErrNoSuchRole, Message: "authenticator " + uri + " returned no role and no default-role is configured"}},
		{"number", answering(int64(5)), "", nil, malformed("number 5: want a role string or a dict")},
		{"float", answering(1.5), "", nil, malformed("float64 1.5: want a role string or a dict")},
		{"list", answering(wamp.List{"user"}), "", nil, malformed("a list of 1: want a role string or a dict")},
		{"null", answering(nil), "", nil, malformed("null: want a role string or a dict")},
		{"nothing", &recorder{}, "", nil, malformed("nothing: want a role string or a dict")},
		{"role-number", answering(wamp.Dict{"role": int64(5)}), "", nil, malformed("role number 5: must be a string")},
		{"authrole-list", answering(wamp.Dict{"authrole": wamp.List{}}), "", nil, malformed("authrole a list of 0: must be a string")},
		{"roles-disagree", answering(wamp.Dict{"role": "a", "authrole": "b"}), "", nil, malformed(`role "a" and authrole "b": they disagree`)},
		{"authid-bool", answering(wamp.Dict{"role": "u", "authid": true}), "", nil, malformed("authid bool true: must be a string")},
		{"realm-invalid", answering(wamp.Dict{"role": "u", "realm": "bad realm"}), "", nil, malformed(`realm "bad realm": not a valid URI`)},
		{"extra-string", answering(wamp.Dict{"role": "u", "extra": "x"}), "", nil, malformed(`extra string "x": must be a dict`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// realms lists realm2, so that the "overrides" answer may move there.
			d := newDynamic(t, "anonymous", auth.DynamicConfig{Caller: tt.caller, DefaultRole: tt.defaultRole, Realm: "realm1", Realms: []wamp.URI{"realm2"}})
			id, ch, p, err := d.Hello(context.Background(), &auth.Request{Realm: "realm1", AuthID: "asked", Session: 99})
			if ch != nil || p != nil {
				t.Fatal("dynamic anonymous sent a challenge")
			}
			if tt.err != nil {
				if !reflect.DeepEqual(err, tt.err) {
					t.Fatalf("error %#v, want %#v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := *tt.want
			want.AuthMethod, want.AuthProvider = "anonymous", "dynamic"
			if want.AuthID == "" {
				// Anonymous: the authenticator sees a random authid, which stays.
				want.AuthID, _ = tt.caller.last(t).args[1].(string)
				if want.AuthID == "" || want.AuthID == "asked" {
					t.Fatalf("authid passed to the authenticator %q, want a random one", want.AuthID)
				}
			}
			if !reflect.DeepEqual(id, &want) {
				t.Fatalf("identity %+v, want %+v", id, &want)
			}
		})
	}
}

func TestDynamicErrors(t *testing.T) {
	t.Parallel()
	const uri = "com.example.auth"
	block := callerFunc(func(ctx context.Context, _, _ wamp.URI, _ wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		<-ctx.Done()
		return nil, nil, &wamp.CallError{URI: wamp.ErrCanceled}
	})
	blockCtxErr := callerFunc(func(ctx context.Context, _, _ wamp.URI, _ wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		<-ctx.Done()
		return nil, nil, ctx.Err()
	})
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		caller auth.Caller
		ctx    context.Context
		want   *auth.Error
	}{
		{"app-error", &recorder{err: &wamp.CallError{URI: "com.example.invalid_ticket", Args: wamp.List{"ticket expired"}}}, nil,
			&auth.Error{Reason: "com.example.invalid_ticket", Message: "ticket expired"}},
		{"authentication-failed", &recorder{err: &wamp.CallError{URI: wamp.ErrAuthenticationFailed, Args: wamp.List{"nope"}}}, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "nope"}},
		{"error-without-message", &recorder{err: &wamp.CallError{URI: "com.example.denied", Args: wamp.List{int64(3)}}}, nil,
			&auth.Error{Reason: "com.example.denied", Message: "authentication refused"}},
		{"not-registered", &recorder{err: &wamp.CallError{URI: wamp.ErrNoSuchProcedure}}, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authenticator " + uri + " is not registered"}},
		{"timeout", block, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authenticator " + uri + " timed out after 50ms"}},
		{"timeout-ctx-error", blockCtxErr, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authenticator " + uri + " timed out after 50ms"}},
		{"go-error", &recorder{err: errors.New("session gone")}, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication failed: the authenticator failed"}},
		// An exception's text (Autobahn: runtime_error) may hold a DSN or a
		// traceback: the client gets the generic message (issue 17 #5 of the brief).
		{"runtime-error", &recorder{err: &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{"connect postgres://u:pw@db:5432 failed"}}}, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication failed: the authenticator failed"}},
		{"invalid-argument", &recorder{err: &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{"authenticate() takes 2 positional arguments"}}}, nil,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication failed: the authenticator failed"}},
		{"multi-line-message", &recorder{err: &wamp.CallError{URI: wamp.ErrNotAuthorized, Args: wamp.List{"account locked\nTraceback (most recent call last): ..."}}}, nil,
			&auth.Error{Reason: wamp.ErrNotAuthorized, Message: "account locked"}},
		{"long-message", &recorder{err: &wamp.CallError{URI: "com.example.denied", Args: wamp.List{strings.Repeat("é", 150)}}}, nil,
			&auth.Error{Reason: "com.example.denied", Message: strings.Repeat("é", 100)}},
		{"client-left", block, canceled,
			&auth.Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication abandoned: context canceled"}},
	}
	for _, tt := range tests {
		for _, method := range []string{"anonymous", "tls", "wampcra", "cryptosign", "ticket"} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				t.Parallel()
				ctx := tt.ctx
				if ctx == nil {
					ctx = context.Background()
				}
				d := newDynamic(t, method, auth.DynamicConfig{Caller: tt.caller, Timeout: 50 * time.Millisecond})
				req := &auth.Request{Realm: "realm1", AuthID: "joe"}
				var err error
				if method == "ticket" {
					_, p := challengeOf(t, d, req)
					_, err = p.Authenticate(ctx, &wamp.Authenticate{Signature: "t"})
				} else {
					_, _, _, err = d.Hello(ctx, req)
				}
				var ae *auth.Error
				if !errors.As(err, &ae) || ae.Reason != tt.want.Reason || ae.Message != tt.want.Message {
					t.Fatalf("error %#v, want %#v", err, tt.want)
				}
				if ae.Detail == "" && tt.name != "client-left" {
					t.Errorf("no detail for the log")
				}
			})
		}
	}
}

func TestDynamicCallContent(t *testing.T) {
	t.Parallel()
	state, _ := tlsStates(t, tls.VersionTLS12, nil)
	info := transport.Info{
		Kind: transport.KindWebSocket, Serializer: "json", Protocol: "wamp.2.json", Network: "tcp",
		LocalAddr: "127.0.0.1:8080", RemoteAddr: "127.0.0.1:48638", TLS: &state,
		HTTPHeaders: http.Header{"User-Agent": {"test"}, "X-Multi": {"a", "b"}},
	}
	tests := []struct {
		method    string
		realmCfg  wamp.URI
		wantRealm wamp.URI
	}{
		{"anonymous", "", "realm1"},
		{"tls", "auth-realm", "auth-realm"},
		{"wampcra", "", "realm1"},
		{"cryptosign", "auth-realm", "auth-realm"},
		{"ticket", "", "realm1"},
	}
	_, pub := cryptosignKey(t, 7)
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			t.Parallel()
			rec := answering(wamp.Dict{"role": "user", "secret": "s", "pubkey": pub})
			d := newDynamic(t, tt.method, auth.DynamicConfig{Caller: rec, Realm: tt.realmCfg})
			extra := wamp.Dict{"pubkey": pub, "x": "y"}
			req := &auth.Request{Realm: "realm1", AuthID: "joe", AuthRole: "wish", AuthExtra: extra, Session: 4711, Transport: info}
			_, ch, p, err := d.Hello(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if tt.method == "ticket" {
				if rec.count() != 0 {
					t.Fatal("dynamic ticket called the authenticator at HELLO")
				}
				if !reflect.DeepEqual(ch, &wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}}) {
					t.Fatalf("challenge %+v", ch)
				}
				if _, err := p.Authenticate(context.Background(), &wamp.Authenticate{Signature: "the-ticket"}); err != nil {
					t.Fatal(err)
				}
			}
			c := rec.last(t)
			if c.realm != tt.wantRealm || c.procedure != "com.example.auth" || c.kwargs != nil || len(c.args) != 3 {
				t.Fatalf("call %+v", c)
			}
			wantAuthID := "joe"
			if tt.method == "anonymous" {
				wantAuthID, _ = c.args[1].(string)
			}
			if c.args[0] != "realm1" || c.args[1] != wantAuthID {
				t.Fatalf("args %v", c.args[:2])
			}
			details, ok := c.args[2].(wamp.Dict)
			if !ok {
				t.Fatalf("details %T", c.args[2])
			}
			want := wamp.Dict{
				"session": int64(4711), "authmethod": tt.method, "authprovider": "dynamic", "authid": "joe", "authrole": "wish",
				"authextra": extra, "transport": auth.TransportDetails(info),
				"client": wamp.Dict{"realm": "realm1", "authid": "joe", "authrole": "wish", "authextra": extra},
			}
			if tt.method == "ticket" {
				want["ticket"] = "the-ticket"
			}
			// channel ids and expiry are recomputed; compare the stable parts.
			tr := details["transport"].(wamp.Dict)
			if tr["peer"] != "tcp4:127.0.0.1:48638" || tr["channel_type"] != "tls" || tr["channel_framing"] != "websocket" {
				t.Fatalf("transport %v", tr)
			}
			if !reflect.DeepEqual(details, want) {
				t.Fatalf("details\n got %v\nwant %v", details, want)
			}
		})
	}
}

func TestDynamicWAMPCRA(t *testing.T) {
	t.Parallel()
	const uri = "com.example.auth"
	salted := wamp.Dict{"role": "user", "secret": auth.DeriveKey("pw", "NaCl", 10, 20), "salt": "NaCl", "iterations": int64(10), "keylen": float64(20)}
	tests := []struct {
		name     string
		answer   any
		password string // what the client knows
		ok       bool
		err      string // Hello error message
	}{
		{"unsalted", wamp.Dict{"role": "user", "secret": "s3cret", "extra": wamp.Dict{"a": "b"}}, "s3cret", true, ""},
		{"unsalted-wrong", wamp.Dict{"role": "user", "secret": "s3cret"}, "other", false, ""},
		{"salted", salted, "pw", true, ""},
		{"salted-wrong", salted, "px", false, ""},
		{"unsalted-ignores-iterations", wamp.Dict{"role": "user", "secret": "s", "salt": nil, "iterations": int64(5)}, "s", true, ""},
		{"string", "user", "", false, `authenticator ` + uri + ` returned role string "user": wampcra needs a dict with secret`},
		{"no-secret", wamp.Dict{"role": "user"}, "", false, `authenticator ` + uri + ` returned no secret: wampcra needs a dict with secret`},
		{"secret-number", wamp.Dict{"role": "user", "secret": int64(1)}, "", false, `authenticator ` + uri + ` returned secret number 1: must be a string`},
		{"iterations-string", wamp.Dict{"role": "user", "secret": "s", "salt": "x", "iterations": "1000"}, "", false, `authenticator ` + uri + ` returned iterations string "1000": must be a non-negative integer`},
		{"keylen-huge", wamp.Dict{"role": "user", "secret": "s", "salt": "x", "keylen": int64(5000)}, "", false, `authenticator ` + uri + ` returned bad wampcra parameters: keylen: 5000 out of range 1..1024`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDynamic(t, "wampcra", auth.DynamicConfig{Caller: answering(tt.answer)})
			req := &auth.Request{Realm: "realm1", AuthID: "joe", Session: 77}
			if tt.err != "" {
				_, _, _, err := d.Hello(context.Background(), req)
				wantError(t, err, wamp.ErrAuthenticationFailed, tt.err)
				return
			}
			ch, p := challengeOf(t, d, req)
			text, _ := wamp.OptString(ch.Extra, "challenge")
			if f := craFields(t, text); f["authprovider"] != "dynamic" || f["authrole"] != "" || f["authid"] != "joe" {
				t.Fatalf("challenge %s", text)
			}
			key := []byte(tt.password)
			if salt, ok := wamp.OptString(ch.Extra, "salt"); ok {
				it, _ := wamp.OptInt(ch.Extra, "iterations")
				kl, _ := wamp.OptInt(ch.Extra, "keylen")
				if salt != "NaCl" || it != 10 || kl != 20 {
					t.Fatalf("salting %v", ch.Extra)
				}
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
			if id.AuthProvider != "dynamic" || id.AuthMethod != "wampcra" || id.AuthRole != "user" || id.AuthID != "joe" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}

func TestDynamicCryptosign(t *testing.T) {
	t.Parallel()
	const uri = "com.example.auth"
	k, pub := cryptosignKey(t, 5)
	other, otherPub := cryptosignKey(t, 6)
	s12, c12 := tlsStates(t, tls.VersionTLS12, nil)
	unique := sha256.Sum256(c12.TLSUnique)
	tests := []struct {
		name    string
		answer  any
		key     []byte
		binding bool
		ok      bool
		err     string
	}{
		{"ok", wamp.Dict{"role": "user", "pubkey": pub}, k, false, true, ""},
		{"ok-bound", wamp.Dict{"role": "user", "pubkey": pub}, k, true, true, ""},
		{"other-key-signs", wamp.Dict{"role": "user", "pubkey": pub}, other, false, false, ""},
		{"authenticator-names-other-key", wamp.Dict{"role": "user", "pubkey": otherPub}, k, false, false, ""},
		{"string", "user", k, false, false, `authenticator ` + uri + ` returned role string "user": cryptosign needs a dict with pubkey`},
		{"no-pubkey", wamp.Dict{"role": "user"}, k, false, false, `authenticator ` + uri + ` returned no pubkey: cryptosign needs a dict with pubkey`},
		{"bad-pubkey", wamp.Dict{"role": "user", "pubkey": "abcd"}, k, false, false, `authenticator ` + uri + ` returned pubkey: must be an Ed25519 public key as 64 hex digits, got "abcd"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := newDynamic(t, "cryptosign", auth.DynamicConfig{Caller: answering(tt.answer)})
			req := &auth.Request{Realm: "realm1", AuthID: "joe", AuthExtra: wamp.Dict{"pubkey": pub}}
			var cid []byte
			if tt.binding {
				req.AuthExtra["channel_binding"] = "tls-unique"
				req.Transport.TLS = &s12
				cid = unique[:]
			}
			if tt.err != "" {
				_, _, _, err := d.Hello(context.Background(), req)
				wantError(t, err, wamp.ErrAuthenticationFailed, tt.err)
				return
			}
			ch, p := challengeOf(t, d, req)
			if tt.binding && ch.Extra["channel_binding"] != "tls-unique" {
				t.Fatalf("challenge %v", ch.Extra)
			}
			id, err := authenticate(p, signChallenge(t, tt.key, ch, cid))
			if !tt.ok {
				wantDenied(t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := &auth.Identity{Realm: "realm1", AuthID: "joe", AuthRole: "user", AuthMethod: "cryptosign", AuthProvider: "dynamic"}
			if !reflect.DeepEqual(id, want) {
				t.Fatalf("identity %+v, want %+v", id, want)
			}
		})
	}
	t.Run("binding-checked-before-call", func(t *testing.T) {
		t.Parallel()
		rec := answering(wamp.Dict{"role": "user", "pubkey": pub})
		d := newDynamic(t, "cryptosign", auth.DynamicConfig{Caller: rec})
		_, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "r", AuthExtra: wamp.Dict{"pubkey": pub, "channel_binding": "tls-unique"}})
		wantError(t, err, wamp.ErrAuthenticationFailed, "channel binding tls-unique unavailable on this connection: not TLS")
		if rec.count() != 0 {
			t.Fatal("authenticator called although the binding was unavailable")
		}
	})
}

func TestDynamicTLS(t *testing.T) {
	t.Parallel()
	cert := selfSigned(t, "device-17")
	state, _ := tlsStates(t, tls.VersionTLS13, &cert)
	d := newDynamic(t, "tls", auth.DynamicConfig{Caller: callerFunc(func(_ context.Context, _, _ wamp.URI, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		details := args[2].(wamp.Dict)
		pc, ok := details["transport"].(wamp.Dict)["peer_cert"].(wamp.Dict)
		if !ok {
			return nil, nil, &wamp.CallError{URI: "com.example.no_cert", Args: wamp.List{"no client certificate"}}
		}
		cn := pc["subject"].(wamp.Dict)["cn"].(string)
		return wamp.List{wamp.Dict{"role": "device", "authid": cn}}, nil, nil
	})})
	id, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "iot", Transport: transport.Info{TLS: &state}})
	if err != nil {
		t.Fatal(err)
	}
	want := &auth.Identity{Realm: "iot", AuthID: "device-17", AuthRole: "device", AuthMethod: "tls", AuthProvider: "dynamic"}
	if !reflect.DeepEqual(id, want) {
		t.Fatalf("identity %+v, want %+v", id, want)
	}
	_, _, _, err = d.Hello(context.Background(), &auth.Request{Realm: "iot"})
	wantError(t, err, "com.example.no_cert", "no client certificate")

	// No authid from anywhere.
	d = newDynamic(t, "tls", auth.DynamicConfig{Caller: answering("device")})
	_, _, _, err = d.Hello(context.Background(), &auth.Request{Realm: "iot"})
	wantError(t, err, wamp.ErrNoSuchPrincipal, "authenticator com.example.auth returned no authid and the client sent none")
}

func TestDynamicRealms(t *testing.T) {
	t.Parallel()
	// With authenticator-realm, a client may ask for no realm and be placed by the answer.
	rec := answering(wamp.Dict{"role": "user", "realm": "assigned"})
	d := newDynamic(t, "anonymous", auth.DynamicConfig{Caller: rec, Realm: "auth", Realms: []wamp.URI{"assigned"}})
	id, _, _, err := d.Hello(context.Background(), &auth.Request{})
	if err != nil || id.Realm != "assigned" {
		t.Fatalf("Hello = %+v, %v", id, err)
	}
	if c := rec.last(t); c.realm != "auth" || c.args[0] != "" {
		t.Fatalf("call %+v", c)
	}
	d = newDynamic(t, "anonymous", auth.DynamicConfig{Caller: answering("user"), Realm: "auth"})
	_, _, _, err = d.Hello(context.Background(), &auth.Request{})
	wantError(t, err, wamp.ErrNoSuchRealm, "authenticator com.example.auth returned no realm and the client asked for none")
	// Without authenticator-realm, nobody is asked, not even for ticket
	// (no challenge first).
	for _, method := range []string{"anonymous", "ticket"} {
		d = newDynamic(t, method, auth.DynamicConfig{Caller: answering("user")})
		_, ch, _, err := d.Hello(context.Background(), &auth.Request{})
		if ch != nil {
			t.Fatalf("%s: challenge for a HELLO nobody can authenticate", method)
		}
		wantError(t, err, wamp.ErrNoSuchRealm, "the client asked for no realm and no authenticator-realm is configured to ask which one")
	}
}

// Issue 17 #5: the answer may place a session only in a realm the
// authenticator is trusted for.
func TestDynamicRealmTrust(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		cfg           auth.DynamicConfig
		asked, answer wamp.URI
		ok            bool
	}{
		{"own realm", auth.DynamicConfig{}, "open", "open", true},
		{"no realm in the answer", auth.DynamicConfig{}, "open", "", true},
		{"another realm", auth.DynamicConfig{}, "open", "myrealm", false},
		{"pinned: the asked realm", auth.DynamicConfig{Realm: "auth"}, "open", "", true},
		{"pinned: its own realm", auth.DynamicConfig{Realm: "auth"}, "open", "auth", true},
		{"pinned: unlisted", auth.DynamicConfig{Realm: "auth"}, "open", "myrealm", false},
		{"pinned: listed", auth.DynamicConfig{Realm: "auth", Realms: []wamp.URI{"myrealm"}}, "open", "myrealm", true},
		{"null realm: listed", auth.DynamicConfig{Realm: "auth", Realms: []wamp.URI{"myrealm"}}, "", "myrealm", true},
		{"null realm: unlisted", auth.DynamicConfig{Realm: "auth", Realms: []wamp.URI{"myrealm"}}, "", "other", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Caller = answering(wamp.Dict{"role": "admin", "realm": string(tt.answer)})
			d := newDynamic(t, "anonymous", cfg)
			id, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: tt.asked})
			if !tt.ok {
				wantError(t, err, wamp.ErrAuthenticationFailed, fmt.Sprintf("the authenticator is not trusted for realm %q", tt.answer))
				var ae *auth.Error
				if errors.As(err, &ae) && !strings.Contains(ae.Detail, "list it under the method's realms") {
					t.Errorf("detail %q", ae.Detail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.answer
			if want == "" {
				want = tt.asked
			}
			if id.Realm != want {
				t.Fatalf("realm %q, want %q", id.Realm, want)
			}
		})
	}
	// realms without authenticator-realm would trust any realm's authenticator.
	_, err := auth.NewDynamic("ticket", auth.DynamicConfig{Authenticator: "a", Caller: answering("x"), Realms: []wamp.URI{"myrealm"}})
	if err == nil || !strings.Contains(err.Error(), "realms: needs authenticator-realm") {
		t.Fatalf("err %v", err)
	}
}

func TestDynamicTicketAnsweredOnce(t *testing.T) {
	t.Parallel()
	rec := answering("user")
	d := newDynamic(t, "ticket", auth.DynamicConfig{Caller: rec})
	_, p := challengeOf(t, d, &auth.Request{Realm: "r", AuthID: "joe"})
	if _, err := authenticate(p, "t"); err != nil {
		t.Fatal(err)
	}
	_, err := authenticate(p, "t")
	wantError(t, err, wamp.ErrAuthenticationFailed, "challenge already answered")
	if rec.count() != 1 {
		t.Fatalf("%d calls, want 1", rec.count())
	}
}

func TestNewDynamicErrors(t *testing.T) {
	t.Parallel()
	_, err := auth.NewDynamic("scram", auth.DynamicConfig{Authenticator: "bad uri", Realm: "also bad", Timeout: -time.Second})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{`unknown method "scram"`, `authenticator: invalid URI "bad uri"`, `authenticator-realm: invalid URI "also bad"`, "timeout: negative (-1s)", "no Caller"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if _, err := auth.NewDynamic("ticket", auth.DynamicConfig{Caller: &recorder{}}); err == nil || !strings.Contains(err.Error(), "authenticator: empty") {
		t.Errorf("empty authenticator: %v", err)
	}
}
