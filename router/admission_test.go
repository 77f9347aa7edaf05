package router_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// dialFrom opens a RawSocket connection to url from source address src
// (127.0.0.2 is another source on loopback), read by the caller.
func dialFrom(t *testing.T, src, url string) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	nc, err := d.DialContext(ctx, "tcp", hostOf(url))
	if err != nil {
		t.Skipf("cannot dial from %s: %v", src, err)
	}
	tc, err := rawsocket.Client(ctx, nc, rawsocket.DialOptions{Serializer: codec.JSON})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	return tc
}

func ticketHello(authid string) *wamp.Hello {
	return &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{"ticket"}, "authid": authid}}
}

func ticketRouter(t *testing.T, opt func(*router.Options)) (srv *routertest.Server, front string) {
	srv = routertest.Start(t, func(o *router.Options) {
		o.Realms[0].Roles = []authz.RoleConfig{{Name: "user", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}}}
		opt(o)
	})
	front = srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static",
		Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}, "ann": {Ticket: "pw", Role: "user"}}}}))
	return srv, front
}

// login runs a ticket login on tc and returns the router's last answer.
func login(t *testing.T, tc transport.Conn, authid string) wamp.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := rawRPC(t, ctx, tc, ticketHello(authid))
	if _, ok := m.(*wamp.Challenge); ok {
		m = rawRPC(t, ctx, tc, &wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	}
	return m
}

func isAbort(m wamp.Message, reason wamp.URI) bool {
	a, ok := m.(*wamp.Abort)
	return ok && a.Reason == reason
}

// A HELLO flood from one address is refused before authentication; a
// login from another address still gets in.
func TestHelloRatePerIP(t *testing.T) {
	t.Parallel()
	srv, front := ticketRouter(t, func(o *router.Options) { o.HelloRatePerIP = router.Rate{PerSecond: 0.01, Burst: 3} })
	var refused int
	for i := range 10 {
		m := login(t, dialFrom(t, "127.0.0.2", front), "joe")
		switch {
		case i < 3 && m.MessageType() != wamp.TypeWelcome:
			t.Fatalf("login %d within the burst: %v", i, m.MessageType())
		case i >= 3 && !isAbort(m, router.ErrLoginThrottled):
			t.Fatalf("login %d past the burst: %v, want ABORT %s", i, m.MessageType(), router.ErrLoginThrottled)
		case i >= 3:
			refused++
		}
	}
	if m := login(t, dialFrom(t, "127.0.0.1", front), "ann"); m.MessageType() != wamp.TypeWelcome {
		t.Fatalf("login from another address: %v, want WELCOME", m.MessageType())
	}
	if got := srv.Router().Stats().ThrottledLogins; got != uint64(refused) {
		t.Errorf("ThrottledLogins = %d, want %d", got, refused)
	}
}

// HELLOs for one authid are limited whatever address they come from.
func TestHelloRatePerAuthID(t *testing.T) {
	t.Parallel()
	_, front := ticketRouter(t, func(o *router.Options) { o.HelloRatePerAuthID = router.Rate{PerSecond: 0.01, Burst: 2} })
	for i, src := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		m := login(t, dialFrom(t, src, front), "joe")
		if want := i < 2; want != (m.MessageType() == wamp.TypeWelcome) || !want && !isAbort(m, router.ErrLoginThrottled) {
			t.Fatalf("login %d as joe: %v", i, m.MessageType())
		}
	}
	if m := login(t, dialFrom(t, "127.0.0.2", front), "ann"); m.MessageType() != wamp.TypeWelcome {
		t.Fatalf("ann: %v, want WELCOME", m.MessageType())
	}
}

// With MaxPendingLogins in progress, the next login is refused at once
// (while the first still waits on its authenticator) instead of queueing.
func TestMaxPendingLogins(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.MaxPendingLogins = 1
		o.Realms[0].Roles = []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
		}
	})
	backend := joinBackend(t, srv.Serve(t, "unix", anonymousTransport("backend")), routertest.Realm)
	backend.register("com.example.authenticate", nil)
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic",
		Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}}))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	slow := dialFrom(t, "127.0.0.2", front)
	f, _ := slow.Codec().Encode(nil, ticketHello("joe"))
	slow.Write(ctx, [][]byte{f})
	challenge, _ := readMsg(t, ctx, slow).(*wamp.Challenge)
	if challenge == nil {
		t.Fatal("no CHALLENGE")
	}
	f, _ = slow.Codec().Encode(nil, &wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	slow.Write(ctx, [][]byte{f})
	inv := expect[*wamp.Invocation](backend) // the slot is taken now

	if m := login(t, dialFrom(t, "127.0.0.3", front), "ann"); !isAbort(m, router.ErrLoginThrottled) {
		t.Fatalf("second login while one is pending: %v, want ABORT %s", m.MessageType(), router.ErrLoginThrottled)
	}
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"user"}}})
	if m := readMsg(t, ctx, slow); m.MessageType() != wamp.TypeWelcome {
		t.Fatalf("pending login: %v, want WELCOME", m.MessageType())
	}
}

func readMsg(t *testing.T, ctx context.Context, tc transport.Conn) wamp.Message {
	t.Helper()
	data, err := tc.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tc.Codec().Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A realm at MaxSessions refuses the next HELLO; a session leaving frees
// its place.
func TestMaxSessionsPerRealm(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) { o.Realms[0].MaxSessions = 2 })
	a := dialPeer(t, srv, "tcp", "json")
	a.join()
	dialPeer(t, srv, "ws", "json").join()
	c := dialPeer(t, srv, "tcp", "json")
	c.send(&wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}})
	expectAbort(c, router.ErrRealmFull)
	a.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](a) // sent after the session left
	dialPeer(t, srv, "unix", "json").join()
	if got := srv.Router().Stats().RealmFull; got != 1 {
		t.Errorf("RealmFull = %d, want 1", got)
	}
}
