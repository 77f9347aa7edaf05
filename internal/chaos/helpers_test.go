package chaos_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/internal/chaos"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

var kinds = []string{chaos.WebSocket, chaos.RawSocket}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// healthy checks that a fresh, well-behaved session on kind joins and
// completes a call round trip through the router.
func healthy(t testing.TB, srv *routertest.Server, kind string) {
	t.Helper()
	if err := roundTrip(ctxT(t, 10*time.Second), srv.URL(kind)); err != nil {
		t.Fatalf("fresh session on %s after the attack: %v", kind, err)
	}
}

func roundTrip(ctx context.Context, url string) error {
	s, err := client.Dial(ctx, url, client.Config{Realm: routertest.Realm})
	if err != nil {
		return err
	}
	defer s.Close(ctx)
	proc := wamp.URI(fmt.Sprintf("chaos.health.p%d", wamp.GlobalID()))
	if _, err := s.Register(ctx, proc, func(x string) string { return x }); err != nil {
		return err
	}
	res, err := s.Call(ctx, proc, wamp.List{"ping"}, nil)
	if err != nil {
		return err
	}
	if res.Arg(0) != "ping" {
		return &client.Error{URI: "chaos.wrong_answer"}
	}
	return nil
}

func dial(t testing.TB, srv *routertest.Server, kind, ser string) *chaos.Peer {
	t.Helper()
	p, err := chaos.Dial(ctxT(t, 5*time.Second), srv.URL(kind), ser, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func joined(t testing.TB, srv *routertest.Server, kind, ser string) *chaos.Peer {
	t.Helper()
	p := dial(t, srv, kind, ser)
	if _, err := p.Join(ctxT(t, 5*time.Second), routertest.Realm); err != nil {
		t.Fatal(err)
	}
	return p
}

func recv(t testing.TB, p *chaos.Peer) wamp.Message {
	t.Helper()
	m, err := p.Recv(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func send(t testing.TB, p *chaos.Peer, ms ...wamp.Message) {
	t.Helper()
	if err := p.Send(ctxT(t, 5*time.Second), ms...); err != nil {
		t.Fatal(err)
	}
}

// expectError reads until the ERROR for request req and checks its URI.
func expectError(t testing.TB, p *chaos.Peer, req wamp.ID, uri wamp.URI) {
	t.Helper()
	m := recv(t, p)
	e, ok := m.(*wamp.Error)
	if !ok || e.Request != req || e.Error != uri {
		t.Fatalf("got %s, want ERROR %s for request %d", chaos.Describe(m), uri, req)
	}
}

// expectClosed checks the router ends p's connection, last with want
// ("" accepts a close without a message).
func expectClosed(t testing.TB, p *chaos.Peer, want string) {
	t.Helper()
	last, err := p.UntilClosed(ctxT(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if want != "" && chaos.Describe(last) != want {
		t.Fatalf("closed after %s, want %s", chaos.Describe(last), want)
	}
}

func register(t testing.TB, p *chaos.Peer, proc wamp.URI) wamp.ID {
	t.Helper()
	req := p.Next()
	send(t, p, &wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: proc})
	r, ok := recv(t, p).(*wamp.Registered)
	if !ok {
		t.Fatalf("REGISTER %s not registered", proc)
	}
	return r.Registration
}
