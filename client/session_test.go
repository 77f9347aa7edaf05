package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

var (
	kinds       = []string{"ws", "tcp", "unix"}
	serializers = []string{"json", "msgpack", "cbor"}
)

// TestMatrix runs the basic profile over every transport and serializer,
// with the peer on the other side on WebSocket/JSON so payloads are
// transcoded by the router.
func TestMatrix(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, kind := range kinds {
		for _, ser := range serializers {
			t.Run(kind+"/"+ser, func(t *testing.T) {
				t.Parallel()
				ctx := testCtx(t)
				s := dial(t, srv, kind, ser)
				peer := dial(t, srv, "ws", "json")

				info := s.Info()
				if !info.ID.Valid() || info.Realm != routertest.Realm || info.AuthMethod != "anonymous" || info.AuthRole == "" || info.AuthID == "" {
					t.Fatalf("welcome info = %+v", info)
				}
				if !info.Supports("dealer", "call_canceling") || !info.Supports("broker", "pattern_based_subscription") {
					t.Fatalf("router roles not exposed: %v", info.Roles)
				}

				proc := wamp.URI("com.matrix." + kind + "_" + ser + ".add2")
				reg, err := s.Register(ctx, proc, func(a, b int) (int, error) { return a + b, nil })
				if err != nil {
					t.Fatal(err)
				}
				res, err := peer.Call(ctx, proc, wamp.List{2, 3}, nil)
				if err != nil {
					t.Fatal(err)
				}
				if n, _ := wamp.AsInt(res.Arg(0)); n != 5 {
					t.Fatalf("add2 = %v", res.Args)
				}

				// The other direction, with kwargs and binary.
				echo := wamp.URI("com.matrix." + kind + "_" + ser + ".echo")
				if _, err := peer.Register(ctx, echo, func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
					return client.Result{Args: inv.Args, Kwargs: inv.Kwargs}, nil
				}); err != nil {
					t.Fatal(err)
				}
				res, err = s.Call(ctx, echo, wamp.List{"x", []byte{0, 1, 2}, 1.5, true, nil}, wamp.Dict{"k": wamp.List{int64(1)}})
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Args) != 5 || res.Args[0] != "x" || string(res.Args[1].([]byte)) != "\x00\x01\x02" || res.Args[2] != 1.5 || res.Args[3] != true || res.Args[4] != nil {
					t.Fatalf("echo args = %#v", res.Args)
				}
				if l, ok := res.Kwargs["k"].(wamp.List); !ok || len(l) != 1 {
					t.Fatalf("echo kwargs = %#v", res.Kwargs)
				}

				// Pub/sub.
				topic := wamp.URI("com.matrix." + kind + "_" + ser + ".news")
				got := make(chan *client.Event, 4)
				sub, err := s.Subscribe(ctx, topic, func(ctx context.Context, ev *client.Event) { got <- ev })
				if err != nil {
					t.Fatal(err)
				}
				if err := peer.Publish(ctx, topic, wamp.List{"hello"}, wamp.Dict{"n": 1}, client.Acknowledge()); err != nil {
					t.Fatal(err)
				}
				select {
				case ev := <-got:
					if ev.Topic != topic || len(ev.Args) != 1 || ev.Args[0] != "hello" || ev.Publication == 0 {
						t.Fatalf("event = %+v", ev)
					}
				case <-ctx.Done():
					t.Fatal("no event")
				}
				if err := s.Unsubscribe(ctx, sub); err != nil {
					t.Fatal(err)
				}
				if err := s.Unregister(ctx, reg); err != nil {
					t.Fatal(err)
				}
				_, err = peer.Call(ctx, proc, wamp.List{1, 2}, nil)
				if !errors.Is(err, &client.Error{URI: wamp.ErrNoSuchProcedure}) {
					t.Fatalf("after Unregister: %v", err)
				}
			})
		}
	}
}

