package router_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// A reconnect storm against a dynamic ticket authenticator (issue 18
// part 6): n sessions connect, say HELLO and get their CHALLENGE, then all
// send AUTHENTICATE at once. The authenticator is a Go component on the
// backdoor whose every call takes a fixed latency.

// stormConfig is one storm.
type stormConfig struct {
	sessions    int
	latency     time.Duration // per authenticator call
	maxInFlight int           // the authenticator's; negative: unbounded
	maxQueued   int
	timeout     time.Duration // the authenticator's call timeout (queue wait included)
	helloTime   time.Duration // the router's handshake deadline
	badEvery    int           // every badEvery-th login has a wrong ticket
}

// stormResult is what a storm measured.
type stormResult struct {
	accepted, refused int            // WELCOME, ABORT by the authenticator's refusal
	other             map[string]int // any other ABORT, by message; failures to read an answer
	peak              int64          // most authenticator calls running at once
	calls             int64
	elapsed           time.Duration // first AUTHENTICATE sent … last answer read
	slowest           time.Duration // one login's AUTHENTICATE … answer
	slowestHandshake  time.Duration // one login's dial … answer
}

// rate is logins answered per second, whatever the answer.
func (r stormResult) rate() float64 {
	n := r.accepted + r.refused
	for _, v := range r.other {
		n += v
	}
	return float64(n) / r.elapsed.Seconds()
}

func (r stormResult) String() string {
	return fmt.Sprintf("%d accepted, %d refused, other %v; %.0f logins/s; backend peak %d concurrent calls (%d calls); slowest login %v (handshake %v)",
		r.accepted, r.refused, r.other, r.rate(), r.peak, r.calls,
		r.slowest.Round(time.Millisecond), r.slowestHandshake.Round(time.Millisecond))
}

// stormBackend is the authenticator: it counts the calls running at once.
type stormBackend struct {
	now, peak, calls atomic.Int64
	latency          time.Duration
}

func (b *stormBackend) authenticate(ctx context.Context, inv *client.Invocation) (client.Result, error) {
	b.calls.Add(1)
	n := b.now.Add(1)
	defer b.now.Add(-1)
	for p := b.peak.Load(); n > p && !b.peak.CompareAndSwap(p, n); p = b.peak.Load() {
	}
	t := time.NewTimer(b.latency) // the backend's work (a database lookup, say)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return client.Result{}, ctx.Err()
	}
	var details wamp.Dict
	if len(inv.Args) == 3 {
		details, _ = inv.Args[2].(wamp.Dict)
	}
	if ticket, _ := wamp.OptString(details, "ticket"); ticket != "good" {
		return client.Result{}, client.NewError(wamp.ErrAuthenticationFailed, "wrong user name or ticket")
	}
	return client.Result{Args: wamp.List{"user"}}, nil
}

