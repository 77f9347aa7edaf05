package client_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	cws "github.com/coder/websocket"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// fakeRouter is a scripted WAMP peer over a real WebSocket: it speaks
// raw JSON WAMP messages, one step at a time, to check what the client
// sends during authentication.
type fakeRouter struct {
	t  *testing.T
	c  *cws.Conn
	cd codec.Codec
}

func startFake(t *testing.T, script func(f *fakeRouter)) string {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		c, err := cws.Accept(w, r, &cws.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
		if err != nil {
			t.Errorf("fake: accept: %v", err)
			return
		}
		defer c.CloseNow()
		script(&fakeRouter{t: t, c: c, cd: codec.JSON})
	}))
	t.Cleanup(func() { srv.Close(); <-done })
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws"
}

func (f *fakeRouter) read() wamp.Message {
	_, data, err := f.c.Read(context.Background())
	if err != nil {
		f.t.Errorf("fake: read: %v", err)
		return nil
	}
	m, err := f.cd.Decode(data)
	if err != nil {
		f.t.Errorf("fake: decode %s: %v", data, err)
	}
	return m
}

func (f *fakeRouter) write(m wamp.Message) {
	b, err := f.cd.Encode(nil, m)
	if err != nil {
		f.t.Errorf("fake: encode: %v", err)
		return
	}
	if err := f.c.Write(context.Background(), cws.MessageText, b); err != nil {
		f.t.Errorf("fake: write: %v", err)
	}
}

