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
// releaseEvery. A large rise does the same once the joins settle: each
// handshake leaves ~12 KiB of garbage, and the heap goal it raised would
// keep an idle router's memory at about twice what its sessions use.
const (
	releaseDrop  = 1024             // connections closed since the peak
	releaseRise  = 1024             // connections opened since the last release
	releaseQuiet = releaseRise / 16 // fewer opens than this in releaseDelay: settled
	releaseDelay = time.Second      // lets a mass close finish first
	releaseEvery = 10 * time.Second // FreeOSMemory is a full GC
)

// memRelease is the state of that decision; Router.mu guards it.
type memRelease struct {
	peak  int // most connections open since the last release
	base  int // fewest connections open since the last release
	opens int // connections opened since the last check of a rise
	armed bool
	// rise: the armed release is for a rise. Rises and drops are each
	// released at most once per releaseEvery (last, lastRise), so one
	// after a mass join does not hold back the one after a mass close.
	rise           bool
	last, lastRise time.Time
}

// opened notes n open connections; r.mu must be held.
func (m *memRelease) opened(n int) { m.peak = max(m.peak, n) }

// rose notes n open connections after an open and reports after how long
// to release memory, or false; r.mu must be held.
func (m *memRelease) rose(n int, now time.Time) (time.Duration, bool) {
	m.opens++
	if m.armed || n-m.base < releaseRise {
		return 0, false
	}
	m.armed, m.rise, m.opens = true, true, 0
	return max(releaseDelay, m.lastRise.Add(releaseEvery).Sub(now)), true
}

// settled reports whether the connections opened since the last call are
// few enough to release memory now; r.mu must be held.
func (m *memRelease) settled() bool {
	quiet := m.opens < releaseQuiet
	m.opens = 0
	return quiet
}

// closed notes n open connections after a close and reports after how
// long to release memory, or false; r.mu must be held.
func (m *memRelease) closed(n int, now time.Time) (time.Duration, bool) {
	m.base = min(m.base, n)
	if m.armed || m.peak-n < releaseDrop || n > m.peak/2 {
		return 0, false
	}
	m.armed, m.opens = true, 0
	return max(releaseDelay, m.last.Add(releaseEvery).Sub(now)), true
}

// connClosed applies memRelease after a connection left r.conns; r.mu
// must be held.
func (r *Router) connClosed() {
	if d, ok := r.mem.closed(len(r.conns), time.Now()); ok {
		time.AfterFunc(d, r.releaseMemory)
	}
}

// connOpened applies memRelease after a connection joined r.conns; r.mu
// must be held.
func (r *Router) connOpened() {
	n := len(r.conns)
	r.mem.opened(n)
	if d, ok := r.mem.rose(n, time.Now()); ok {
		time.AfterFunc(d, r.releaseMemory)
	}
}

// releaseMemory frees memory once connections stopped arriving in bulk
// (checked every releaseDelay).
func (r *Router) releaseMemory() {
	r.mu.Lock()
	if !r.mem.settled() {
		r.mu.Unlock()
		time.AfterFunc(releaseDelay, r.releaseMemory)
		return
	}
	r.mu.Unlock()
	debug.FreeOSMemory()
	r.mu.Lock()
	n, m := len(r.conns), r.mem
	r.mem = memRelease{peak: n, base: n, last: m.last, lastRise: m.lastRise}
	if m.rise {
		r.mem.lastRise = time.Now()
	} else {
		r.mem.last = time.Now()
	}
	r.mu.Unlock()
}
