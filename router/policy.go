package router

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The realm's policy on requests: reserved URIs, authorization, and the
// rule for pattern registrations and subscriptions.

// authorize asks the realm whether s may do action on uri, bounded by the
// connection's context.
func (s *session) authorize(action authz.Action, uri wamp.URI, options wamp.Dict) authz.Decision {
	return s.Authorize(s.ctx, action, uri, options)
}

// Authorize asks the realm whether s may do action on uri. An open realm
// (no roles configured) allows everything and discloses on request.
func (s *session) Authorize(ctx context.Context, action authz.Action, uri wamp.URI, options wamp.Dict) authz.Decision {
	if s.realm.authz == nil {
		d, _ := wamp.OptBool(options, "disclose_me")
		return authz.Decision{Allow: true, Disclose: d || s.authrole == authz.RoleTrusted}
	}
	var start time.Time
	if s.r.opts.AuditLog != nil { // time only what may be audited
		start = time.Now()
	}
	d := s.realm.authz.Authorize(ctx, s.az, uri, action, options)
	if d.Failed {
		s.r.stats.authzFailures.Add(1)
		s.log.Warn("authorization failed; denying", "action", action, "uri", uri, "reason", d.Message)
	}
	if s.r.opts.AuditLog != nil && d.Source != authz.SourceCache {
		s.auditDecision(ctx, action, uri, options, d, time.Since(start))
	}
	return d
}

// refusal is the error URI and message for a denied decision.
func refusal(d authz.Decision, action authz.Action, uri wamp.URI) (wamp.URI, string) {
	if d.Failed {
		return wamp.ErrAuthorizationFailed, d.Message
	}
	return wamp.ErrNotAuthorized, fmt.Sprintf("not authorized to %s %q", action, uri)
}

// routerURIPrefix starts the URIs of Tollgate's own procedures (beside the
// spec's wamp.*), e.g. tollgate.authorizer.flush.
const routerURIPrefix = "tollgate."

// reservedURI reports whether only trusted sessions may register or
// publish u: the spec's wamp.* and the router's own tollgate.*.
func reservedURI(u wamp.URI) bool {
	return u.Reserved() || strings.HasPrefix(string(u), routerURIPrefix)
}

// reservedPattern reports whether a registration of u with match policy
// could match a reserved procedure: such a pattern would receive calls to
// wamp.* and tollgate.* procedures the router does not serve itself (with
// the caller disclosed), so only trusted sessions may register it.
// Prefixes match bytes, so any prefix of "wamp." or "tollgate." ("",
// "wam", "tollgate") reaches them; a wildcard's empty first component
// matches any.
func reservedPattern(u wamp.URI, policy string) bool {
	if reservedURI(u) {
		return true
	}
	s := string(u)
	switch policy {
	case wamp.MatchPrefix:
		return strings.HasPrefix("wamp.", s) || strings.HasPrefix(routerURIPrefix, s)
	case wamp.MatchWildcard:
		first, _, _ := strings.Cut(s, ".")
		return first == "" || first == "wamp" || first+"." == routerURIPrefix
	}
	return false
}

// call routes c from caller (a client or the internal session): the
// dealer picks the callee, mayServe may refuse it, then the dealer invokes
// it. It returns "" when the call was routed, or the error URI to answer
// with now.
func (rm *realm) call(caller *dealer.Peer, c *wamp.Call, o dealer.CallOptions) wamp.URI {
	t, ok := rm.dealer.Pick(c.Procedure)
	if !ok && rm.cl.caughtUp() { // another node may have just registered it
		t, ok = rm.dealer.Pick(c.Procedure)
	}
	if !ok || t.Pattern() && !rm.mayServe(t.Callee(), c.Procedure) {
		return wamp.ErrNoSuchProcedure
	}
	return rm.dealer.Call(caller, c, t, o)
}

// mayServe is the rule for calls routed to prefix and wildcard
// registrations (docs/authorization.md, "Pattern registrations"): in a
// realm with roles, the callee gets the call only if its role may register
// the concrete procedure, so "register everything under com.app. except
// com.app.secret" holds. Static roles are evaluated per call; for dynamic
// roles a cached answer for the concrete procedure can refuse, otherwise
// the answer that admitted the pattern registration stands. A refused call
// is answered wamp.error.no_such_procedure.
func (rm *realm) mayServe(callee dealer.Session, procedure wamp.URI) bool {
	if rm.authz == nil {
		return true
	}
	s, ok := callee.(*session)
	if !ok {
		return true // the router's own procedures
	}
	allowed, known := rm.authz.Peek(s.az, procedure, authz.ActionRegister)
	return allowed || !known
}

// mayReceive is the broker's filter for events of prefix and wildcard
// subscriptions (docs/authorization.md, "Pattern subscriptions"): in a
// realm with roles, a subscriber gets an event only if its role may
// subscribe to the concrete topic. Static roles are evaluated per event;
// for dynamic roles only a cached authorizer answer for the concrete topic
// can withhold it (no authorizer is called on the publish path), otherwise
// the answer that admitted the pattern subscription stands. Withheld
// events are counted in Stats.WithheldEvents.
func (rm *realm) mayReceive(bs broker.Session, topic wamp.URI) bool {
	if rm.authz == nil {
		return true
	}
	s, ok := bs.(*session)
	if !ok {
		return true
	}
	allowed, known := rm.authz.Peek(s.az, topic, authz.ActionSubscribe)
	if allowed || !known {
		return true
	}
	s.r.stats.withheldEvents.Add(1)
	return false
}
