package authz

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Messages of questions the guard refuses before calling the authorizer.
const (
	msgOverloaded  = "authorization failed: the authorizer is overloaded"
	msgCircuitOpen = "authorization failed: the authorizer is unavailable"
)

// guard is the path to one authorizer procedure (shared by the roles that
// name it): at most max calls in flight, at most queue more waiting for a
// slot, and a circuit breaker that fails fast for cooldown after
// threshold consecutive failures (errors, timeouts, malformed answers;
// not denials, not askers that went away).
type guard struct {
	sem       chan struct{} // nil: unbounded
	queue     int64
	waiting   atomic.Int64
	threshold int // 0: no breaker
	cooldown  time.Duration

	mu        sync.Mutex
	fails     int
	openUntil time.Time

	rejected atomic.Uint64 // refused: queue full, waited too long, or circuit open
	opened   atomic.Uint64 // times the circuit opened
}

type guardTable map[[2]wamp.URI]*guard

// of returns the guard of (realm, proc), made with rc's limits by the
// first role naming it.
func (t guardTable) of(realm, proc wamp.URI, rc *RoleConfig) *guard {
	k := [2]wamp.URI{realm, proc}
	if g := t[k]; g != nil {
		return g
	}
	g := &guard{threshold: rc.BreakerThreshold, cooldown: rc.BreakerCooldown}
	if g.cooldown == 0 {
		g.cooldown = DefaultBreakerCooldown
	}
	if rc.MaxInFlight > 0 {
		g.sem = make(chan struct{}, rc.MaxInFlight)
		g.queue = int64(rc.MaxQueued)
		if rc.MaxQueued == 0 {
			g.queue = int64(4 * rc.MaxInFlight)
		}
	}
	t[k] = g
	return g
}

// DefaultBreakerCooldown is how long an open circuit fails fast when
// RoleConfig.BreakerCooldown is 0.
const DefaultBreakerCooldown = 5 * time.Second

// enter waits for a slot (bounded by ctx: the call's deadline). msg is set
// when the question must fail without a call; otherwise release must be
// called when the call is done.
func (g *guard) enter(ctx context.Context) (release func(), msg string) {
	if g.threshold > 0 {
		g.mu.Lock()
		open := time.Now().Before(g.openUntil)
		g.mu.Unlock()
		if open {
			g.rejected.Add(1)
			return nil, msgCircuitOpen
		}
	}
	if g.sem == nil {
		return func() {}, ""
	}
	select {
	case g.sem <- struct{}{}:
		return func() { <-g.sem }, ""
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		g.rejected.Add(1)
		return nil, msgOverloaded
	}
	defer g.waiting.Add(-1)
	select {
	case g.sem <- struct{}{}:
		return func() { <-g.sem }, ""
	case <-ctx.Done():
		g.rejected.Add(1)
		return nil, msgOverloaded
	}
}

// record notes a call's outcome; opened is true when this failure opened
// the circuit (log it once).
func (g *guard) record(failed bool) (opened bool) {
	if g.threshold == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !failed {
		g.fails = 0
		return false
	}
	g.fails++
	if g.fails >= g.threshold && !time.Now().Before(g.openUntil) {
		g.openUntil = time.Now().Add(g.cooldown)
		g.fails = g.threshold - 1 // half-open after the cooldown: one more failure re-opens
		g.opened.Add(1)
		return true
	}
	return false
}