// welcomeNoFeatures answers with a WELCOME announcing roles without any
// advanced feature, then serves GOODBYE.
func (f *fakeRouter) welcomeNoFeatures(authid, method string) {
	f.write(&wamp.Welcome{Session: 77, Details: wamp.Dict{
		"roles":  wamp.Dict{"broker": wamp.Dict{}, "dealer": wamp.Dict{}},
		"authid": authid, "authrole": "user", "authmethod": method, "authprovider": "static",
		"authextra": wamp.Dict{"k": "v"},
	}})
	m := f.read()
	if _, ok := m.(*wamp.Goodbye); !ok {
		f.t.Errorf("fake: after WELCOME got %T, want only GOODBYE (nothing else may be sent)", m)
		return
	}
	f.write(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
}

func TestAuthExchange(t *testing.T) {
	t.Parallel()
	const challenge = `{"authid":"peter","authrole":"user","authmethod":"wampcra","authprovider":"static","nonce":"Cn0h8vP1n8x9qJ2w","timestamp":"2024-01-01T00:00:00.000Z","session":1234567890}`
	seed, _ := hex.DecodeString("4d57d97a68f555696620a6d849c0ce582568518d729eb753dc7c732de2804510")
	key := ed25519.NewKeyFromSeed(seed)

	tests := []struct {
		name    string
		cfg     client.Config
		methods string
		extra   wamp.Dict // CHALLENGE.Extra
		check   func(t *testing.T, hello *wamp.Hello, auth *wamp.Authenticate)
	}{
		{"wampcra salted", client.Config{AuthID: "peter", Auth: []client.Authenticator{client.WAMPCRA("secret123")}}, "[wampcra]",
			wamp.Dict{"challenge": challenge, "salt": "salt123", "iterations": int64(1000), "keylen": int64(32)},
			func(t *testing.T, h *wamp.Hello, a *wamp.Authenticate) {
				if h.Details["authid"] != "peter" || a.Signature != "luiJQ9DczazsOYA/xBddG57SYq6OOQBuxPZgX7CSypM=" {
					t.Errorf("authid %v, signature %s", h.Details["authid"], a.Signature)
				}
			}},
		{"ticket after anonymous", client.Config{AuthID: "joe", Auth: []client.Authenticator{client.Anonymous(), client.Ticket("t0k3n")}}, "[anonymous ticket]",
			wamp.Dict{}, func(t *testing.T, h *wamp.Hello, a *wamp.Authenticate) {
				if a.Signature != "t0k3n" {
					t.Errorf("ticket = %q", a.Signature)
				}
			}},
		{"cryptosign", client.Config{Auth: []client.Authenticator{client.Cryptosign(key, client.CryptosignOptions{})}}, "[cryptosign]",
			wamp.Dict{"challenge": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"},
			func(t *testing.T, h *wamp.Hello, a *wamp.Authenticate) {
				ae, _ := wamp.OptDict(h.Details, "authextra")
				pub, _ := hex.DecodeString(ae["pubkey"].(string))
				raw, _ := hex.DecodeString(a.Signature)
				if len(raw) != 96 || !ed25519.Verify(ed25519.PublicKey(pub), raw[64:], raw[:64]) {
					t.Errorf("cryptosign signature does not verify with the HELLO pubkey")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := strings.Fields(strings.Trim(tt.methods, "[]"))
			url := startFake(t, func(f *fakeRouter) {
				hello, ok := f.read().(*wamp.Hello)
				if !ok {
					t.Error("first message is not HELLO")
					return
				}
				if got, _ := wamp.OptStrings(hello.Details, "authmethods"); strings.Join(got, " ") != strings.Join(method, " ") {
					t.Errorf("authmethods = %v, want %v", got, method)
				}
				roles, _ := wamp.OptDict(hello.Details, "roles")
				if _, ok := roles["callee"]; !ok || hello.Realm != "realm1" {
					t.Errorf("HELLO = %+v", hello)
				}
				chosen := method[len(method)-1]
				f.write(&wamp.Challenge{AuthMethod: chosen, Extra: tt.extra})
				auth, ok := f.read().(*wamp.Authenticate)
				if !ok {
					t.Error("no AUTHENTICATE")
					return
				}
				tt.check(t, hello, auth)
				f.welcomeNoFeatures("peter", chosen)
			})
			cfg := tt.cfg
			cfg.Realm = "realm1"
			ctx := testCtx(t)
			s, err := client.Dial(ctx, url, cfg)
			if err != nil {
				t.Fatal(err)
			}
			info := s.Info()
			if info.ID != 77 || info.AuthID != "peter" || info.AuthRole != "user" || info.AuthProvider != "static" || info.AuthExtra["k"] != "v" {
				t.Errorf("info = %+v", info)
			}
			// Features the router did not announce fail locally; the fake
			// checks nothing but GOODBYE arrives.
			_, err = s.Call(ctx, "com.x", nil, nil, client.CancelMode(wamp.CancelKill))
			var fe *client.FeatureError
			if !errors.As(err, &fe) || err.Error() != "client: router does not support call_canceling" {
				t.Errorf("Call = %v", err)
			}
			if _, err := s.Register(ctx, "com.x.", func() {}, client.Match("prefix")); !errors.Is(err, client.ErrUnsupported) {
				t.Errorf("Register prefix = %v", err)
			}
			if err := s.Publish(ctx, "com.x", nil, nil, client.ExcludeAuthRole("a")); !errors.Is(err, client.ErrUnsupported) {
				t.Errorf("Publish exclude = %v", err)
			}
			if err := s.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}

func TestAuthFailures(t *testing.T) {
	t.Parallel()
	t.Run("abort", func(t *testing.T) {
		t.Parallel()
		url := startFake(t, func(f *fakeRouter) {
			f.read()
			f.write(&wamp.Challenge{AuthMethod: "ticket", Extra: wamp.Dict{}})
			f.read()
			f.write(&wamp.Abort{Details: wamp.Dict{"message": "bad ticket"}, Reason: wamp.ErrAuthenticationFailed})
		})
		_, err := client.Dial(testCtx(t), url, client.Config{Realm: "realm1", AuthID: "joe", Auth: []client.Authenticator{client.Ticket("x")}})
		var ae *client.AbortError
		if !errors.As(err, &ae) || ae.Reason != wamp.ErrAuthenticationFailed || ae.Message != "bad ticket" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unoffered method", func(t *testing.T) {
		t.Parallel()
		url := startFake(t, func(f *fakeRouter) {
			f.read()
			f.write(&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{"challenge": "x"}})
			if m, ok := f.read().(*wamp.Abort); !ok || m.Reason != wamp.ErrProtocolViolation {
				t.Errorf("client answered %v, want ABORT protocol_violation", m)
			}
		})
		_, err := client.Dial(testCtx(t), url, client.Config{Realm: "realm1", Auth: []client.Authenticator{client.Ticket("x")}})
		if err == nil || !strings.Contains(err.Error(), `method "wampcra", which was not offered`) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("bad challenge", func(t *testing.T) {
		t.Parallel()
		url := startFake(t, func(f *fakeRouter) {
			f.read()
			f.write(&wamp.Challenge{AuthMethod: "wampcra", Extra: wamp.Dict{}})
			if m, ok := f.read().(*wamp.Abort); !ok || m.Reason != wamp.ErrAuthenticationFailed {
				t.Errorf("client answered %v, want ABORT authentication_failed", m)
			}
		})
		_, err := client.Dial(testCtx(t), url, client.Config{Realm: "realm1", AuthID: "a", Auth: []client.Authenticator{client.WAMPCRA("s")}})
		if err == nil || !strings.Contains(err.Error(), "without a challenge string") {
			t.Fatalf("err = %v", err)
		}
	})
}
