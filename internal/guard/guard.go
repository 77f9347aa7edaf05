// Package guard bounds the router's calls to one backend procedure (a
// dynamic authenticator or authorizer): at most MaxInFlight calls at once,
// at most MaxQueued more callers waiting for a slot (in arrival order,
// within their own deadline), and a circuit breaker that fails fast for
// Cooldown after Threshold consecutive failures. Package auth and authz
// share it; the router reads its counters for the metrics.
package guard

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Defaults of a zero Limits field.
const (
	DefaultMaxInFlight = 64
	// DefaultQueueFactor × MaxInFlight is MaxQueued's default.
	DefaultQueueFactor = 4
	DefaultCooldown    = 5 * time.Second
)

// Limits configure a Guard. Zero fields take the defaults: 64 calls in
// flight, 4 × that many queued, no breaker, a 5 s cooldown.
type Limits struct {
	// MaxInFlight bounds the calls at once; negative: unbounded.
	MaxInFlight int
	// MaxQueued bounds the callers waiting for a slot; negative: none
	// wait (a caller finding every slot taken is refused at once).
	MaxQueued int
	// Threshold consecutive failures open the breaker; 0: no breaker.
	Threshold int
	// Cooldown is how long an open breaker refuses every caller.
	Cooldown time.Duration
}

// resolved applies the defaults: MaxInFlight 0 means unbounded after it.
func (l Limits) resolved() Limits {
	switch {
	case l.MaxInFlight == 0:
		l.MaxInFlight = DefaultMaxInFlight
	case l.MaxInFlight < 0:
		l.MaxInFlight = 0
	}
	switch {
	case l.MaxQueued == 0:
		l.MaxQueued = DefaultQueueFactor * l.MaxInFlight
	case l.MaxQueued < 0:
		l.MaxQueued = 0
	}
	if l.Cooldown == 0 {
		l.Cooldown = DefaultCooldown
	}
	return l
}

// Reason is why a caller was refused without a call.
type Reason int

const (
	QueueFull   Reason = iota // every slot taken and the queue full
	WaitTimeout               // the caller's deadline passed while it waited
	CircuitOpen               // the breaker is open
	numReasons
)

// Reasons are every Reason, in order (for metrics).
var Reasons = [numReasons]Reason{QueueFull, WaitTimeout, CircuitOpen}

func (r Reason) String() string {
	switch r {
	case QueueFull:
		return "queue_full"
	case WaitTimeout:
		return "wait_timeout"
	case CircuitOpen:
		return "circuit_open"
	}
	return "unknown"
}

// Guard is the path to one backend procedure. It is safe for concurrent
// use; the zero value is not usable (New).
type Guard struct {
	lim Limits // resolved; immutable

	mu        sync.Mutex
	inFlight  int
	queue     []chan struct{} // waiting callers, oldest first; a send hands over a slot
	fails     int
	openUntil time.Time

	rejected [numReasons]atomic.Uint64
	opened   atomic.Uint64
}

// New returns a Guard with l's limits (defaults applied).
func New(l Limits) *Guard { return &Guard{lim: l.resolved()} }

// Limits returns the guard's limits, defaults applied (MaxInFlight 0:
// unbounded).
func (g *Guard) Limits() Limits { return g.lim }

// Enter waits for a slot, bounded by ctx (the call's deadline). When ok,
// the caller makes its call and then calls Leave; otherwise it must fail
// without calling, for reason.
func (g *Guard) Enter(ctx context.Context) (reason Reason, ok bool) {
	g.mu.Lock()
	if g.lim.Threshold > 0 && time.Now().Before(g.openUntil) {
		g.mu.Unlock()
		return g.refuse(CircuitOpen)
	}
	if g.lim.MaxInFlight == 0 || g.inFlight < g.lim.MaxInFlight {
		g.inFlight++
		g.mu.Unlock()
		return 0, true
	}
	if len(g.queue) >= g.lim.MaxQueued {
		g.mu.Unlock()
		return g.refuse(QueueFull)
	}
	w := make(chan struct{}, 1)
	g.queue = append(g.queue, w)
	g.mu.Unlock()
	select {
	case <-w:
		return 0, true
	case <-ctx.Done():
	}
	g.mu.Lock()
	i := slices.Index(g.queue, w)
	if i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	g.mu.Unlock()
	if i < 0 { // handed a slot as the deadline passed: give it on
		<-w
		g.Leave()
	}
	return g.refuse(WaitTimeout)
}