func TestErrorRoundTrip(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "cbor")
	caller := dial(t, srv, "ws", "json")
	if _, err := callee.Register(ctx, "com.err.app", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		return client.Result{}, &client.Error{URI: "com.example.error.bad", Args: wamp.List{"bad thing", int64(42)}, Kwargs: wamp.Dict{"field": "name"}}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx, "com.err.plain", func() error { return errors.New("disk full") }); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx, "com.err.panic", func() error { panic("oops") }); err != nil {
		t.Fatal(err)
	}
	if _, err := callee.Register(ctx, "com.err.typed", func(cc *client.CallContext, realm, authid string, details map[string]any) (map[string]any, error) {
		return details, nil
	}, client.ParamNames("realm", "authid", "details")); err != nil {
		t.Fatal(err)
	}

	_, err := caller.Call(ctx, "com.err.app", nil, nil)
	var we *client.Error
	if !errors.As(err, &we) || we.URI != "com.example.error.bad" || len(we.Args) != 2 || we.Args[0] != "bad thing" || we.Kwargs["field"] != "name" {
		t.Fatalf("app error = %#v", err)
	}
	if n, _ := wamp.AsInt(we.Args[1]); n != 42 {
		t.Fatalf("arg 2 = %v", we.Args[1])
	}

	_, err = caller.Call(ctx, "com.err.plain", nil, nil)
	if !errors.As(err, &we) || we.URI != wamp.ErrRuntimeError || we.Args[0] != "disk full" {
		t.Fatalf("plain error = %#v", err)
	}
	_, err = caller.Call(ctx, "com.err.panic", nil, nil)
	if !errors.As(err, &we) || we.URI != wamp.ErrRuntimeError || !strings.Contains(fmt.Sprint(we.Args...), "oops") {
		t.Fatalf("panic error = %#v", err)
	}

	// A typed handler with wrong arguments answers invalid_argument.
	_, err = caller.Call(ctx, "com.err.typed", wamp.List{"realm1", 12.5, wamp.Dict{}}, nil)
	if !errors.As(err, &we) || we.URI != wamp.ErrInvalidArgument || we.Args[0] != "argument 2 (authid): want string, got float64" {
		t.Fatalf("typed error = %#v", err)
	}
	_, err = caller.Call(ctx, "com.err.typed", wamp.List{"realm1"}, nil)
	if !errors.As(err, &we) || we.URI != wamp.ErrInvalidArgument || !strings.Contains(we.Args[0].(string), "want 3") {
		t.Fatalf("count error = %#v", err)
	}
	res, err := caller.Call(ctx, "com.err.typed", wamp.List{"realm1", "joe", wamp.Dict{"a": 1}}, nil)
	if err != nil || res.Arg(0).(wamp.Dict)["a"] == nil {
		t.Fatalf("typed ok = %v, %v", res, err)
	}
}

