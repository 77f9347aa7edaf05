package router

import (
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// errorURIs are the error URIs counted by name in
// tollgate_errors_sent_total: the spec's. Any other URI (an application's
// error from a callee) is counted as "other", so the label stays bounded.
var errorURIs = [...]wamp.URI{
	wamp.ErrInvalidURI, wamp.ErrNoSuchProcedure, wamp.ErrProcedureAlreadyExists, wamp.ErrNoSuchRegistration,
	wamp.ErrNoSuchSubscription, wamp.ErrNoSuchSession, wamp.ErrInvalidArgument, wamp.ErrCanceled, wamp.ErrTimeout,
	wamp.ErrPayloadSizeExceeded, wamp.ErrNotAuthorized, wamp.ErrAuthorizationFailed, wamp.ErrNoSuchRealm,
	wamp.ErrNoSuchRole, wamp.ErrNoSuchPrincipal, wamp.ErrAuthenticationDenied, wamp.ErrAuthenticationFailed,
	wamp.ErrAuthenticationRequired, wamp.ErrNoAuthMethod, wamp.ErrProtocolViolation, wamp.ErrOptionNotAllowed,
	wamp.ErrFeatureNotSupported, wamp.ErrRuntimeError, wamp.ErrNoAvailableCallee, wamp.ErrNoEligibleCallee,
	wamp.ErrNetworkFailure,
}

var errorIndex = func() map[wamp.URI]int {
	m := make(map[wamp.URI]int, len(errorURIs))
	for i, u := range errorURIs {
		m[u] = i
	}
	return m
}()

// errorCounts are indexed like errorURIs; the last slot is "other". They
// are router-wide: an ERROR is an answer to a failed request, not the
// per-message path that metrics_shard.go shards.
type errorCounts [len(errorURIs) + 1]atomic.Uint64

// countError counts an ERROR message being sent (conn.send).
func (r *Router) countError(m wamp.Message) {
	e, ok := m.(*wamp.Error)
	if !ok {
		return
	}
	i, ok := errorIndex[e.Error]
	if !ok {
		i = len(errorURIs)
	}
	r.errorsSent[i].Add(1)
}

// collectErrors reports every counted URI with its count (all of the
// spec's, zero or not, and "other").
func (r *Router) collectErrors(f func(uri string, n uint64)) {
	for i := range r.errorsSent {
		uri := "other"
		if i < len(errorURIs) {
			uri = string(errorURIs[i])
		}
		f(uri, r.errorsSent[i].Load())
	}
}
