package client_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestRegistryValidation(t *testing.T) {
	t.Parallel()
	r := client.NewRegistry("com.example.")
	if err := r.Procedure("ok", func(a int) int { return a }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		add  func() error
		want string
	}{
		{"bad handler", func() error { return r.Procedure("bad", "not a func") }, "procedure com.example.bad: client: handler must be a non-nil function"},
		{"duplicate", func() error { return r.Procedure("ok", func() {}) }, "procedure com.example.ok added twice"},
		{"bad uri", func() error { return r.Subscriber("a..b", func() {}) }, `invalid URI "com.example.a..b"`},
		{"option for other kind", func() error { return r.Subscriber("s", func() {}, client.Invoke(wamp.InvokeRandom)) }, "Invoke does not apply to Subscribe"},
		{"event result", func() error { return r.Subscriber("e", func() int { return 1 }) }, "event handler may return only error"},
	}
	for _, tt := range tests {
		if err := tt.add(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
	if r.Len() != 1 {
		t.Fatalf("Len = %d, want only the valid entry", r.Len())
	}
	if err := r.Err(); err == nil || strings.Count(err.Error(), "\n") != len(tests)-1 {
		t.Fatalf("Err() = %v, want all %d errors", err, len(tests))
	}
	// Same name as procedure and subscriber is fine.
	r2 := client.NewRegistry("")
	if err := errors.Join(r2.Procedure("x", func() {}), r2.Subscriber("x", func() {})); err != nil {
		t.Fatal(err)
	}
	if err := r2.Add(r2); err == nil {
		t.Fatal("Add(self) must fail")
	}
}

func TestRegistryAttach(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)

	auth := client.NewRegistry("auth.")
	if err := auth.Procedure("authenticate", func(cc *client.CallContext, realm, authid string, details map[string]any) (map[string]any, error) {
		return map[string]any{"role": "user", "realm": realm, "authid": authid}, nil
	}); err != nil {
		t.Fatal(err)
	}
	news := make(chan string, 1)
	app := client.NewRegistry("com.example.")
	if err := app.Subscriber("public.news", func(headline string) { news <- headline }); err != nil {
		t.Fatal(err)
	}
	if err := app.Add(auth); err != nil {
		t.Fatal(err)
	}
	if err := app.Add(auth); err == nil || !strings.Contains(err.Error(), "com.example.auth.authenticate added twice") {
		t.Fatalf("second Add: %v", err)
	}
	// The clash recorded an error, so attach refuses the registry.
	s := dial(t, srv, "ws", "json")
	if err := s.Attach(ctx, app); err == nil {
		t.Fatal("Attach of a registry with recorded errors must fail")
	}

	app = client.NewRegistry("com.example.")
	_ = app.Subscriber("public.news", func(headline string) { news <- headline })
	_ = app.Add(auth)
	s2 := dial(t, srv, "tcp", "cbor", func(c *client.Config) { c.Registry = app })
	res, err := s.Call(ctx, "com.example.auth.authenticate", wamp.List{"realm1", "joe", wamp.Dict{}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := res.Arg(0).(wamp.Dict); d["role"] != "user" || d["authid"] != "joe" {
		t.Fatalf("authenticate = %v", res.Args)
	}
	if err := s.Publish(ctx, "com.example.public.news", wamp.List{"extra!"}, nil, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	if got := <-news; got != "extra!" {
		t.Fatalf("news = %q", got)
	}

	// Attaching a clashing registry elsewhere fails and undoes its
	// subscriptions.
	clash := client.NewRegistry("")
	_ = clash.Subscriber("com.clash.topic", func() { t.Error("undone subscriber got an event") })
	_ = clash.Procedure("com.example.auth.authenticate", func() {})
	err = s.Attach(ctx, clash)
	if !errors.Is(err, &client.Error{URI: wamp.ErrProcedureAlreadyExists}) || !strings.Contains(err.Error(), "attaching procedure com.example.auth.authenticate") {
		t.Fatalf("clash attach: %v", err)
	}
	// Attach waited for the UNSUBSCRIBED of its undo, so the router holds
	// no subscription on the topic any more and no event can reach the
	// undone subscriber.
	res, err = s2.Call(ctx, "wamp.subscription.lookup", wamp.List{"com.clash.topic"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Arg(0) != nil {
		t.Fatalf("subscription %v on com.clash.topic survived the failed attach", res.Arg(0))
	}
}

func TestReconnectReattachesRegistry(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	px := newProxy(t, srv.Addr("tcp"))

	reg := client.NewRegistry("com.rc.")
	_ = reg.Procedure("ping", func() string { return "pong" })
	var joins, leaves atomic.Int32
	joined := make(chan wamp.ID, 4)
	s, err := client.Dial(ctx, "tcp://"+px.ln.Addr().String(), client.Config{
		Realm:     routertest.Realm,
		Registry:  reg,
		Reconnect: client.Reconnect{Enabled: true, MinDelay: 10 * time.Millisecond, MaxDelay: 50 * time.Millisecond},
		OnJoin:    func(s *client.Session) { joins.Add(1); joined <- s.ID() },
		OnLeave:   func(*client.Session, error) { leaves.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	first := <-joined
	caller := dial(t, srv, "ws", "json")
	if res, err := caller.Call(ctx, "com.rc.ping", nil, nil); err != nil || res.Arg(0) != "pong" {
		t.Fatalf("before: %v %v", res, err)
	}
	px.cut()
	var second wamp.ID
	select {
	case second = <-joined:
	case <-ctx.Done():
		t.Fatal("no reconnect")
	}
	if second == first || joins.Load() != 2 || leaves.Load() != 1 {
		t.Fatalf("ids %d→%d, joins %d, leaves %d", first, second, joins.Load(), leaves.Load())
	}
	// The registry is attached again on the new router session (the old
	// registration may linger until the router notices the loss).
	deadline := time.Now().Add(5 * time.Second)
	for {
		res, err := caller.Call(ctx, "com.rc.ping", nil, nil)
		if err == nil && res.Arg(0) == "pong" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after reconnect: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Session methods work on the new link.
	if _, err := s.Call(ctx, "com.rc.ping", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func TestReconnectGivesUp(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	px := newProxy(t, srv.Addr("tcp"))
	s, err := client.Dial(ctx, "tcp://"+px.ln.Addr().String(), client.Config{
		Realm:     routertest.Realm,
		Reconnect: client.Reconnect{Enabled: true, MinDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxAttempts: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	px.ln.Close() // no more connections
	px.cut()
	select {
	case <-s.Done():
	case <-ctx.Done():
		t.Fatal("session did not give up")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), "reconnect failed after 2 attempts") {
		t.Fatalf("Err() = %v", err)
	}
	if _, err := s.Call(context.Background(), "x.y", nil, nil); !errors.Is(err, client.ErrSessionClosed) {
		t.Fatalf("Call: %v", err)
	}
	_ = s.Close(ctx)
}
