package router_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

var serializers = []string{"json", "msgpack", "cbor"}

func TestJoinEveryTransportAndSerializer(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, kind := range transports {
		for _, ser := range serializers {
			t.Run(kind+"/"+ser, func(t *testing.T) {
				t.Parallel()
				p := dialPeer(t, srv, kind, ser)
				w := p.join()
				if !w.Session.Valid() {
					t.Fatalf("session id %d out of range", w.Session)
				}
				for key, want := range map[string]string{"authrole": "anonymous", "authmethod": "anonymous", "authprovider": "static", "realm": "realm1"} {
					if got, _ := wamp.OptString(w.Details, key); got != want {
						t.Errorf("WELCOME.Details.%s = %q, want %q", key, got, want)
					}
				}
				roles, _ := wamp.OptDict(w.Details, "roles")
				for _, role := range []string{"broker", "dealer"} {
					r, _ := wamp.OptDict(roles, role)
					f, _ := wamp.OptDict(r, "features")
					if len(f) == 0 {
						t.Errorf("WELCOME.Details.roles.%s.features empty: %v", role, roles)
					}
				}
				p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
				g := expect[*wamp.Goodbye](p)
				if g.Reason != wamp.CloseNormal { // the default, as Crossbar (TestGoodbyeReason)
					t.Errorf("GOODBYE reply reason %q", g.Reason)
				}
			})
		}
	}
}

func TestHandshakeErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cases := []struct {
		name   string
		first  wamp.Message
		reason wamp.URI
		msg    string
	}{
		{"unknown realm", &wamp.Hello{Realm: "nope", Details: wamp.Dict{"roles": clientRoles}}, wamp.ErrNoSuchRealm, `no realm "nope"`},
		{"no roles", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{}}, wamp.ErrProtocolViolation, "roles"},
		{"roles not a dict", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": "all"}}, wamp.ErrProtocolViolation, "roles"},
		{"authmethods not a list", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles, "authmethods": "ticket"}}, wamp.ErrProtocolViolation, "authmethods"},
		{"only ticket offered", &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{"ticket"}, "authid": "joe"}}, wamp.ErrNoAuthMethod, "anonymous"},
		{"call before hello", &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: "a.b"}, wamp.ErrProtocolViolation, "expected HELLO, got CALL"},
		{"goodbye before hello", &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal}, wamp.ErrProtocolViolation, "expected HELLO"},
	}
	for _, c := range cases {
		for _, kind := range []string{"ws", "tcp"} {
			t.Run(c.name+"/"+kind, func(t *testing.T) {
				t.Parallel()
				p := dialPeer(t, srv, kind, "json")
				p.send(c.first)
				a := expectAbort(p, c.reason)
				msg, _ := wamp.OptString(a.Details, "message")
				if !strings.Contains(msg, c.msg) {
					t.Errorf("ABORT message %q does not mention %q", msg, c.msg)
				}
				p.expectClosed()
			})
		}
	}
}

func TestMalformedMessagesAbort(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cases := []struct {
		name string
		ser  string
		data string
	}{
		{"not json", "json", "{{{"},
		{"not a list", "json", `{"a":1}`},
		{"empty list", "json", `[]`},
		{"unknown type", "json", `[99, 1, {}]`},
		{"wrong count", "json", `[1, "realm1"]`},
		{"wrong type", "json", `[1, 5, {}]`},
		{"garbage msgpack", "msgpack", "\xc1\xc1\xc1"},
		{"garbage cbor", "cbor", "\xff\xff"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := dialPeer(t, srv, "tcp", c.ser)
			p.sendRaw([]byte(c.data))
			expectAbort(p, wamp.ErrProtocolViolation)
			p.expectClosed()
		})
	}
	t.Run("established session", func(t *testing.T) {
		t.Parallel()
		p := dialPeer(t, srv, "ws", "json")
		p.join()
		p.sendRaw([]byte(`[48, 1, {}, 17]`))
		a := expectAbort(p, wamp.ErrProtocolViolation)
		if msg, _ := wamp.OptString(a.Details, "message"); msg == "" {
			t.Error("ABORT without a message")
		}
		p.expectClosed()
	})
}

func TestOutOfStateMessagesAbort(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cases := []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}},
		&wamp.Welcome{Session: 1, Details: wamp.Dict{}},
		&wamp.Authenticate{Signature: "x", Extra: wamp.Dict{}},
		&wamp.Result{Request: 1, Details: wamp.Dict{}},
		&wamp.Event{Subscription: 1, Publication: 1, Details: wamp.Dict{}},
		&wamp.Error{RequestType: wamp.TypeCall, Request: 1, Details: wamp.Dict{}, Error: "x.y"},
	}
	for _, m := range cases {
		t.Run(m.MessageType().String(), func(t *testing.T) {
			t.Parallel()
			p := dialPeer(t, srv, "tcp", "msgpack")
			p.join()
			p.send(m)
			expectAbort(p, wamp.ErrProtocolViolation)
			p.expectClosed()
		})
	}
}

func TestNewHelloAfterGoodbye(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialPeer(t, srv, "tcp", "cbor")
	first := p.join().Session
	p.register("com.example.proc", wamp.Dict{})
	p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](p)
	second := p.join().Session
	if first == second {
		t.Errorf("second session reused id %d", first)
	}
	// The first session's registration is gone, so registering again works.
	p.register("com.example.proc", wamp.Dict{})
}

func TestHelloTimeout(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) { o.HelloTimeout = 200 * time.Millisecond })
	p := dialPeer(t, srv, "tcp", "json")
	a := expectAbort(p, wamp.ErrProtocolViolation)
	if msg, _ := wamp.OptString(a.Details, "message"); !strings.Contains(msg, "no HELLO within") {
		t.Errorf("message %q", msg)
	}
	p.expectClosed()

	// A CHALLENGE left unanswered is a failed authentication.
	url := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}}}}))
	p = dialURL(t, url, "json")
	p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	expect[*wamp.Challenge](p)
	a = expectAbort(p, wamp.ErrAuthenticationFailed)
	if msg, _ := wamp.OptString(a.Details, "message"); !strings.Contains(msg, "did not complete within 200ms") {
		t.Errorf("message %q", msg)
	}
	p.expectClosed()
}

func TestShutdownSaysGoodbye(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	r := srv.Router()
	ps := make([]*peer, 3)
	for i := range ps {
		ps[i] = dialPeer(t, srv, "tcp", serializers[i])
		ps[i].join()
	}
	idle := dialPeer(t, srv, "tcp", "json") // no HELLO yet: just closed
	done := make(chan error, 1)
	go func() { done <- r.Shutdown(context.Background()) }()
	for _, p := range ps {
		g := expect[*wamp.Goodbye](p)
		if g.Reason != wamp.CloseSystemShutdown {
			t.Errorf("GOODBYE reason %q", g.Reason)
		}
		p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
		p.expectClosed()
	}
	idle.expectClosed()
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		o    router.Options
		want string
	}{
		{router.Options{Realms: []router.RealmOptions{{Name: "a b"}}}, "invalid realm name"},
		{router.Options{Realms: []router.RealmOptions{{Name: "r1"}, {Name: "r1"}}}, "duplicate realm"},
		{router.Options{Realms: []router.RealmOptions{{Name: "r1", URICheck: "lax"}}}, "uri_check"},
	}
	for i, c := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			_, err := router.New(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v, want error mentioning %q", err, c.want)
			}
		})
	}
}
