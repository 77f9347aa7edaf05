package router

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Call latency, measured by the router from CALL to the final RESULT or
// ERROR (dealer.CallObserver), kept per calling connection like the
// message counters (metrics_shard.go) and summed on scrape. The block is
// allocated on a connection's first call, so connections that never call
// pay nothing.

// callBuckets are the upper bounds of tollgate_call_duration_seconds.
var callBuckets = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type callHist struct {
	buckets [len(callBuckets) + 1]atomic.Uint64 // the last is +Inf
	sumNs   atomic.Uint64
}

func (h *callHist) observe(d time.Duration) {
	s := d.Seconds()
	i := 0
	for i < len(callBuckets) && s > callBuckets[i] {
		i++
	}
	h.buckets[i].Add(1)
	h.sumNs.Add(uint64(max(d, 0)))
}

// CallAnswered is dealer.CallObserver: one of s's calls got its answer.
func (s *session) CallAnswered(d time.Duration) {
	h := s.conn.calls.Load()
	if h == nil {
		s.conn.calls.CompareAndSwap(nil, new(callHist))
		h = s.conn.calls.Load()
	}
	h.observe(d)
}

// callTotals is a plain sum of callHists (not cumulative).
type callTotals struct {
	buckets [len(callBuckets) + 1]uint64
	sumNs   uint64
}

func (ct *callTotals) add(h *callHist) {
	if h == nil {
		return
	}
	for i := range h.buckets {
		ct.buckets[i] += h.buckets[i].Load()
	}
	ct.sumNs += h.sumNs.Load()
}

var dCallDuration = desc("tollgate_call_duration_seconds", "Time from CALL to its final RESULT or ERROR, measured by the router, over all realms.")

func (ct *callTotals) metric() prometheus.Metric {
	cum := make(map[float64]uint64, len(callBuckets))
	n := uint64(0)
	for i, ub := range callBuckets {
		n += ct.buckets[i]
		cum[ub] = n
	}
	n += ct.buckets[len(callBuckets)]
	return prometheus.MustNewConstHistogram(dCallDuration, n, float64(ct.sumNs)/1e9, cum)
}
