package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
)

// StormStats is the result of the storm scenario: -hold sessions join at
// once, as after a router restart or a network blip.
type StormStats struct {
	Sessions int   `json:"sessions"`
	Accepted int64 `json:"accepted"`
	// Refused counts ABORTs by "reason: message"; Unanswered the logins
	// that got no answer (timeout, connection failure), by error.
	Refused         map[string]int64 `json:"refused"`
	RefusedCount    int64            `json:"refused_count"`
	Unanswered      map[string]int64 `json:"unanswered"`
	UnansweredCount int64            `json:"unanswered_count"`
	// Rate is answered logins (accepted or refused) per second of Elapsed.
	Rate float64 `json:"logins_per_sec"`
	// Latency is dial … WELCOME or ABORT.
	Latency Latency `json:"latency"`
	// BackendPeak and BackendCalls are the tool's authenticator's (with
	// -authenticator): most calls running at once, and all calls.
	BackendPeak  int64 `json:"backend_peak,omitempty"`
	BackendCalls int64 `json:"backend_calls,omitempty"`
}

// backendMeter counts the tool's authenticator calls running at once.
type backendMeter struct{ now, peak, calls atomic.Int64 }

func (m *backendMeter) enter() {
	m.calls.Add(1)
	storeMax(&m.peak, m.now.Add(1))
}

func (m *backendMeter) leave() { m.now.Add(-1) }

// storm dials -hold sessions at the same moment, waits for every answer,
// then closes the sessions that joined.
func (r *run) storm(ctx context.Context, res *Result) error {
	n := r.cfg.Hold
	st := &StormStats{Sessions: n, Refused: map[string]int64{}, Unanswered: map[string]int64{}}
	sessions := make([]*client.Session, n)
	recs := make([]*recorder, n)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		last     atomic.Int64 // ns after start of the last answer
		accepted atomic.Int64
	)
	start := make(chan struct{})
	var t0 time.Time // set before start is closed
	for i := range n {
		recs[i] = newRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			begin := time.Now()
			dctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
			defer cancel()
			s, err := client.Dial(dctx, r.cfg.URL, r.ccfg)
			var ae *client.AbortError
			answered := err == nil || errors.As(err, &ae)
			if answered {
				now := time.Now()
				recs[i].record(now.Sub(begin))
				storeMax(&last, int64(now.Sub(t0)))
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				sessions[i] = s
				accepted.Add(1)
			case ae != nil:
				st.Refused[string(ae.Reason)+": "+ae.Message]++
				st.RefusedCount++
			default:
				st.Unanswered[errorClass(err)]++
				st.UnansweredCount++
			}
		}()
	}
	r.cpu.begin(0)
	t0 = time.Now()
	close(start)
	wg.Wait()
	closeAll(sessions)
	res.Elapsed = time.Duration(last.Load())
	st.Accepted = accepted.Load()
	st.Rate = rate(st.Accepted+st.RefusedCount, res.Elapsed)
	st.Latency = summarize(recs)
	st.BackendPeak, st.BackendCalls = r.auth.peak.Load(), r.auth.calls.Load()
	res.Storm = st
	return nil
}

// writeStorm writes the storm lines.
func writeStorm(w io.Writer, s *StormStats) {
	fmt.Fprintf(w, "storm       %d sessions at once: %d accepted, %d refused, %d unanswered  (%.0f logins/s)\n",
		s.Sessions, s.Accepted, s.RefusedCount, s.UnansweredCount, s.Rate)
	if s.BackendCalls > 0 {
		fmt.Fprintf(w, "backend     %d authenticator calls, at most %d at once\n", s.BackendCalls, s.BackendPeak)
	}
	writeLatency(w, "login", s.Latency)
	for _, k := range slices.Sorted(maps.Keys(s.Refused)) {
		fmt.Fprintf(w, "  %8d  refused: %s\n", s.Refused[k], k)
	}
	writeErrors(w, s.UnansweredCount, s.Unanswered)
}