func runStorm(tb testing.TB, sc stormConfig) stormResult {
	tb.Helper()
	srv := routertest.Start(tb, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Permissions: []authz.Permission{{URI: "public.", Match: "prefix", Allow: authz.Actions{Call: true}}}},
		}}}
		// Admission control off: the storm is allowed in, and the
		// authenticator's guard alone bounds what reaches the backend.
		o.HelloRatePerIP = router.Rate{PerSecond: -1}
		o.HelloRatePerAuthID = router.Rate{PerSecond: -1}
		o.MaxPendingLogins = -1
		o.HelloTimeout = sc.helloTime
	})
	backdoor := srv.Serve(tb, "unix", anonymousTransport("backend"))
	front := srv.Serve(tb, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{
		Authenticator: "com.example.authenticate", Timeout: sc.timeout, MaxInFlight: sc.maxInFlight, MaxQueued: sc.maxQueued,
	}}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	be := &stormBackend{latency: sc.latency}
	bs, err := client.Dial(ctx, backdoor, client.Config{Realm: "realm1", MaxConcurrentHandlers: 4 * sc.sessions})
	if err != nil {
		tb.Fatal(err)
	}
	defer bs.Close(ctx)
	if _, err := bs.Register(ctx, "com.example.authenticate", be.authenticate); err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(front)

	type outcome struct {
		msg              wamp.Message
		err              error
		login, handshake time.Duration
		answered         time.Time
	}
	outs := make([]outcome, sc.sessions)
	start := make(chan struct{})
	var ready, done sync.WaitGroup
	dialSlots := make(chan struct{}, 64) // connect in waves the accept backlog takes
	for i := range sc.sessions {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ticket := "good"
			if sc.badEvery > 0 && i%sc.badEvery == 0 {
				ticket = "bad"
			}
			t0 := time.Now()
			dialSlots <- struct{}{}
			tc, err := challenged(ctx, u.Host, fmt.Sprintf("user%d", i))
			<-dialSlots
			ready.Done()
			if err != nil {
				outs[i].err = err
				return
			}
			defer tc.Close()
			<-start
			t1 := time.Now()
			outs[i].msg, outs[i].err = exchange(ctx, tc, &wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
			outs[i].answered = time.Now()
			outs[i].login, outs[i].handshake = outs[i].answered.Sub(t1), outs[i].answered.Sub(t0)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	res := stormResult{other: map[string]int{}, peak: be.peak.Load(), calls: be.calls.Load()}
	for _, o := range outs {
		res.elapsed = max(res.elapsed, o.answered.Sub(t0))
		res.slowest = max(res.slowest, o.login)
		res.slowestHandshake = max(res.slowestHandshake, o.handshake)
		switch m := o.msg.(type) {
		case *wamp.Welcome:
			res.accepted++
		case *wamp.Abort:
			msg, _ := wamp.OptString(m.Details, "message")
			if m.Reason == wamp.ErrAuthenticationFailed && msg == "wrong user name or ticket" {
				res.refused++
			} else {
				res.other[string(m.Reason)+": "+msg]++
			}
		default:
			res.other[fmt.Sprintf("no answer: %v %v", o.err, o.msg)]++
		}
	}
	// Nothing is left in flight or queued once every login is answered.
	st := guardSeries(tb, srv.Router())
	if st["in_flight"] != 0 || st["queued"] != 0 {
		tb.Errorf("after the storm: %v", st)
	}
	return res
}

// challenged dials the front transport and says HELLO for ticket auth as
// authid, returning the connection once the CHALLENGE is read.
func challenged(ctx context.Context, addr, authid string) (transport.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tc, err := rawsocket.Dial(dctx, "tcp", addr, rawsocket.DialOptions{Serializer: codec.MsgPack})
	if err != nil {
		return nil, err
	}
	m, err := exchange(dctx, tc, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles, "authmethods": wamp.List{"ticket"}, "authid": authid}})
	if err == nil {
		if _, ok := m.(*wamp.Challenge); !ok {
			err = fmt.Errorf("HELLO answered with %v", m.MessageType())
		}
	}
	if err != nil {
		tc.Close()
		return nil, err
	}
	return tc, nil
}

// exchange sends m and reads the router's next message.
func exchange(ctx context.Context, tc transport.Conn, m wamp.Message) (wamp.Message, error) {
	f, err := tc.Codec().Encode(nil, m)
	if err != nil {
		return nil, err
	}
	if err := tc.Write(ctx, [][]byte{f}); err != nil {
		return nil, err
	}
	data, err := tc.Read(ctx)
	if err != nil {
		return nil, err
	}
	return tc.Codec().Decode(data)
}

// guardSeries reads the authenticator's guard series from the router's
// registry: in_flight, queued, and rejected by reason.
func guardSeries(tb testing.TB, r *router.Router) map[string]float64 {
	tb.Helper()
	mfs, err := r.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] != "authenticator" || labels["procedure"] != "com.example.authenticate" {
				continue
			}
			switch mf.GetName() {
			case "tollgate_backend_in_flight":
				out["in_flight"] = m.GetGauge().GetValue()
			case "tollgate_backend_queued":
				out["queued"] = m.GetGauge().GetValue()
			case "tollgate_backend_rejected_total":
				out["rejected_"+labels["reason"]] = m.GetCounter().GetValue()
			case "tollgate_backend_breaker_open":
				out["breaker_open"] = m.GetGauge().GetValue()
			}
		}
	}
	if len(out) == 0 {
		tb.Error("no guard series for the authenticator")
	}
	return out
}

// stormSessions is the default suite's storm size; TOLLGATE_STORM_SESSIONS
// overrides it (5000 for the figure).
func stormSessions(tb testing.TB, def int) int {
	if s := os.Getenv("TOLLGATE_STORM_SESSIONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			tb.Fatalf("TOLLGATE_STORM_SESSIONS=%q", s)
		}
		return n
	}
	if testing.Short() {
		return def / 5
	}
	return def
}

