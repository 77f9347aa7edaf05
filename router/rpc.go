package router

import (
	"fmt"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Remote procedure calls: REGISTER and CALL are parsed once into their
// typed form, checked against the realm's policy (policy.go) and handed to
// the dealer; YIELD, ERROR and CANCEL go to the dealer after the feature
// checks the spec makes protocol errors.

// registerRequest is a parsed REGISTER.
type registerRequest struct {
	*wamp.Register
	opts dealer.RegisterOptions
	// errURI and msg are the ERROR answering a malformed REGISTER; errURI
	// is "" for a well-formed one.
	errURI wamp.URI
	msg    string
}

func parseRegister(m *wamp.Register, strict bool) registerRequest {
	r := registerRequest{Register: m, opts: dealer.RegisterOptions{Invoke: dealer.InvokeSingle}}
	var ok bool
	if r.opts.Match, ok = wamp.MatchPolicy(m.Options); !ok {
		r.errURI, r.msg = wamp.ErrInvalidArgument, fmt.Sprintf("unknown match policy %v", m.Options["match"])
		return r
	}
	if v, present := m.Options["invoke"]; present {
		r.opts.Invoke, _ = v.(string)
		if !dealer.ValidInvoke(r.opts.Invoke) {
			r.errURI, r.msg = wamp.ErrInvalidArgument, fmt.Sprintf("unknown invocation policy %v", v)
			return r
		}
	}
	if !wamp.ValidURI(m.Procedure, strict, r.opts.Match) {
		r.errURI, r.msg = wamp.ErrInvalidURI, fmt.Sprintf("invalid procedure URI %q for match %q", m.Procedure, r.opts.Match)
	}
	return r
}

func (s *session) register(r registerRequest) {
	if r.errURI != "" {
		s.replyError(wamp.TypeRegister, r.Request, r.errURI, r.msg)
		return
	}
	if reservedPattern(r.Procedure, r.opts.Match) && s.authrole != authz.RoleTrusted {
		s.replyError(wamp.TypeRegister, r.Request, wamp.ErrInvalidURI, "registering wamp.* and tollgate.* procedures, or a pattern that matches them, is reserved to the router")
		return
	}
	if !s.realm.cl.available() { // cluster_meta.go
		s.replyError(wamp.TypeRegister, r.Request, ErrClusterUnavailable, "this cluster node does not see a majority of its cluster")
		return
	}
	since := s.realm.revocations() // revoke.go
	if d := s.authorize(authz.ActionRegister, r.Procedure, r.Options); !d.Allow {
		uri, msg := refusal(d, authz.ActionRegister, r.Procedure)
		s.replyError(wamp.TypeRegister, r.Request, uri, msg)
		return
	}
	if !s.mayAddRegistration(r.Request) {
		return
	}
	id, created, errURI, msg := s.attach(r) // the dealer, or the cluster's registry (cluster_rpc.go)
	if errURI != "" {
		s.replyError(wamp.TypeRegister, r.Request, errURI, msg)
		return
	}
	s.send(&wamp.Registered{Request: r.Request, Registration: id})
	s.realm.meta.Registered(s, id, created)
	s.recheckIfRevoked(since, authz.ActionRegister, id, r.Procedure, r.Options)
}

func (s *session) unregister(m *wamp.Unregister) {
	d, ok := s.realm.dealer.Detach(s.peer, m.Registration)
	if !ok {
		s.replyError(wamp.TypeUnregister, m.Request, wamp.ErrNoSuchRegistration, "")
		return
	}
	s.realm.cl.unregistered(s, d) // the cluster's registry too (cluster_rpc.go)
	s.send(&wamp.Unregistered{Request: m.Request})
	s.realm.meta.Unregistered(s, d)
}

// callRequest is a parsed CALL. Its problems are reported where the
// spec-order checks put them: progress before anything (a chunk of a
// progressive call cannot be told from a new call without it), ppt_* and
// the URI before authorization, the other options after it.
type callRequest struct {
	*wamp.Call
	// opts holds the parsed options: ProgressiveInput (Options.progress),
	// ReceiveProgress, Timeout, PPT. Disclose is the policy's decision.
	opts                                   dealer.CallOptions
	ppt                                    bool // uses payload passthru mode
	badProgress, badPPT, badURI, badOption string
}

func parseCall(m *wamp.Call, strict bool) callRequest {
	r := callRequest{Call: m}
	if !optional(m.Options, "progress", wamp.OptBool, &r.opts.ProgressiveInput) {
		r.badProgress = "option progress must be a bool"
	}
	r.ppt = isPPT(m.Options)
	r.opts.PPT, r.badPPT = pptOptions(m.Options)
	if !wamp.ValidURI(m.Procedure, strict, wamp.MatchExact) {
		r.badURI = fmt.Sprintf("invalid procedure URI %q", m.Procedure)
	}
	var ms int64
	switch {
	case !optional(m.Options, "receive_progress", wamp.OptBool, &r.opts.ReceiveProgress):
		r.badOption = "option receive_progress must be a bool"
	case !optional(m.Options, "disclose_me", wamp.OptBool, new(bool)):
		r.badOption = "option disclose_me must be a bool"
	case !optional(m.Options, "timeout", wamp.OptInt, &ms) || ms < 0:
		r.badOption = "option timeout must be a non-negative integer (milliseconds)"
	}
	r.opts.Timeout = time.Duration(ms) * time.Millisecond
	return r
}

// call handles a CALL: the next chunk of a progressive call invocation
// goes to its invocation, a new call is checked and routed. False means
// the session was aborted.
func (s *session) call(r callRequest) bool {
	if r.badProgress != "" {
		s.replyError(wamp.TypeCall, r.Request, wamp.ErrInvalidArgument, r.badProgress)
		return true
	}
	progress := r.opts.ProgressiveInput
	if progress && !s.features.callerProgressiveInvocations {
		return s.violation("CALL with progress: true but HELLO did not announce caller feature progressive_call_invocations")
	}
	rm := s.realm
	if s.features.callerProgressiveInvocations {
		switch res, msg := rm.dealer.Continue(s.peer, r.Call, progress); res {
		case dealer.Continued, dealer.Discarded:
			return true
		case dealer.Conflict:
			return s.violation(msg)
		}
	}
	if r.ppt && r.badPPT == "" && !s.features.callerPPT {
		return s.violation("CALL uses payload passthru mode (ppt_scheme) but HELLO did not announce caller feature payload_passthru_mode")
	}
	if progress {
		// First chunk of a progressive call invocation: if it is refused
		// or answered at once, its later chunks are discarded.
		defer rm.dealer.Settle(s.peer, r.Request)
	}
	fail := func(uri wamp.URI, msg string) bool {
		s.replyError(wamp.TypeCall, r.Request, uri, msg)
		return true
	}
	switch {
	case r.badPPT != "":
		return fail(wamp.ErrInvalidArgument, r.badPPT)
	case r.badURI != "":
		return fail(wamp.ErrInvalidURI, r.badURI)
	}
	// Authorization comes before the registry lookup, so a denied caller
	// cannot probe which procedures exist.
	d := s.authorize(authz.ActionCall, r.Procedure, r.Options)
	if !d.Allow {
		return fail(refusal(d, authz.ActionCall, r.Procedure))
	}
	if r.badOption != "" {
		return fail(wamp.ErrInvalidArgument, r.badOption)
	}
	o := r.opts
	// The router's own procedures need to know the caller.
	o.Disclose = d.Disclose || reservedURI(r.Procedure)
	if errURI := rm.call(s.peer, r.Call, o); errURI != "" {
		if errURI == wamp.ErrProtocolViolation {
			return s.violation(fmt.Sprintf("CALL request %d: a call with this request ID is still in flight", r.Request))
		}
		if msg := rm.boundRefusal(errURI); msg != "" {
			s.r.stats.boundRefusals.Add(1)
			return fail(errURI, msg)
		}
		return fail(errURI, callRefusal(errURI, r.Procedure, o))
	}
	return true
}

func (s *session) cancel(m *wamp.Cancel) {
	mode, _ := wamp.OptString(m.Options, "mode")
	s.realm.dealer.Cancel(s.peer, m.Request, mode)
}

// yield handles a YIELD; false means the session was aborted.
func (s *session) yield(m *wamp.Yield) bool {
	if _, msg := pptOptions(m.Options); msg != "" {
		return s.violation("YIELD: " + msg)
	}
	if isPPT(m.Options) && !s.features.calleePPT {
		return s.violation("YIELD uses payload passthru mode (ppt_scheme) but HELLO did not announce callee feature payload_passthru_mode")
	}
	if !s.realm.dealer.Yield(s.peer, m) {
		return s.violation(fmt.Sprintf("YIELD for INVOCATION %d, which the router never sent this session", m.Request))
	}
	return true
}

// invocationError handles a callee's ERROR; false means the session was
// aborted.
func (s *session) invocationError(m *wamp.Error) bool {
	if isPPT(m.Details) && !s.features.calleePPT {
		return s.violation("ERROR uses payload passthru mode (ppt_scheme) but HELLO did not announce callee feature payload_passthru_mode")
	}
	if m.RequestType != wamp.TypeInvocation {
		return s.violation(fmt.Sprintf("ERROR from a client must answer an INVOCATION, not %v", m.RequestType))
	}
	if !s.realm.dealer.Error(s.peer, m) {
		return s.violation(fmt.Sprintf("ERROR for INVOCATION %d, which the router never sent this session", m.Request))
	}
	return true
}

// callRefusal explains an error URI the dealer answered a CALL with at
// once, or returns "" when the URI says enough.
func callRefusal(errURI, procedure wamp.URI, o dealer.CallOptions) string {
	switch errURI {
	case wamp.ErrNoSuchProcedure:
		return fmt.Sprintf("no callee registered for procedure %q", procedure)
	case wamp.ErrFeatureNotSupported:
		return calleeLacks(o)
	}
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
