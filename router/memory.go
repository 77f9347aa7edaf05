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
// keep an idle router's memory at about twice what its sessions use. So
// does a large number of parkings (conn.park): each parked read loop
// leaves its goroutine stack (4 KiB or more) as free memory.
const (
	releaseDrop  = 1024             // connections closed since the peak
	releaseRise  = 1024             // connections opened since the last release
	releasePark  = 1024             // connections parked since the last release
	releaseQuiet = releaseRise / 16 // fewer opens than this in releaseDelay: settled
	releaseDelay = time.Second      // lets a mass close finish first
	releaseEvery = 10 * time.Second // FreeOSMemory is a full GC
)

// memRelease is the state of that decision; Router.mu guards it.
type memRelease struct {
	peak  int // most connections open since the last release
	base  int // fewest connections open since the last release
	opens int // connections opened, parked or closed since the last check
	armed bool
	parks int // connections parked since the last release
	// rise, park: the armed release is for a rise, for parkings. Drops,
	// rises and parkings are each released at most once per releaseEvery
	// (last, lastRise, lastPark), so one after a mass join does not hold
	// back the one after the sessions parked or a mass close.
	rise, park               bool
	last, lastRise, lastPark time.Time
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

// parked notes a parking and reports after how long to release memory,
// or false; r.mu must be held. Parkings count as activity for settled.
func (m *memRelease) parked(now time.Time) (time.Duration, bool) {
	m.parks++
	m.opens++
	if m.armed || m.parks < releasePark {
		return 0, false
	}
	m.armed, m.park, m.opens = true, true, 0
	return max(releaseDelay, m.lastPark.Add(releaseEvery).Sub(now)), true
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
	m.opens++ // a mass close is still tearing sessions down: not settled
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

// connParked applies memRelease after a connection parked.
func (r *Router) connParked() {
	r.mu.Lock()
	d, ok := r.mem.parked(time.Now())
	r.mu.Unlock()
	if ok {
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
	r.mem = memRelease{peak: n, base: n, last: m.last, lastRise: m.lastRise, lastPark: m.lastPark}
	switch {
	case m.park:
		r.mem.lastPark = time.Now()
	case m.rise:
		r.mem.lastRise = time.Now()
	default:
		r.mem.last = time.Now()
	}
	r.mu.Unlock()
}
