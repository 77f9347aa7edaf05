package chaos_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/internal/chaos"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// soakCounts are the soak's figures, counted by the well-behaved clients.
type soakCounts struct {
	churned, loginsRefused, published, events, calls, answers, lost, attacks, restarts atomic.Int64
}

// soakDuration is TOLLGATE_SOAK (a Go duration, e.g. 2m) or 12 s.
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("TOLLGATE_SOAK")
	if v == "" {
		return 12 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("TOLLGATE_SOAK=%q: %v", v, err)
	}
	return d
}

const (
	soakAuthenticate = "chaos.soak.authenticate"
	soakEcho         = "chaos.soak.echo"
	soakTopic        = "chaos.soak.topic"
)

func soakRouter(t *testing.T) (srv *routertest.Server, backdoor, front string) {
	all := []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}
	srv = routertest.Start(t, func(o *router.Options) {
		o.HelloTimeout = time.Second
		o.HelloRatePerIP = router.Rate{PerSecond: 10000, Burst: 10000}
		o.HelloRatePerAuthID = router.Rate{PerSecond: 2, Burst: 4}
		r := &o.Realms[0]
		r.Roles = []authz.RoleConfig{{Name: "anonymous", Permissions: all}, {Name: "user", Permissions: all}, {Name: "backend", Permissions: all}}
		r.MaxCallsPerCaller = 16
		r.RetainedBytes, r.StoredEventBytes = 64<<10, 4<<10
		r.EventHistory = []router.HistoryConfig{{URI: soakTopic}}
	})
	backdoor = srv.Serve(t, "unix", router.Transport{RawSocket: &router.RawSocketOptions{
		Auth: []auth.MethodConfig{{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}}}}})
	front = srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{
		Auth: []auth.MethodConfig{{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: soakAuthenticate}}}}})
	return srv, backdoor, front
}

