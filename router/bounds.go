package router

import (
	"fmt"

	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Per-session routing bounds (RealmOptions): calls in flight as caller and
// as callee, subscriptions and registrations held.

// Errors answering a SUBSCRIBE or REGISTER over the session's bound.
const (
	ErrTooManySubscriptions wamp.URI = "tollgate.error.too_many_subscriptions"
	ErrTooManyRegistrations wamp.URI = "tollgate.error.too_many_registrations"
)

// Defaults of the RealmOptions bounds.
const (
	DefaultMaxCallsPerCaller          = 1000
	DefaultMaxCallsPerCallee          = 1000
	DefaultMaxSubscriptionsPerSession = 10000
	DefaultMaxRegistrationsPerSession = 1000
)

// sessionBounds are a realm's resolved bounds; 0 is unbounded.
type sessionBounds struct {
	calls, invocations, subscriptions, registrations int
}

func resolveBounds(o RealmOptions) sessionBounds {
	return sessionBounds{
		calls:         bound(o.MaxCallsPerCaller, DefaultMaxCallsPerCaller),
		invocations:   bound(o.MaxCallsPerCallee, DefaultMaxCallsPerCallee),
		subscriptions: bound(o.MaxSubscriptionsPerSession, DefaultMaxSubscriptionsPerSession),
		registrations: bound(o.MaxRegistrationsPerSession, DefaultMaxRegistrationsPerSession),
	}
}

// bound maps an option to its value: 0 is the default, negative unbounded.
func bound(v, def int) int {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// mayAddSubscription reports whether s is below its subscription bound;
// if not, it has answered the SUBSCRIBE.
func (s *session) mayAddSubscription(req wamp.ID) bool {
	n := s.realm.bounds.subscriptions
	if n == 0 || len(s.subs) < n {
		return true
	}
	s.r.stats.boundRefusals.Add(1)
	s.replyError(wamp.TypeSubscribe, req, ErrTooManySubscriptions, fmt.Sprintf("this session holds %d subscriptions, the most the realm allows", n))
	return false
}

// mayAddRegistration is mayAddSubscription for REGISTER.
func (s *session) mayAddRegistration(req wamp.ID) bool {
	n := s.realm.bounds.registrations
	if n == 0 || s.peer.RegistrationCount() < n {
		return true
	}
	s.r.stats.boundRefusals.Add(1)
	s.replyError(wamp.TypeRegister, req, ErrTooManyRegistrations, fmt.Sprintf("this session holds %d registrations, the most the realm allows", n))
	return false
}

// boundRefusal explains a CALL the dealer refused for an in-flight bound,
// or returns "".
func (rm *realm) boundRefusal(errURI wamp.URI) string {
	switch errURI {
	case dealer.ErrTooManyCalls:
		return fmt.Sprintf("this session has %d calls in flight, the most the realm allows", rm.bounds.calls)
	case dealer.ErrCalleeBusy:
		return fmt.Sprintf("the callee has %d calls in flight, the most the realm allows", rm.bounds.invocations)
	}
	return ""
}
