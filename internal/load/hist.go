package load

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, in the spirit of HDR histograms: values
// below 128 ns have their own bucket, and every power of two above that is
// split into 64 linear buckets, so a reported value is within 1/64 (1.6%)
// of a recorded one. Memory is fixed (histBuckets counters) whatever the
// number of samples. Values from 2^histMaxBits ns (~2.4 hours) up are
// clamped into the last bucket.
const (
	histSubBits  = 7
	histHalf     = 1 << (histSubBits - 1) // 64
	histMaxBits  = 43
	histBuckets  = (histMaxBits-histSubBits)*histHalf + 2*histHalf
	histMaxValue = 1<<histMaxBits - 1
)

// histIndex returns the bucket of v (ns).
func histIndex(v uint64) int {
	if v > histMaxValue {
		v = histMaxValue
	}
	if v < 1<<histSubBits {
		return int(v)
	}
	s := bits.Len64(v) - histSubBits
	return s*histHalf + int(v>>s)
}

// histHigh returns the highest value that falls into bucket i.
func histHigh(i int) uint64 {
	if i < 1<<histSubBits {
		return uint64(i)
	}
	s := i/histHalf - 1
	m := uint64(i - s*histHalf)
	return (m+1)<<s - 1
}

// recorder records durations from many goroutines without locks.
//
// Concurrency: record is safe from any goroutine; snapshot may run
// concurrently with record and sees some consistent-enough prefix (use it
// after the recording goroutines stopped for exact totals).
type recorder struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Int64
	sum    atomic.Int64
	min    atomic.Int64 // 0 = none yet; stored as value+1
	max    atomic.Int64
}

func newRecorder() *recorder { return &recorder{} }

func (r *recorder) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	v := int64(d)
	r.counts[histIndex(uint64(v))].Add(1)
	r.n.Add(1)
	r.sum.Add(v)
	for {
		cur := r.max.Load()
		if v <= cur || r.max.CompareAndSwap(cur, v) {
			break
		}
	}
	for {
		cur := r.min.Load()
		if (cur != 0 && v+1 >= cur) || r.min.CompareAndSwap(cur, v+1) {
			break
		}
	}
}

// hist is a plain snapshot of one or more recorders.
type hist struct {
	counts   [histBuckets]uint64
	n        int64
	sum      float64
	min, max int64
}

func (h *hist) add(r *recorder) {
	n := r.n.Load()
	if n == 0 {
		return
	}
	for i := range h.counts {
		h.counts[i] += r.counts[i].Load()
	}
	mn := r.min.Load() - 1
	if h.n == 0 || mn < h.min {
		h.min = mn
	}
	h.max = max(h.max, r.max.Load())
	h.n += n
	h.sum += float64(r.sum.Load())
}

// quantile returns the value at quantile q (0..1]: the highest value of
// the bucket holding the ceil(q·n)-th smallest sample, clamped to the
// recorded min and max. It is monotone in q.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := int64(histHigh(i))
			return time.Duration(min(max(v, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Latency summarizes a set of durations. Durations are nanoseconds in JSON.
type Latency struct {
	Count int64         `json:"count"`
	Min   time.Duration `json:"min_ns"`
	Mean  time.Duration `json:"mean_ns"`
	P50   time.Duration `json:"p50_ns"`
	P90   time.Duration `json:"p90_ns"`
	P99   time.Duration `json:"p99_ns"`
	P999  time.Duration `json:"p999_ns"`
	Max   time.Duration `json:"max_ns"`
}

func (h *hist) latency() Latency {
	if h.n == 0 {
		return Latency{}
	}
	return Latency{
		Count: h.n,
		Min:   time.Duration(h.min),
		Mean:  time.Duration(h.sum / float64(h.n)),
		P50:   h.quantile(0.50),
		P90:   h.quantile(0.90),
		P99:   h.quantile(0.99),
		P999:  h.quantile(0.999),
		Max:   time.Duration(h.max),
	}
}

func summarize(rs []*recorder) Latency {
	h := new(hist)
	for _, r := range rs {
		h.add(r)
	}
	return h.latency()
}