func TestProgressiveResults(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			callee := dial(t, srv, "tcp", ser)
			caller := dial(t, srv, "unix", ser)
			proc := wamp.URI("com.progress." + ser)
			if _, err := callee.Register(ctx, proc, func(cc *client.CallContext, n int) (string, error) {
				if !cc.ReceiveProgress() {
					return "no progress asked", nil
				}
				for i := range n {
					if err := cc.Progress(cc, i); err != nil {
						return "", err
					}
				}
				return "done", nil
			}); err != nil {
				t.Fatal(err)
			}
			var got []int64
			res, err := caller.Call(ctx, proc, wamp.List{5}, nil, client.ReceiveProgress(func(r *client.Result) {
				n, _ := wamp.AsInt(r.Arg(0))
				got = append(got, n)
			}))
			if err != nil || res.Arg(0) != "done" {
				t.Fatalf("final = %v, %v", res, err)
			}
			if fmt.Sprint(got) != "[0 1 2 3 4]" {
				t.Fatalf("progress = %v", got)
			}
			res, err = caller.Call(ctx, proc, wamp.List{5}, nil)
			if err != nil || res.Arg(0) != "no progress asked" {
				t.Fatalf("without progress = %v, %v", res, err)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, mode := range []string{wamp.CancelKillNoWait, wamp.CancelKill, wamp.CancelSkip} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			callee := dial(t, srv, "tcp", "msgpack")
			caller := dial(t, srv, "ws", "json")
			started := make(chan struct{})
			interrupted := make(chan error, 1)
			proc := wamp.URI("com.cancel." + mode)
			if _, err := callee.Register(ctx, proc, func(cc *client.CallContext) error {
				close(started)
				select {
				case <-cc.Done():
					interrupted <- cc.Err()
					return cc.Err()
				case <-time.After(3 * time.Second):
					interrupted <- nil
					return nil
				}
			}); err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			errc := make(chan error, 1)
			go func() {
				_, err := caller.Call(cctx, proc, nil, nil, client.CancelMode(mode))
				errc <- err
			}()
			<-started
			cancel()
			err := <-errc
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			var we *client.Error
			if !errors.As(err, &we) || we.URI != wamp.ErrCanceled {
				t.Fatalf("err = %v, want wamp.error.canceled too", err)
			}
			if mode != wamp.CancelSkip {
				if ierr := <-interrupted; !errors.Is(ierr, context.Canceled) {
					t.Fatalf("handler ctx: %v, want canceled by INTERRUPT", ierr)
				}
			}
			// The session still works.
			if _, err := caller.Call(ctx, "com.cancel.none", nil, nil); !errors.Is(err, &client.Error{URI: wamp.ErrNoSuchProcedure}) {
				t.Fatalf("after cancel: %v", err)
			}
		})
	}
}

func TestCallTimeout(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "json")
	caller := dial(t, srv, "tcp", "json")
	if _, err := callee.Register(ctx, "com.slow", func(cc *client.CallContext) error {
		<-cc.Done()
		return cc.Err()
	}); err != nil {
		t.Fatal(err)
	}
	_, err := caller.Call(ctx, "com.slow", nil, nil, client.CallTimeout(50*time.Millisecond))
	if !errors.Is(err, &client.Error{URI: wamp.ErrTimeout}) {
		t.Fatalf("err = %v, want wamp.error.timeout", err)
	}
}

