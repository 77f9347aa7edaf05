package router

import (
	"fmt"
	"strings"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Advanced profile glue: progressive call invocations, payload passthru
// mode (PPT), event retention options and the authorization rule for
// pattern subscriptions. The stores themselves live in internal/broker
// (store.go) and internal/dealer (progressive.go).

// intercept runs before the established loop dispatches m. It enforces the
// feature announcements the spec makes protocol errors (ABORT
// wamp.error.protocol_violation; ok=false ends the session) and routes the
// continuation chunks of progressive call invocations (handled=true: m
// needs nothing more).
func (s *session) intercept(m wamp.Message) (handled, ok bool) {
	switch m := m.(type) {
	case *wamp.Publish:
		if isPPT(m.Options) && !s.publisherPPT {
			return true, s.violation("PUBLISH uses payload passthru mode (ppt_scheme) but HELLO did not announce publisher feature payload_passthru_mode")
		}
	case *wamp.Call:
		var progress bool
		if !optional(m.Options, "progress", wamp.OptBool, &progress) {
			s.replyError(wamp.TypeCall, m.Request, wamp.ErrInvalidArgument, "option progress must be a bool")
			return true, true
		}
		if progress && !s.callerInvocations {
			return true, s.violation("CALL with progress: true but HELLO did not announce caller feature progressive_call_invocations")
		}
		if s.callerInvocations {
			switch r, msg := s.realm.dealer.Continue(s.peer, m, progress); r {
			case dealer.Continued, dealer.Discarded:
				return true, true
			case dealer.Conflict:
				return true, s.violation(msg)
			}
		}
		// A new call.
		if _, msg := pptOptions(m.Options); msg != "" {
			s.replyError(wamp.TypeCall, m.Request, wamp.ErrInvalidArgument, msg)
			if progress {
				s.realm.dealer.Settle(s.peer, m.Request)
			}
			return true, true
		}
		if isPPT(m.Options) && !s.peer.CallerPPT {
			return true, s.violation("CALL uses payload passthru mode (ppt_scheme) but HELLO did not announce caller feature payload_passthru_mode")
		}
	case *wamp.Error:
		if isPPT(m.Details) && !s.peer.CalleePPT {
			return true, s.violation("ERROR uses payload passthru mode (ppt_scheme) but HELLO did not announce callee feature payload_passthru_mode")
		}
	case *wamp.Yield:
		if _, msg := pptOptions(m.Options); msg != "" {
			return true, s.violation("YIELD: " + msg)
		}
		if isPPT(m.Options) && !s.peer.CalleePPT {
			return true, s.violation("YIELD uses payload passthru mode (ppt_scheme) but HELLO did not announce callee feature payload_passthru_mode")
		}
	}
	return false, true
}

// violation aborts the session with wamp.error.protocol_violation; it
// returns false for intercept's ok.
func (s *session) violation(msg string) bool {
	s.r.stats.protocolViolations.Add(1)
	s.abort(wamp.ErrProtocolViolation, msg)
	return false
}

// isPPT reports whether options use payload passthru mode: a non-empty
// ppt_scheme string (spec §16.1).
func isPPT(options wamp.Dict) bool {
	scheme, _ := options["ppt_scheme"].(string)
	return scheme != ""
}

// pptOptions returns the ppt_* keys of options (nil when PPT is not used)
// or a message saying what is wrong with them: every ppt_* value must be
// a string, and ppt_scheme must be non-empty when any is given. The
// values are forwarded unchanged; the payload is never looked at.
func pptOptions(options wamp.Dict) (ppt wamp.Dict, msg string) {
	for k, v := range options {
		if !strings.HasPrefix(k, "ppt_") {
			continue
		}
		if _, ok := v.(string); !ok {
			return nil, fmt.Sprintf("option %s must be a string", k)
		}
		if ppt == nil {
			ppt = wamp.Dict{}
		}
		ppt[k] = v
	}
	if ppt != nil && !isPPT(options) {
		return nil, "ppt_* options need a non-empty ppt_scheme"
	}
	return ppt, ""
}

// publishExtras reads PUBLISH.Options.retain and the ppt_* options into p.
func publishExtras(o wamp.Dict, p *broker.Publication) string {
	if !optional(o, "retain", wamp.OptBool, &p.Retain) {
		return "option retain must be a bool"
	}
	ppt, msg := pptOptions(o)
	if msg != "" {
		return msg
	}
	p.Extra = ppt
	return ""
}

// calleeLacks explains a wamp.error.feature_not_supported from the dealer.
func calleeLacks(o dealer.CallOptions) string {
	var need []string
	if o.ProgressiveInput {
		need = append(need, "progressive_call_invocations and call_canceling")
	}
	if o.PPT != nil {
		need = append(need, "payload_passthru_mode")
	}
	return "the callee did not announce " + strings.Join(need, " or ")
}

// mayServe is the dealer's filter for calls routed to prefix and wildcard
// registrations (docs/authorization.md, "Pattern registrations"): in a
// realm with roles, the callee gets the call only if its role may register
// the concrete procedure, so "register everything under com.app. except
// com.app.secret" holds. Static roles are evaluated per call; for dynamic
// roles a cached answer for the concrete procedure can refuse, otherwise
// the answer that admitted the pattern registration stands. A refused call
// is answered wamp.error.no_such_procedure.
func (rm *realm) mayServe(ds dealer.Session, procedure wamp.URI) bool {
	if rm.authz == nil {
		return true
	}
	s, ok := ds.(*session)
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