// TestReconnectStorm: the backend never sees more than max-in-flight calls
// at once, every login is answered (WELCOME, or the authenticator's ABORT)
// within the handshake deadline, and without the bound the same storm
// does reach the backend all at once (so the test can fail).
func TestReconnectStorm(t *testing.T) {
	n := stormSessions(t, 1000)
	sc := stormConfig{sessions: n, latency: 2 * time.Millisecond, maxInFlight: 16, maxQueued: n,
		timeout: 8 * time.Second, helloTime: 20 * time.Second, badEvery: 10}
	res := runStorm(t, sc)
	t.Logf("guarded (max-in-flight %d): %v", sc.maxInFlight, res)
	bad := (n + sc.badEvery - 1) / sc.badEvery
	if res.accepted != n-bad || res.refused != bad || len(res.other) != 0 {
		t.Errorf("%d accepted, %d refused, want %d and %d; other answers: %v", res.accepted, res.refused, n-bad, bad, res.other)
	}
	if res.peak > int64(sc.maxInFlight) {
		t.Errorf("backend saw %d concurrent calls, max-in-flight is %d", res.peak, sc.maxInFlight)
	}
	if res.calls != int64(n) {
		t.Errorf("%d authenticator calls, want %d", res.calls, n)
	}
	if res.slowest > sc.timeout || res.slowestHandshake > sc.helloTime {
		t.Errorf("slowest login %v (timeout %v), handshake %v (deadline %v)", res.slowest, sc.timeout, res.slowestHandshake, sc.helloTime)
	}

	// The control: unbounded, the backend sees the storm.
	sc.maxInFlight = -1
	open := runStorm(t, sc)
	t.Logf("unbounded: %v", open)
	if open.peak <= int64(16) {
		t.Errorf("unbounded storm peaked at %d concurrent calls: the storm does not load the backend, so the bound is not tested", open.peak)
	}
}

// TestStormQueueFull: a queue smaller than the storm turns the surplus
// away at once with a clear ABORT, counted by reason.
func TestStormQueueFull(t *testing.T) {
	sc := stormConfig{sessions: stormSessions(t, 200), latency: 20 * time.Millisecond, maxInFlight: 2, maxQueued: 4,
		timeout: 8 * time.Second, helloTime: 20 * time.Second}
	res := runStorm(t, sc)
	t.Logf("%v", res)
	overloaded := res.other["wamp.error.authentication_failed: authenticator com.example.authenticate is overloaded, retry later"]
	if overloaded == 0 || res.accepted+overloaded != sc.sessions || res.peak > 2 {
		t.Errorf("want some accepted and the rest overloaded, peak ≤ 2: %v", res)
	}
}

// BenchmarkReconnectStorm is the figure: 5,000 sessions at once
// (TOLLGATE_STORM_SESSIONS to change it), 2 ms per authenticator call,
// max-in-flight 64 against no bound. Metrics are means over iterations.
func BenchmarkReconnectStorm(b *testing.B) {
	n := 5000
	if s := os.Getenv("TOLLGATE_STORM_SESSIONS"); s != "" {
		n = stormSessions(b, n)
	}
	for _, c := range []struct {
		name        string
		maxInFlight int
	}{{"max-in-flight=64", 64}, {"unbounded", -1}} {
		b.Run(c.name, func(b *testing.B) {
			sc := stormConfig{sessions: n, latency: 2 * time.Millisecond, maxInFlight: c.maxInFlight, maxQueued: n,
				timeout: 8 * time.Second, helloTime: 30 * time.Second, badEvery: 10}
			var rate, peak, slowest, failed float64
			iters := 0
			for b.Loop() {
				res := runStorm(b, sc)
				if len(res.other) != 0 && c.maxInFlight > 0 {
					b.Fatalf("%v", res)
				}
				for _, v := range res.other {
					failed += float64(v)
				}
				rate += res.rate()
				peak += float64(res.peak)
				slowest += float64(res.slowest.Milliseconds())
				iters++
				b.Logf("%v", res)
			}
			b.ReportMetric(rate/float64(iters), "logins/s")
			b.ReportMetric(peak/float64(iters), "peak-backend-calls")
			b.ReportMetric(slowest/float64(iters), "slowest-login-ms")
			b.ReportMetric(failed/float64(iters), "failed-logins")
		})
	}
}