func TestDisclosureAndPatterns(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	callee := dial(t, srv, "ws", "cbor")
	caller := dial(t, srv, "ws", "msgpack")

	type seen struct {
		proc   wamp.URI
		caller wamp.ID
		authid string
	}
	ch := make(chan seen, 2)
	if _, err := callee.Register(ctx, "com.pat.", func(cc *client.CallContext) error {
		ch <- seen{cc.Procedure, cc.Caller, cc.CallerAuthID}
		return nil
	}, client.Match(wamp.MatchPrefix)); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.Call(ctx, "com.pat.x.y", nil, nil, client.DiscloseMe()); err != nil {
		t.Fatal(err)
	}
	got := <-ch
	if got.proc != "com.pat.x.y" || got.caller != caller.ID() || got.authid != caller.Info().AuthID {
		t.Fatalf("disclosed = %+v, caller %d", got, caller.ID())
	}
	if _, err := caller.Call(ctx, "com.pat.z", nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := <-ch; got.caller != 0 {
		t.Fatalf("caller disclosed without asking: %+v", got)
	}

	// Wildcard subscription with publisher disclosure (typed handler).
	evs := make(chan [3]any, 1)
	if _, err := callee.Subscribe(ctx, "com.wild..temp", func(cc *client.CallContext, v float64) {
		evs <- [3]any{cc.Topic, cc.Caller, v}
	}, client.Match(wamp.MatchWildcard)); err != nil {
		t.Fatal(err)
	}
	if err := caller.Publish(ctx, "com.wild.kitchen.temp", wamp.List{21.5}, nil, client.DiscloseMe(), client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-evs:
		if ev[0] != wamp.URI("com.wild.kitchen.temp") || ev[1] != caller.ID() || ev[2] != 21.5 {
			t.Fatalf("event = %v", ev)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
}

func TestSharedRegistration(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	a := dial(t, srv, "tcp", "json")
	b := dial(t, srv, "unix", "json")
	caller := dial(t, srv, "ws", "json")
	for _, s := range []*client.Session{a, b} {
		name := s.Info().AuthID
		if _, err := s.Register(ctx, "com.shared", func() string { return name }, client.Invoke(wamp.InvokeRoundRobin)); err != nil {
			t.Fatal(err)
		}
	}
	var got []any
	for range 4 {
		res, err := caller.Call(ctx, "com.shared", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Arg(0))
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Fatalf("roundrobin order = %v", got)
	}
	// A single registration on the same URI is refused.
	_, err := caller.Register(ctx, "com.shared", func() {})
	if !errors.Is(err, &client.Error{URI: wamp.ErrProcedureAlreadyExists}) {
		t.Fatalf("err = %v", err)
	}
	// first policy always picks the earliest.
	for _, s := range []*client.Session{a, b} {
		name := s.Info().AuthID
		if _, err := s.Register(ctx, "com.first", func() string { return name }, client.Invoke(wamp.InvokeFirst)); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		res, err := caller.Call(ctx, "com.first", nil, nil)
		if err != nil || res.Arg(0) != a.Info().AuthID {
			t.Fatalf("first = %v, %v", res, err)
		}
	}
}

func TestPublishOptions(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	pub := dial(t, srv, "ws", "json")
	subs := []*client.Session{dial(t, srv, "tcp", "json"), dial(t, srv, "tcp", "msgpack"), dial(t, srv, "unix", "cbor")}
	var mu sync.Mutex
	got := map[wamp.ID]int{}
	events := make(chan struct{}, 16)
	count := func(s *client.Session) func(context.Context, *client.Event) {
		return func(context.Context, *client.Event) {
			mu.Lock()
			got[s.ID()]++
			mu.Unlock()
			events <- struct{}{}
		}
	}
	for _, s := range append(subs, pub) {
		if _, err := s.Subscribe(ctx, "com.opts", count(s)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		opts []client.Option
		want []*client.Session
	}{
		{"default excludes me", nil, subs},
		{"exclude_me false", []client.Option{client.ExcludeMe(false)}, append(subs, pub)},
		{"exclude session", []client.Option{client.Exclude(subs[0].ID())}, subs[1:]},
		{"eligible session", []client.Option{client.Eligible(subs[1].ID(), pub.ID())}, subs[1:2]},
		{"exclude authid", []client.Option{client.ExcludeAuthID(subs[2].Info().AuthID)}, subs[:2]},
		{"eligible authid", []client.Option{client.EligibleAuthID(subs[0].Info().AuthID)}, subs[:1]},
		{"exclude authrole", []client.Option{client.ExcludeAuthRole("anonymous")}, nil},
		{"eligible authrole", []client.Option{client.EligibleAuthRole("anonymous"), client.ExcludeMe(false)}, append(subs, pub)},
	}
	for _, tt := range tests { // sequential: they share the subscriptions
		mu.Lock()
		clear(got)
		mu.Unlock()
		if err := pub.Publish(ctx, "com.opts", nil, nil, append(tt.opts, client.Acknowledge())...); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		for range tt.want {
			select {
			case <-events:
			case <-ctx.Done():
				t.Fatalf("%s: missing events", tt.name)
			}
		}
		// A marker event to every subscriber proves no extra event is in flight.
		if err := pub.Publish(ctx, "com.opts", nil, nil, client.Eligible(subs[0].ID()), client.Acknowledge()); err != nil {
			t.Fatal(err)
		}
		<-events
		mu.Lock()
		got[subs[0].ID()]--
		for _, s := range tt.want {
			if got[s.ID()] != 1 {
				t.Errorf("%s: session %d got %d events, want 1", tt.name, s.ID(), got[s.ID()])
			}
			delete(got, s.ID())
		}
		for id, n := range got {
			if n != 0 {
				t.Errorf("%s: session %d got %d events, want 0", tt.name, id, n)
			}
		}
		mu.Unlock()
	}
}

func TestAbortOnUnknownRealm(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	_, err := client.Dial(testCtx(t), srv.URL("tcp"), client.Config{Realm: "nope"})
	var ae *client.AbortError
	if !errors.As(err, &ae) || ae.Reason != wamp.ErrNoSuchRealm {
		t.Fatalf("err = %v, want *AbortError no_such_realm", err)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, url string
		cfg       client.Config
		want      string
	}{
		{"no realm is no config error", "ws://127.0.0.1:1/ws", client.Config{}, "client: connecting to ws://127.0.0.1:1/ws"},
		{"bad realm", "ws://127.0.0.1:1/ws", client.Config{Realm: "a..b"}, "not a valid URI"},
		{"bad serializer", "ws://127.0.0.1:1/ws", client.Config{Realm: "r", Serializer: "xml"}, "unknown serializer"},
		{"bad scheme", "http://x", client.Config{Realm: "r"}, `unsupported URL scheme "http"`},
		{"tcp no port", "tcp://localhost", client.Config{Realm: "r"}, "needs host:port"},
		{"unix no path", "unix://", client.Config{Realm: "r"}, "needs a socket path"},
		{"nil auth", "tcp://127.0.0.1:1", client.Config{Realm: "r", Auth: []client.Authenticator{nil}}, "Auth[0] is nil"},
		{"bad registry", "tcp://127.0.0.1:1", client.Config{Realm: "r", Registry: func() *client.Registry {
			r := client.NewRegistry("")
			_ = r.Procedure("x", 42)
			return r
		}()}, "must be a non-nil function"},
		{"refused", "tcp://127.0.0.1:1", client.Config{Realm: "r"}, "client: connecting to tcp://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := client.Dial(testCtx(t), tt.url, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "json", func(c *client.Config) { c.MaxConcurrentHandlers = 2 })
	caller := dial(t, srv, "tcp", "json")
	var running, peak atomic.Int32
	if _, err := callee.Register(ctx, "com.limit", func() {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		running.Add(-1)
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			if _, err := caller.Call(ctx, "com.limit", nil, nil); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Fatalf("peak concurrency = %d, want 1..2", p)
	}
}

func TestCloseFailsRequests(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	left := make(chan error, 1)
	s, err := client.Dial(ctx, srv.URL("ws"), client.Config{Realm: routertest.Realm,
		OnLeave: func(_ *client.Session, err error) { left <- err }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-left; err != nil {
		t.Fatalf("OnLeave after Close: %v, want nil", err)
	}
	<-s.Done()
	if _, err := s.Call(ctx, "com.x", nil, nil); !errors.Is(err, client.ErrSessionClosed) {
		t.Fatalf("Call after Close: %v", err)
	}
	if err := s.Publish(ctx, "com.x", nil, nil); !errors.Is(err, client.ErrSessionClosed) {
		t.Fatalf("Publish after Close: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// proxy forwards TCP connections to target and can cut them all, to make
// sessions die without the router's help.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Go(p.accept)
	t.Cleanup(func() { ln.Close(); p.cut(); p.wg.Wait() })
	return p
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(u, c); u.Close() })
		p.wg.Go(func() { io.Copy(c, u); c.Close() })
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestPendingCallsFailWhenSessionDies(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "json")
	started := make(chan struct{}, 3)
	if _, err := callee.Register(ctx, "com.hang", func(cc *client.CallContext) error {
		started <- struct{}{}
		<-cc.Done()
		return cc.Err()
	}); err != nil {
		t.Fatal(err)
	}
	px := newProxy(t, srv.Addr("tcp"))
	left := make(chan error, 1)
	caller, err := client.Dial(ctx, "tcp://"+px.ln.Addr().String(), client.Config{Realm: routertest.Realm,
		OnLeave: func(_ *client.Session, err error) { left <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close(ctx)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := caller.Call(ctx, "com.hang", nil, nil)
			errs <- err
		}()
	}
	for range 3 {
		<-started
	}
	px.cut()
	for range 3 {
		if err := <-errs; !errors.Is(err, client.ErrSessionClosed) || !strings.Contains(err.Error(), "connection lost") {
			t.Fatalf("pending call: %v, want ErrSessionClosed with the cause", err)
		}
	}
	if err := <-left; err == nil {
		t.Fatal("OnLeave got nil cause for a lost connection")
	}
	<-caller.Done()
	if !errors.Is(caller.Err(), client.ErrSessionClosed) && caller.Err() == nil {
		t.Fatal("Err() is nil after a loss without reconnect")
	}
}

func TestRouterShutdownEndsSession(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	s := dial(t, srv, "ws", "json")
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := srv.Router().Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	<-s.Done()
	var ge *client.GoodbyeError
	if !errors.As(s.Err(), &ge) || ge.Reason != wamp.CloseSystemShutdown {
		t.Fatalf("Err() = %v, want GOODBYE system_shutdown", s.Err())
	}
	if _, err := s.Call(ctx, "com.x", nil, nil); !errors.Is(err, client.ErrSessionClosed) || !errors.As(err, &ge) {
		t.Fatalf("Call after shutdown: %v", err)
	}
}

func TestTwoHandlesOneSubscription(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	s := dial(t, srv, "unix", "msgpack")
	pub := dial(t, srv, "unix", "json")
	a, b := make(chan struct{}, 4), make(chan struct{}, 4)
	subA, err := s.Subscribe(ctx, "com.two", func(context.Context, *client.Event) { a <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	subB, err := s.Subscribe(ctx, "com.two", func(context.Context, *client.Event) { b <- struct{}{} })
	if err != nil {
		t.Fatal(err)
	}
	if subA.ID != subB.ID {
		t.Fatalf("router gave two subscription ids %d, %d", subA.ID, subB.ID)
	}
	if err := pub.Publish(ctx, "com.two", nil, nil, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	<-a
	<-b
	if err := s.Unsubscribe(ctx, subA); err != nil {
		t.Fatal(err)
	}
	if err := pub.Publish(ctx, "com.two", nil, nil, client.Acknowledge()); err != nil {
		t.Fatal(err)
	}
	<-b
	if err := s.Unsubscribe(ctx, subB); err != nil {
		t.Fatal(err)
	}
	if err := s.Unsubscribe(ctx, subB); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	select {
	case <-a:
		t.Fatal("removed handle got an event")
	default:
	}
}

// Events of one subscription reach the handler in publication order, even
// with many handler slots.
func TestEventsOfOneSubscriptionInOrder(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := client.Dial(ctx, srv.URL("tcp"), client.Config{Realm: routertest.Realm, Serializer: "msgpack", MaxConcurrentHandlers: 16})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(ctx)
	const n = 300
	got := make(chan int64, n)
	if _, err := sub.Subscribe(ctx, "com.example.seq", func(_ context.Context, ev *client.Event) {
		v, _ := ev.Args[0].(int64)
		if v%7 == 0 {
			time.Sleep(time.Millisecond) // uneven handler time would reorder concurrent handlers
		}
		got <- v
	}); err != nil {
		t.Fatal(err)
	}
	pub, err := client.Dial(ctx, srv.URL("ws"), client.Config{Realm: routertest.Realm})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(ctx)
	for i := range n {
		if err := pub.Publish(ctx, "com.example.seq", wamp.List{int64(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		select {
		case v := <-got:
			if v != int64(i) {
				t.Fatalf("event %d arrived as number %d", v, i)
			}
		case <-ctx.Done():
			t.Fatalf("only %d of %d events arrived", i, n)
		}
	}
}
