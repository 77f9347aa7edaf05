package load

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
)

// SessionStats is the result of the sessions scenario.
type SessionStats struct {
	// Sessions counts measured sessions that joined and then closed with
	// GOODBYE answered; Rate is Sessions per second of Elapsed.
	Sessions   int64            `json:"sessions"`
	Rate       float64          `json:"sessions_per_sec"`
	Errors     map[string]int64 `json:"errors"`
	ErrorCount int64            `json:"error_count"`
	// Latency is dial + HELLO … WELCOME + GOODBYE … GOODBYE.
	Latency Latency `json:"latency"`
}

// IdleStats is the result of the idle scenario. RSS figures are the
// router's (VmRSS of -router-pid) in bytes.
type IdleStats struct {
	Held int `json:"held"`
	// Baseline is before the sessions opened, HeldRSS while all were open
	// for the measured duration, AfterRSS once they closed and the router
	// settled (see docs/load.md).
	Baseline int64 `json:"baseline_rss"`
	HeldRSS  int64 `json:"held_rss"`
	AfterRSS int64 `json:"after_rss"`
	// PerSession is (HeldRSS − Baseline) / Held.
	PerSession int64 `json:"per_session_rss"`
	// Lost counts held sessions that ended before the tool closed them.
	Lost int `json:"lost"`
}

// sessions opens and closes sessions as fast as -c × -inflight workers can.
func (r *run) sessions(ctx context.Context, res *Result) error {
	cfg := r.cfg
	ph := newPhase(cfg.Count)
	var (
		errs errCounts
		n    atomic.Int64
		wg   sync.WaitGroup
	)
	workers := cfg.Sessions * cfg.InFlight
	recs := make([]*recorder, workers)
	ph.start(cfg.Warmup, cfg.Duration)
	r.cpu.begin(cfg.Warmup)
	for i := range workers {
		recs[i] = newRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			pc := newPacer(cfg.Rate, workers)
			for {
				pc.wait(ctx, ph)
				ts, measured, ok := ph.next(ctx)
				if !ok {
					return
				}
				err := r.openClose(ctx)
				if ctx.Err() != nil {
					return
				}
				if !measured {
					continue
				}
				if err != nil {
					errs.add(err)
					continue
				}
				n.Add(1)
				recs[i].record(time.Duration(ph.now() - ts))
			}
		}()
	}
	wg.Wait()
	res.Elapsed = ph.elapsedUntil(ph.now())
	st := &SessionStats{Sessions: n.Load(), Latency: summarize(recs)}
	st.Errors, st.ErrorCount = errs.snapshot()
	st.Rate = rate(st.Sessions, res.Elapsed)
	res.Session = st
	return nil
}

// openClose joins the realm and leaves it with GOODBYE.
func (r *run) openClose(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	s, err := client.Dial(dctx, r.cfg.URL, r.ccfg)
	if err != nil {
		return err
	}
	return s.Close(dctx)
}

// idle holds -hold sessions open for the measured duration and reads the
// router's RSS before, while and after.
func (r *run) idle(ctx context.Context, res *Result) error {
	cfg := r.cfg
	pid := cfg.RouterPID
	st := &IdleStats{Held: cfg.Hold}
	var err error
	if st.Baseline, err = procRSS(pid); err != nil {
		return err
	}
	ss, err := r.dialAll(ctx, cfg.Hold, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	select { // the held phase: what an idle router costs per session
	case <-ctx.Done():
	case <-time.After(cfg.Duration):
	}
	res.Elapsed = time.Since(start)
	st.HeldRSS, err = procRSS(pid)
	for _, s := range ss {
		if sessionDone(s) {
			st.Lost++
		}
	}
	closeAll(ss)
	if err != nil {
		return err
	}
	st.PerSession = (st.HeldRSS - st.Baseline) / int64(max(1, cfg.Hold))
	// The router's memory goes back to the OS as its GC and scavenger get
	// to it: wait until RSS is within 10 % of the baseline, at most -warmup
	// plus 5 s.
	deadline := time.Now().Add(cfg.Warmup + 5*time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if st.AfterRSS, err = procRSS(pid); err != nil {
			return err
		}
		if st.AfterRSS <= st.Baseline+st.Baseline/10 || !time.Now().Before(deadline) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	res.Idle = st
	return nil
}

var errNoPID = errors.New("load: the idle scenario needs -router-pid (it reads the router's RSS)")

// checkPID reports whether pid is a process this tool can read.
func checkPID(pid int) error {
	if _, err := procCPU(pid); err != nil {
		return fmt.Errorf("load: -router-pid %d: %w", pid, err)
	}
	return nil
}
