package router

import "testing"

// BenchmarkRateLimitCheck is the per-request cost of the message rate
// limit: off (the default: one nil check), a session bucket only, and
// session + authid + role buckets (two shared, locked tables).
func BenchmarkRateLimitCheck(b *testing.B) {
	huge := Rate{PerSecond: 1e12, Burst: 1 << 30} // never refuses
	for _, c := range []struct {
		name string
		m    MessageRates
	}{
		{"off", MessageRates{}},
		{"session", MessageRates{Session: huge}},
		{"session+authid+role", MessageRates{Session: huge, AuthID: huge, Role: huge}},
	} {
		b.Run(c.name, func(b *testing.B) {
			sr := newRealmRates(c.m, nil).forSession("joe", "user")
			b.ReportAllocs()
			for b.Loop() {
				if sr != nil {
					if ok, _ := sr.allow(); !ok {
						b.Fatal("refused")
					}
				}
			}
		})
	}
}
