package load

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Result is the outcome of one run. Durations are nanoseconds in JSON.
type Result struct {
	Scenario   string        `json:"scenario"`
	URL        string        `json:"url"`
	Realm      string        `json:"realm"`
	Serializer string        `json:"serializer"`
	Sessions   int           `json:"sessions"`
	InFlight   int           `json:"inflight"`
	Rate       float64       `json:"rate"`
	Size       int           `json:"size"`
	Warmup     time.Duration `json:"warmup_ns"`
	// Elapsed is the measured phase as it actually ran: from the end of the
	// warm-up until the last measured request finished.
	Elapsed time.Duration `json:"elapsed_ns"`
	// Interrupted is set when ctx ended the run early.
	Interrupted bool `json:"interrupted"`
	GOMAXPROCS  int  `json:"gomaxprocs"`
	NumCPU      int  `json:"num_cpu"`

	Call    *CallStats    `json:"call,omitempty"`
	Publish *PublishStats `json:"publish,omitempty"`
	Session *SessionStats `json:"open_close,omitempty"`
	Idle    *IdleStats    `json:"idle,omitempty"`
	Storm   *StormStats   `json:"storm,omitempty"`
	// CPU is the measured phase's CPU time (not for idle).
	CPU *CPUStats `json:"cpu,omitempty"`
}

// CallStats is the result of the call scenario.
type CallStats struct {
	// Calls is the number of measured calls that returned a correct result.
	Calls int64 `json:"calls"`
	// Rate is Calls per second of Elapsed.
	Rate float64 `json:"calls_per_sec"`
	// Errors counts failed measured calls by error URI (or a short
	// description for local errors such as "timeout").
	Errors     map[string]int64 `json:"errors"`
	ErrorCount int64            `json:"error_count"`
	// Latency is the round trip caller → router → callee → router → caller.
	Latency Latency `json:"latency"`
}

// PublishStats is the result of the publish scenario.
type PublishStats struct {
	Subscribers int  `json:"subscribers"`
	Ack         bool `json:"ack"`
	// Publishes is the number of measured publications sent (and, with
	// Ack, acknowledged).
	Publishes   int64   `json:"publishes"`
	PublishRate float64 `json:"publishes_per_sec"`
	// Backpressure counts non-acknowledged publishes that found the
	// client's outbound queue full and were retried after a pause.
	Backpressure int64 `json:"backpressure"`
	// Expected is Publishes × Subscribers; Delivered counts the measured
	// events subscribers received; Lost = Expected − Delivered when
	// positive, Extra when negative (duplicates).
	Expected     int64   `json:"expected"`
	Delivered    int64   `json:"delivered"`
	Lost         int64   `json:"lost"`
	Extra        int64   `json:"extra"`
	DeliveryRate float64 `json:"delivered_per_sec"`
	// SubscribersLost counts subscriber sessions that ended during the run
	// (for example closed by a slow-consumer policy).
	SubscribersLost int `json:"subscribers_lost"`
	// BadEvents counts events without a readable timestamp.
	BadEvents int64 `json:"bad_events"`
	// Duplicated and Reordered count events a subscriber received again,
	// or after a later one of the same publishing worker.
	Duplicated int64 `json:"duplicated"`
	Reordered  int64 `json:"reordered"`
	// SubSerializers are the subscribers' serializers when they differ
	// from the publishers'.
	SubSerializers []string         `json:"sub_serializers,omitempty"`
	Errors         map[string]int64 `json:"errors"`
	ErrorCount     int64            `json:"error_count"`
	// Latency is publisher send → subscriber handler, per event.
	Latency Latency `json:"latency"`
	// AckLatency is PUBLISH → PUBLISHED (Ack only).
	AckLatency *Latency `json:"ack_latency,omitempty"`
}