func (g *Guard) refuse(r Reason) (Reason, bool) {
	g.rejected[r].Add(1)
	return r, false
}

// Leave ends a call Enter admitted, handing its slot to the oldest waiter.
func (g *Guard) Leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) > 0 {
		w := g.queue[0]
		g.queue[0] = nil
		g.queue = g.queue[1:]
		w <- struct{}{}
		return
	}
	g.inFlight--
}

// Record notes a finished call's outcome: failed for an error, timeout or
// malformed answer (not for a denial or refusal the backend chose, and
// not for a caller that went away). opened is true when this failure
// opened the breaker: log it then, once. After the cooldown the breaker is
// half-open: a success closes it, one more failure opens it again.
func (g *Guard) Record(failed bool) (opened bool) {
	if g.lim.Threshold == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !failed {
		g.fails = 0
		return false
	}
	g.fails++
	now := time.Now()
	if g.fails >= g.lim.Threshold && !now.Before(g.openUntil) {
		g.openUntil = now.Add(g.lim.Cooldown)
		g.fails = g.lim.Threshold - 1
		g.opened.Add(1)
		return true
	}
	return false
}

// Stats is a snapshot of a guard's state and counters.
type Stats struct {
	InFlight, Queued int
	Open             bool // the breaker refuses callers now
	Rejected         [numReasons]uint64
	Opened           uint64 // times the breaker opened
}

// RejectedTotal is the sum of Rejected.
func (s *Stats) RejectedTotal() uint64 {
	var n uint64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// Add sums o into s (Open if either is).
func (s *Stats) Add(o Stats) {
	s.InFlight += o.InFlight
	s.Queued += o.Queued
	s.Open = s.Open || o.Open
	for i := range s.Rejected {
		s.Rejected[i] += o.Rejected[i]
	}
	s.Opened += o.Opened
}

// Stats returns the guard's snapshot.
func (g *Guard) Stats() Stats {
	g.mu.Lock()
	st := Stats{InFlight: g.inFlight, Queued: len(g.queue),
		Open: g.lim.Threshold > 0 && time.Now().Before(g.openUntil)}
	g.mu.Unlock()
	for i := range st.Rejected {
		st.Rejected[i] = g.rejected[i].Load()
	}
	st.Opened = g.opened.Load()
	return st
}

// Key names a guarded procedure: the realm it is called in and its URI.
type Key struct{ Realm, Procedure wamp.URI }

// Table holds one Guard per Key. It is safe for concurrent use.
type Table struct {
	mu sync.Mutex
	m  map[Key]*Guard
}

// Of returns k's guard, made with l by the first caller naming k (later
// callers' limits are ignored: the first configuration wins).
func (t *Table) Of(k Key, l Limits) *Guard {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g := t.m[k]; g != nil {
		return g
	}
	if t.m == nil {
		t.m = map[Key]*Guard{}
	}
	g := New(l)
	t.m[k] = g
	return g
}

// Each calls fn for every guard, in key order.
func (t *Table) Each(fn func(Key, *Guard)) {
	t.mu.Lock()
	keys := make([]Key, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	gs := make([]*Guard, len(keys))
	slices.SortFunc(keys, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Realm, b.Realm), cmp.Compare(a.Procedure, b.Procedure))
	})
	for i, k := range keys {
		gs[i] = t.m[k]
	}
	t.mu.Unlock()
	for i, k := range keys {
		fn(k, gs[i])
	}
}

// CalleeLeft reports whether a call's err says its callee left mid-flight
// (wamp.error.canceled while ctx, the call's deadline, has not passed:
// one of several roundrobin instances restarting). The call is then made
// once more within the same deadline.
func CalleeLeft(ctx context.Context, err error) bool {
	var ce *wamp.CallError
	return errors.As(err, &ce) && ce.URI == wamp.ErrCanceled && ctx.Err() == nil
}
