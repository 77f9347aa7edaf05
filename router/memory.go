package router

import (
	"runtime/debug"
	"time"
)

// After many connections close, their memory is garbage that the runtime
// hands back to the OS only slowly: the heap goal stays at the peak until
// the next GC, which an idle router runs only every two minutes, and the
// scavenger keeps memory up to that goal. So after a large drop in
// connections the router returns it itself (debug.FreeOSMemory: a GC and
// a full scavenge), a moment after the drop and at most once per
// releaseEvery.
const (
	releaseDrop  = 1024             // connections closed since the peak
	releaseDelay = time.Second      // lets a mass close finish first
	releaseEvery = 10 * time.Second // FreeOSMemory is a full GC
)

// memRelease is the state of that decision; Router.mu guards it.
type memRelease struct {
	peak  int // most connections open since the last release
	armed bool
	last  time.Time
}

// opened notes n open connections; r.mu must be held.
func (m *memRelease) opened(n int) { m.peak = max(m.peak, n) }

// closed notes n open connections after a close and reports after how
// long to release memory, or false; r.mu must be held.
func (m *memRelease) closed(n int, now time.Time) (time.Duration, bool) {
	if m.armed || m.peak-n < releaseDrop || n > m.peak/2 {
		return 0, false
	}
	m.armed = true
	return max(releaseDelay, m.last.Add(releaseEvery).Sub(now)), true
}

// connClosed applies memRelease after a connection left r.conns; r.mu
// must be held.
func (r *Router) connClosed() {
	if d, ok := r.mem.closed(len(r.conns), time.Now()); ok {
		time.AfterFunc(d, r.releaseMemory)
	}
}

func (r *Router) releaseMemory() {
	debug.FreeOSMemory()
	r.mu.Lock()
	r.mem = memRelease{peak: len(r.conns), last: time.Now()}
	r.mu.Unlock()
}
