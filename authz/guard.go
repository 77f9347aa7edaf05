package authz

import (
	"github.com/tollgate-wamp/tollgate/internal/guard"
)

// Messages of questions the guard refuses before calling the authorizer.
const (
	msgOverloaded  = "authorization failed: the authorizer is overloaded"
	msgCircuitOpen = "authorization failed: the authorizer is unavailable"
)

// refusal is the message of a question the guard refused for reason.
func refusal(reason guard.Reason) string {
	if reason == guard.CircuitOpen {
		return msgCircuitOpen
	}
	return msgOverloaded
}

// limits are rc's guard limits.
func (rc *RoleConfig) limits() guard.Limits {
	return guard.Limits{MaxInFlight: rc.MaxInFlight, MaxQueued: rc.MaxQueued,
		Threshold: rc.BreakerThreshold, Cooldown: rc.BreakerCooldown}
}

// Guards calls fn with the state of each authorizer's guard (one per
// procedure and realm it is called in), in key order.
func (r *Realm) Guards(fn func(k guard.Key, st guard.Stats)) {
	r.guards.Each(func(k guard.Key, g *guard.Guard) { fn(k, g.Stats()) })
}

// backendFailure reports whether a failed question counts against the
// authorizer's breaker: an error, a timeout or a malformed answer, not an
// authorizer that is not registered (the router answers that at once, so
// failing fast protects nobody, and the breaker would delay the backend's
// return by a cooldown).
func backendFailure(d Decision) bool { return d.Failed && d.Message != msgNotRegistered }

// guardKey is the guard of ro's authorizer.
func guardKey(ro *role) guard.Key { return guard.Key{Realm: ro.authRealm, Procedure: ro.authorizer} }