// Run performs one load run described by cfg against the router at
// cfg.URL, which must be a loopback address. It returns an error when the
// configuration is invalid or the sessions cannot be set up; errors of
// individual requests are counted in the result. When ctx ends, the
// traffic stops and the partial result is returned with Interrupted set.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Scenario == ScenarioRPCLat {
		cfg.Sessions, cfg.InFlight = 1, 1
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := CheckLoopback(ctx, cfg.URL); err != nil {
		return nil, err
	}
	if cfg.RouterPID > 0 {
		if err := checkPID(cfg.RouterPID); err != nil {
			return nil, err
		}
	}
	r := &run{cfg: cfg, id: runID(), cpu: &cpuMeter{pid: cfg.RouterPID}}
	r.ccfg = client.Config{Realm: wamp.URI(cfg.Realm), Serializer: cfg.Serializer, AuthID: cfg.AuthID, Agent: "tollgate-load"}
	if cfg.Ticket != "" {
		r.ccfg.Auth = []client.Authenticator{client.Ticket(cfg.Ticket)}
	}
	res := &Result{
		Scenario: cfg.Scenario, URL: cfg.URL, Realm: cfg.Realm, Serializer: cfg.Serializer,
		Sessions: cfg.Sessions, InFlight: cfg.InFlight, Rate: cfg.Rate, Size: cfg.Size, Warmup: cfg.Warmup,
		GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
	}
	if cfg.AuthBackend != "" {
		stop, err := r.startAuthBackend(ctx)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	var err error
	switch cfg.Scenario {
	case ScenarioCall, ScenarioRPCLat:
		err = r.call(ctx, res)
	case ScenarioPublish:
		err = r.publish(ctx, res)
	case ScenarioSessions:
		err = r.sessions(ctx, res)
	case ScenarioIdle:
		err = r.idle(ctx, res)
	case ScenarioStorm:
		err = r.storm(ctx, res)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Scenario != ScenarioIdle {
		if res.CPU, err = r.cpu.end(res.work()); err != nil {
			return nil, err
		}
	}
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

type run struct {
	cfg  Config
	ccfg client.Config
	id   string
	cpu  *cpuMeter
	auth backendMeter // the tool's authenticator (storm.go)
}

// work is the scenario's unit counted per router CPU-second.
func (r *Result) work() int64 {
	switch {
	case r.Call != nil:
		return r.Call.Calls
	case r.Publish != nil:
		return r.Publish.Delivered
	case r.Session != nil:
		return r.Session.Sessions
	case r.Storm != nil:
		return r.Storm.Accepted + r.Storm.RefusedCount
	}
	return 0
}

// Failed reports why the run counts as failed (exit code 1): a failed
// request, or an event lost (acknowledged publications), duplicated or
// reordered. Empty means it did not fail.
func (r *Result) Failed() string {
	var why []string
	if c := r.Call; c != nil && c.ErrorCount > 0 {
		why = append(why, fmt.Sprintf("%d failed calls", c.ErrorCount))
	}
	if s := r.Session; s != nil && s.ErrorCount > 0 {
		why = append(why, fmt.Sprintf("%d sessions failed to open or close", s.ErrorCount))
	}
	if s := r.Storm; s != nil && s.UnansweredCount > 0 {
		why = append(why, fmt.Sprintf("%d logins unanswered", s.UnansweredCount))
	}
	if i := r.Idle; i != nil && i.Lost > 0 {
		why = append(why, fmt.Sprintf("%d held sessions ended early", i.Lost))
	}
	if p := r.Publish; p != nil {
		if p.ErrorCount > 0 {
			why = append(why, fmt.Sprintf("%d failed publishes", p.ErrorCount))
		}
		if p.Ack && p.Lost > 0 && !r.Interrupted {
			why = append(why, fmt.Sprintf("%d acknowledged events lost", p.Lost))
		}
		if p.Duplicated > 0 || p.Extra > 0 {
			why = append(why, fmt.Sprintf("%d events duplicated", max(p.Duplicated, p.Extra)))
		}
		if p.Reordered > 0 {
			why = append(why, fmt.Sprintf("%d events out of order", p.Reordered))
		}
	}
	return strings.Join(why, ", ")
}

func runID() string {
	var b [4]byte
	rand.Read(b[:])
	return "r" + hex.EncodeToString(b[:])
}

// phase hands out request slots: warm-up until measureAt, measured until
// endAt or until Count measured requests were issued. Times are ns since
// base (monotonic clock).
type phase struct {
	base      time.Time
	measureAt atomic.Int64
	endAt     atomic.Int64
	count     int64
	issued    atomic.Int64
}

func newPhase(count int64) *phase { return &phase{base: time.Now(), count: count} }

func (p *phase) now() int64 { return int64(time.Since(p.base)) }

// start fixes the schedule from now on.
func (p *phase) start(warmup, d time.Duration) {
	m := p.now() + int64(warmup)
	p.measureAt.Store(m)
	p.endAt.Store(m + int64(d))
}

// next returns the timestamp of the next request and whether it is
// measured; ok is false when the worker must stop.
func (p *phase) next(ctx context.Context) (ts int64, measured, ok bool) {
	if ctx.Err() != nil {
		return 0, false, false
	}
	ts = p.now()
	if ts >= p.endAt.Load() {
		return 0, false, false
	}
	if ts < p.measureAt.Load() {
		return ts, false, true
	}
	if p.count > 0 && p.issued.Add(1) > p.count {
		return 0, false, false
	}
	return ts, true, true
}

// inWindow reports whether a request stamped ts was measured.
func (p *phase) inWindow(ts int64) bool {
	return ts >= p.measureAt.Load() && ts < p.endAt.Load()
}

// unissue gives back a measured slot whose request was not sent.
func (p *phase) unissue() {
	if p.count > 0 {
		p.issued.Add(-1)
	}
}

// elapsedUntil is the measured time up to t (ns since base), at least 0.
func (p *phase) elapsedUntil(t int64) time.Duration {
	return time.Duration(max(0, t-p.measureAt.Load()))
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// pacer spaces one worker's requests interval apart. A nil pacer does not
// wait. Not safe for concurrent use: one per worker.
type pacer struct {
	interval time.Duration
	next     time.Time
}

// newPacer returns the pacer of one of workers workers sharing rate
// requests per second, or nil when rate is 0.
func newPacer(rate float64, workers int) *pacer {
	if rate <= 0 {
		return nil
	}
	return &pacer{interval: time.Duration(float64(workers) / rate * float64(time.Second))}
}

// wait sleeps until the next request is due, but not past the end of the
// phase; it returns early when ctx ends. A worker that fell more than
// 100ms behind schedule restarts the schedule instead of bursting.
func (p *pacer) wait(ctx context.Context, ph *phase) {
	if p == nil {
		return
	}
	now := time.Now()
	if p.next.IsZero() || now.Sub(p.next) > 100*time.Millisecond {
		p.next = now
	}
	d := min(p.next.Sub(now), time.Duration(ph.endAt.Load()-ph.now()))
	p.next = p.next.Add(p.interval)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// errCounts counts errors by class. Safe for concurrent use.
type errCounts struct {
	mu sync.Mutex
	m  map[string]int64
	n  int64
}

func (e *errCounts) add(err error) {
	k := errorClass(err)
	e.mu.Lock()
	if e.m == nil {
		e.m = map[string]int64{}
	}
	e.m[k]++
	e.n++
	e.mu.Unlock()
}

func (e *errCounts) snapshot() (map[string]int64, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := make(map[string]int64, len(e.m))
	for k, v := range e.m {
		m[k] = v
	}
	return m, e.n
}

// errorClass names an error for the error table: the WAMP error URI, or a
// short description of a local failure.
func errorClass(err error) string {
	var we *client.Error
	switch {
	case errors.As(err, &we):
		return string(we.URI)
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, transport.ErrQueueFull):
		return "outbound queue full"
	case errors.Is(err, client.ErrSessionClosed):
		return "session closed"
	}
	s := err.Error()
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}

func sessionDone(s *client.Session) bool {
	select {
	case <-s.Done():
		return true
	default:
		return false
	}
}

// dialAll opens n sessions, a few at a time. On error it closes the ones
// it opened.
func (r *run) dialAll(ctx context.Context, n int, mod func(*client.Config)) ([]*client.Session, error) {
	cfg := r.ccfg
	if mod != nil {
		mod(&cfg)
	}
	out := make([]*client.Session, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
			defer cancel()
			out[i], errs[i] = client.Dial(dctx, r.cfg.URL, cfg)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(out)
		return nil, fmt.Errorf("load: joining realm %q at %s: %w", r.cfg.Realm, r.cfg.URL, firstErr(errs))
	}
	return out, nil
}

func firstErr(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// closeAll closes sessions concurrently, each bounded by 5 s.
func closeAll(ss []*client.Session) {
	var wg sync.WaitGroup
	for _, s := range ss {
		if s == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			s.Close(ctx)
		}()
	}
	wg.Wait()
}

func (r *run) call(ctx context.Context, res *Result) error {
	cfg := r.cfg
	proc := wamp.URI(cfg.Prefix + ".echo." + r.id)
	callees, err := r.dialAll(ctx, 1, func(c *client.Config) {
		c.MaxConcurrentHandlers = max(64, cfg.Sessions*cfg.InFlight)
	})
	if err != nil {
		return err
	}
	defer closeAll(callees)
	rctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	_, err = callees[0].Register(rctx, proc, func(_ context.Context, inv *client.Invocation) (client.Result, error) {
		return client.Result{Args: inv.Args}, nil
	})
	cancel()
	if err != nil {
		return fmt.Errorf("load: registering %s: %w", proc, err)
	}
	callers, err := r.dialAll(ctx, cfg.Sessions, nil)
	if err != nil {
		return err
	}
	defer closeAll(callers)

	pad := strings.Repeat("x", cfg.Size)
	args := wamp.List{pad}
	ph := newPhase(cfg.Count)
	var (
		errs  errCounts
		calls atomic.Int64
	)
	recs := r.drive(ctx, ph, callers, func(s *client.Session, rec *recorder, _ int, ts int64, measured bool) bool {
		cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		out, err := s.Call(cctx, proc, args, nil)
		cancel()
		d := time.Duration(ph.now() - ts)
		if ctx.Err() != nil {
			return true // interrupted: this call is not a failure of the router
		}
		if err == nil {
			if p, _ := out.Arg(0).(string); len(out.Args) != 1 || p != pad {
				err = errors.New("echo result differs from the arguments")
			}
		}
		if err != nil {
			if measured {
				errs.add(err)
			}
			return sessionDone(s)
		}
		if measured {
			calls.Add(1)
			rec.record(d)
		}
		return false
	})
	res.Elapsed = ph.elapsedUntil(ph.now())
	st := &CallStats{Calls: calls.Load(), Latency: summarize(recs)}
	st.Errors, st.ErrorCount = errs.snapshot()
	st.Rate = rate(st.Calls, res.Elapsed)
	res.Call = st
	return nil
}

// drive starts the phase and runs cfg.InFlight workers per session, each
// pacing itself and calling one with every timestamp the phase hands out
// until the phase ends or one reports that the worker stops. It returns
// each session's recorder once all workers ended.
func (r *run) drive(ctx context.Context, ph *phase, sessions []*client.Session,
	one func(s *client.Session, rec *recorder, worker int, ts int64, measured bool) (stop bool)) []*recorder {
	cfg := r.cfg
	recs := make([]*recorder, len(sessions))
	var wg sync.WaitGroup
	ph.start(cfg.Warmup, cfg.Duration)
	r.cpu.begin(cfg.Warmup)
	for i, s := range sessions {
		recs[i] = newRecorder()
		rec := recs[i]
		for j := range cfg.InFlight {
			worker := i*cfg.InFlight + j
			wg.Add(1)
			go func() {
				defer wg.Done()
				pc := newPacer(cfg.Rate, cfg.Sessions*cfg.InFlight)
				for {
					pc.wait(ctx, ph)
					ts, measured, ok := ph.next(ctx)
					if !ok || one(s, rec, worker, ts, measured) {
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	return recs
}

// storeMax raises a to at least v.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
