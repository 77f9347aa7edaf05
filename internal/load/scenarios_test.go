package load

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
)

// The router runs in this process, so its pid is ours.

func TestSessionsScenario(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, kind := range []string{"tcp", "ws"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			cfg := quick(ScenarioSessions, srv.URL(kind), "json")
			cfg.RouterPID = os.Getpid()
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Session
			if s == nil || s.Sessions <= 0 || s.ErrorCount != 0 || res.Failed() != "" {
				t.Fatalf("sessions %+v, failed %q", s, res.Failed())
			}
			checkLatency(t, "open+close", s.Latency, s.Sessions)
			c := res.CPU
			if c == nil || c.Router <= 0 || c.Load <= 0 || c.Work != s.Sessions || c.PerRouterCPUSecond <= 0 {
				t.Fatalf("cpu %+v", c)
			}
		})
	}
}

func TestIdleScenario(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cfg := quick(ScenarioIdle, srv.URL("tcp"), "json")
	cfg.Hold, cfg.Duration, cfg.Warmup = 50, 100*time.Millisecond, 0
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "-router-pid") {
		t.Fatalf("idle without -router-pid: %v", err)
	}
	cfg.RouterPID = os.Getpid()
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	i := res.Idle
	if i == nil || i.Held != 50 || i.Baseline <= 0 || i.HeldRSS <= 0 || i.AfterRSS <= 0 || i.Lost != 0 {
		t.Fatalf("idle %+v", i)
	}
	var b bytes.Buffer
	res.WriteText(&b)
	if !strings.Contains(b.String(), "50 sessions held") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestRPCLatScenario(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	res, err := Run(context.Background(), quick(ScenarioRPCLat, srv.URL("tcp"), "msgpack"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Sessions != 1 || res.InFlight != 1 || res.Call == nil || res.Call.Calls <= 0 || res.Failed() != "" {
		t.Fatalf("rpc-lat %+v %+v", res, res.Call)
	}
}

func TestCrossSerializerPublish(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cfg := quick(ScenarioPublish, srv.URL("ws"), "json")
	cfg.Ack, cfg.Subscribers, cfg.SubSerializers = true, 4, []string{"msgpack", "cbor"}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := res.Publish
	if p.Publishes <= 0 || p.Delivered != p.Expected || p.Duplicated+p.Reordered+p.BadEvents != 0 || res.Failed() != "" {
		t.Fatalf("publish %+v, failed %q", p, res.Failed())
	}
}

func TestFailedReasons(t *testing.T) {
	r := &Result{Publish: &PublishStats{Ack: true, Lost: 3, Duplicated: 1, Reordered: 2}}
	got := r.Failed()
	for _, want := range []string{"3 acknowledged events lost", "1 events duplicated", "2 events out of order"} {
		if !strings.Contains(got, want) {
			t.Errorf("Failed() = %q, want %q in it", got, want)
		}
	}
	if (&Result{Publish: &PublishStats{Lost: 3}}).Failed() != "" {
		t.Error("an unacknowledged loss failed the run")
	}
}

func TestEventStamp(t *testing.T) {
	for _, tt := range []struct {
		args []any
		ok   bool
	}{
		{[]any{int64(5), "x", int64(1), int64(1)}, true},
		{[]any{int64(5), "x", int64(4), int64(1)}, false}, // no such worker
		{[]any{int64(5), "x", int64(1), int64(0)}, false},
		{[]any{int64(5), "x"}, false},
		{[]any{"t", "x", int64(1), int64(1)}, false},
	} {
		if _, _, _, ok := eventStamp(tt.args, 4); ok != tt.ok {
			t.Errorf("eventStamp(%v) ok = %v, want %v", tt.args, ok, tt.ok)
		}
	}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	for _, f := range []EchoFraming{"tcp", "ws"} {
		for _, perFrame := range []bool{false, true} {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { ServeEcho(ln, f, perFrame); close(done) }()
			res, err := RunEcho(context.Background(), ln.Addr().String(), f, 2, 4, 64, 100*time.Millisecond, os.Getpid())
			ln.Close()
			<-done
			if err != nil {
				t.Fatal(err)
			}
			if res.Frames <= 0 || res.CPU == nil || res.CPU.Work != res.Frames {
				t.Fatalf("%s per-frame %v: %+v", f, perFrame, res)
			}
		}
	}
}

func TestProcStat(t *testing.T) {
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if rss, err := procRSS(os.Getpid()); err != nil || rss <= 0 {
		t.Fatalf("rss %d, %v", rss, err)
	}
	cfg := quick(ScenarioCall, "tcp://127.0.0.1:1", "json")
	cfg.RouterPID = 1 << 30
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "-router-pid") {
		t.Fatalf("Run with a pid that does not exist: %v", err)
	}
}

func TestSessionsDynamicTicket(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		// Every login comes from one address as one authid: no HELLO rate limits.
		o.HelloRatePerIP, o.HelloRatePerAuthID = router.Rate{PerSecond: -1}, router.Rate{PerSecond: -1}
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "user", Permissions: []authz.Permission{{URI: "loadtest.", Match: "prefix", Allow: authz.Actions{Call: true}}}},
			{Name: "backend", Permissions: []authz.Permission{{URI: "loadtest.", Match: "prefix", Allow: authz.Actions{Register: true}}}},
		}}}
	})
	front := srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "loadtest.authenticate"}},
	}}})
	backdoor := srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}},
	}}})
	cfg := quick(ScenarioSessions, front, "msgpack")
	cfg.AuthID, cfg.Ticket, cfg.AuthBackend = "joe", "secret", backdoor
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Session; s.Sessions <= 0 || s.ErrorCount != 0 {
		t.Fatalf("sessions %+v", s)
	}
	// A backend expecting "secret", and a run that sends another ticket.
	b := &run{cfg: cfg}
	stop, err := b.startAuthBackend(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	cfg.Ticket, cfg.AuthBackend = "wrong", ""
	cfg.Duration = 200 * time.Millisecond
	res, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Session; s.Sessions != 0 || s.ErrorCount == 0 || !strings.Contains(res.Failed(), "failed to open") {
		t.Fatalf("wrong ticket: sessions %+v, failed %q", s, res.Failed())
	}
}
