package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistIndex(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 130, 255, 256, 1000, 1 << 20, 1<<20 + 1, histMaxValue, histMaxValue + 1, 1 << 63} {
		i := histIndex(v)
		if i < prev || i >= histBuckets {
			t.Fatalf("histIndex(%d) = %d (prev %d, buckets %d)", v, i, prev, histBuckets)
		}
		prev = i
		if v <= histMaxValue && histHigh(i) < v {
			t.Fatalf("histHigh(%d) = %d < value %d", i, histHigh(i), v)
		}
		if v <= histMaxValue && i > 0 && histHigh(i-1) >= v {
			t.Fatalf("value %d also fits bucket %d", v, i-1)
		}
	}
}

func TestQuantilesAgainstSort(t *testing.T) {
	t.Parallel()
	r := newRecorder()
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 20000)
	for i := range vals {
		vals[i] = time.Duration(rng.ExpFloat64() * float64(200*time.Microsecond))
		r.record(vals[i])
	}
	slices.Sort(vals)
	l := summarize([]*recorder{r})
	if l.Min != vals[0] || l.Max != vals[len(vals)-1] || l.Count != int64(len(vals)) {
		t.Fatalf("min/max/count %v %v %d", l.Min, l.Max, l.Count)
	}
	for _, q := range []struct {
		p   float64
		got time.Duration
	}{{0.5, l.P50}, {0.9, l.P90}, {0.99, l.P99}, {0.999, l.P999}} {
		want := vals[int(q.p*float64(len(vals)))-1]
		if diff := float64(q.got-want) / float64(want); diff < -0.02 || diff > 0.02 {
			t.Errorf("p%v = %v, exact %v (off by %.1f%%)", q.p*100, q.got, want, diff*100)
		}
	}
}

func TestEmptyHist(t *testing.T) {
	t.Parallel()
	if l := summarize([]*recorder{newRecorder()}); l != (Latency{}) {
		t.Fatalf("empty: %+v", l)
	}
}