// Sessions churn, publish and call for the soak's duration while every
// attack class runs beside them and the dynamic authenticator's backend
// session is killed and restarted; afterwards every CALL has had exactly
// one answer and the goroutines are back near where they started.
// Greppable: "soak:".
func TestSoak(t *testing.T) {
	dur := soakDuration(t)
	srv, backdoor, front := soakRouter(t)
	g0, rss0, heap0 := runtime.NumGoroutine(), rssKiB(t), heapKiB()
	var n soakCounts
	ctx, stop := context.WithTimeout(context.Background(), dur)
	defer stop()

	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	run(func(ctx context.Context) { soakBackend(ctx, backdoor, &n, dur/5) })
	echo := soakSession(t, srv.URL("tcp"))
	if _, err := echo.Register(ctxT(t, 5*time.Second), soakEcho, func(x int) int { return x }); err != nil {
		t.Fatal(err)
	}
	sub := soakSession(t, srv.URL("ws"))
	if _, err := sub.Subscribe(ctxT(t, 5*time.Second), soakTopic, func(context.Context, *client.Event) { n.events.Add(1) }); err != nil {
		t.Fatal(err)
	}
	urls := []string{srv.URL("ws"), srv.URL("tcp"), front}
	for i := range 3 {
		run(func(ctx context.Context) { soakChurn(ctx, urls, i, &n) })
	}
	for _, attack := range soakAttacks(srv, front) {
		run(func(ctx context.Context) {
			for ctx.Err() == nil {
				actx, cancel := context.WithTimeout(ctx, 5*time.Second)
				attack(actx)
				cancel()
				n.attacks.Add(1)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(dur + 30*time.Second):
		t.Fatal("soak goroutines still running 30 s after the end")
	}
	for _, s := range []*client.Session{echo, sub} {
		s.Close(ctxT(t, 5*time.Second))
	}
	waitSessions(t, srv, 0)
	g1 := waitGoroutines(t, g0+3)
	rss1, heap1 := rssKiB(t), heapKiB()
	st := srv.Router().Stats()
	routed := n.published.Load() + n.events.Load() + n.answers.Load()
	t.Logf("soak: duration=%v sessions_churned=%d logins_refused=%d backend_restarts=%d messages_routed=%d calls=%d answers=%d lost=%d attacks=%d",
		dur, n.churned.Load(), n.loginsRefused.Load(), n.restarts.Load(), routed, n.calls.Load(), n.answers.Load(), n.lost.Load(), n.attacks.Load())
	t.Logf("soak: goroutines_start=%d goroutines_end=%d rss_start_kib=%d rss_end_kib=%d heap_start_kib=%d heap_end_kib=%d",
		g0, g1, rss0, rss1, heap0, heap1)
	t.Logf("soak: router protocol_violations=%d handshake_timeouts=%d throttled_logins=%d auth_failures=%d bound_refusals=%d stored_evicted=%d oversize=%d",
		st.ProtocolViolations, st.HandshakeTimeouts, st.ThrottledLogins, st.AuthFailures, st.BoundRefusals, st.StoredEvicted, st.Oversize)
	if n.calls.Load() == 0 || n.churned.Load() == 0 || n.restarts.Load() < 2 {
		t.Errorf("soak did too little: %d calls, %d sessions, %d backend restarts", n.calls.Load(), n.churned.Load(), n.restarts.Load())
	}
	if n.calls.Load() != n.answers.Load() {
		t.Errorf("%d CALLs, %d answers: every CALL must get exactly one", n.calls.Load(), n.answers.Load())
	}
}

func soakSession(t *testing.T, url string) *client.Session {
	s, err := client.Dial(ctxT(t, 5*time.Second), url, client.Config{Realm: routertest.Realm})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitGoroutines waits, bounded, until at most max goroutines run, and
// returns the count it saw last.
func waitGoroutines(t *testing.T, max int) int {
	deadline := time.Now().Add(20 * time.Second)
	for {
		g := runtime.NumGoroutine()
		if g <= max {
			return g
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines 20 s after the soak, want ≤ %d:\n%s", g, max, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// soakBackend keeps a backend session serving the authenticator, closing
// it after each up period and starting a new one (a killed and restarted
// auth backend); logins in between are refused.
func soakBackend(ctx context.Context, backdoor string, n *soakCounts, up time.Duration) {
	authenticate := func(realm, authid string, details map[string]any) (string, error) {
		if details["ticket"] != "pw" {
			return "", client.NewError(wamp.ErrAuthenticationFailed)
		}
		return "user", nil
	}
	for ctx.Err() == nil {
		s, err := client.Dial(ctx, backdoor, client.Config{Realm: routertest.Realm})
		if err != nil {
			continue
		}
		if _, err := s.Register(ctx, soakAuthenticate, authenticate); err == nil {
			pause(ctx, up)
		}
		s.Close(context.Background())
		n.restarts.Add(1)
		pause(ctx, 100*time.Millisecond)
	}
}

// pause paces a loop (it synchronises nothing): d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// soakChurn joins, publishes, calls and leaves, over and over: anonymous
// on WebSocket and RawSocket, with a ticket through the dynamic
// authenticator on the front transport.
func soakChurn(ctx context.Context, urls []string, id int, n *soakCounts) {
	for i := 0; ctx.Err() == nil; i++ {
		url := urls[i%len(urls)]
		cfg := client.Config{Realm: routertest.Realm, Serializer: []string{"json", "msgpack", "cbor"}[i%3]}
		if url == urls[len(urls)-1] {
			cfg.AuthID, cfg.Auth = fmt.Sprintf("user%d_%d", id, i), []client.Authenticator{client.Ticket("pw")}
		}
		s, err := client.Dial(ctx, url, cfg)
		if err != nil {
			n.loginsRefused.Add(1) // backend down, or the soak ending
			continue
		}
		n.churned.Add(1)
		// Requests run on their own context: one started gets its answer
		// even when the soak ends meanwhile.
		rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for j := range 3 {
			if s.Publish(rctx, soakTopic, wamp.List{j}, nil, client.Acknowledge()) == nil {
				n.published.Add(1)
			}
			n.calls.Add(1)
			_, err := s.Call(rctx, soakEcho, wamp.List{j}, nil)
			var werr *client.Error
			if err == nil || errors.As(err, &werr) {
				n.answers.Add(1)
			} else {
				n.lost.Add(1)
			}
		}
		s.Close(rctx)
		cancel()
	}
}

// soakAttacks are the adversarial classes, one attack per call.
func soakAttacks(srv *routertest.Server, front string) []func(context.Context) {
	kind := func() string { return kinds[rand.IntN(2)] }
	joinedPeer := func(ctx context.Context, ser string) *chaos.Peer {
		p, err := chaos.Dial(ctx, srv.URL(kind()), ser, 0)
		if err != nil {
			return nil
		}
		if _, err := p.Join(ctx, routertest.Realm); err != nil {
			p.Close()
			return nil
		}
		return p
	}
	return []func(context.Context){
		func(ctx context.Context) { // pre-join 16 MiB frame header
			k := kind()
			if c, err := chaos.Handshake(ctx, k, srv.Addr(k)); err == nil {
				chaos.AnnounceFrame(c, k, chaos.MaxRawSocketFrame, nil)
				chaos.WaitClosed(ctx, c)
				c.Close()
			}
		},
		func(ctx context.Context) { // handshake stall and idle HTTP keep-alive
			k := kind()
			dial := func() (net.Conn, error) { return chaos.Handshake(ctx, k, srv.Addr(k)) }
			if rand.IntN(2) == 0 {
				dial = func() (net.Conn, error) { return chaos.KeepAliveGET(ctx, srv.Addr(chaos.WebSocket)) }
			}
			c, err := dial()
			if err == nil {
				chaos.WaitClosed(ctx, c)
				c.Close()
			}
		},
		func(ctx context.Context) { // malformed JSON and a never-issued YIELD
			if p := joinedPeer(ctx, "json"); p != nil {
				if rand.IntN(2) == 0 {
					p.SendRaw(ctx, []byte(`[48, "x", {`))
				} else {
					p.Send(ctx, &wamp.Yield{Request: 4242, Options: wamp.Dict{}})
				}
				p.UntilClosed(ctx)
				p.Close()
			}
		},
		func(ctx context.Context) { // login flood with a wrong ticket for one authid
			if p, err := chaos.Dial(ctx, front, "json", 0); err == nil {
				m, err := p.Hello(ctx, routertest.Realm, wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "mallory"})
				if err == nil && m.MessageType() == wamp.TypeChallenge {
					p.Send(ctx, &wamp.Authenticate{Signature: "wrong", Extra: wamp.Dict{}})
					p.Recv(ctx)
				}
				p.Close()
			}
		},
		func(ctx context.Context) { // calls in flight to a callee that never answers
			callee, caller := joinedPeer(ctx, "msgpack"), joinedPeer(ctx, "cbor")
			if callee != nil && caller != nil {
				proc := wamp.URI(fmt.Sprintf("chaos.soak.deaf%d", rand.Uint32()))
				callee.Send(ctx, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: proc})
				if _, err := callee.Recv(ctx); err == nil {
					for range 40 {
						caller.Send(ctx, &wamp.Call{Request: caller.Next(), Options: wamp.Dict{}, Procedure: proc})
					}
				}
			}
			for _, p := range []*chaos.Peer{caller, callee} {
				if p != nil {
					p.Close()
				}
			}
		},
		func(ctx context.Context) { // retained-event bytes and get_events probes
			if p := joinedPeer(ctx, "json"); p != nil {
				blob := strings.Repeat("b", 3<<10)
				for range 20 {
					p.Send(ctx, &wamp.Publish{Request: p.Next(), Options: wamp.Dict{"retain": true}, Topic: wamp.URI(fmt.Sprintf("chaos.soak.r%d", rand.Uint32())), Payload: wamp.Payload{Args: wamp.List{blob}}})
					p.Send(ctx, &wamp.Call{Request: p.Next(), Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Payload: wamp.Payload{Args: wamp.List{wamp.ID(rand.Int64N(1 << 40))}}})
				}
				for range 20 {
					p.Recv(ctx)
				}
				p.Close()
			}
		},
	}
}
