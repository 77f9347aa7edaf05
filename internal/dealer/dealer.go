// Package dealer keeps a realm's registrations and routes calls: CALL →
// INVOCATION → YIELD/ERROR → RESULT/ERROR, with invocation policies,
// progressive results, cancellation and timeouts.
//
// A Dealer is safe for concurrent use. The registration index sits behind
// an RWMutex (read-locked on the call path); in-flight invocations are kept
// per session (Peer) under that peer's own mutex. No lock is held while a
// message is queued to a session. Every CALL gets exactly one answer.
package dealer

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/match"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Session is what the dealer needs to know of a session.
type Session interface {
	ID() wamp.ID
	AuthID() string
	AuthRole() string
	// Send queues m to the session. It must not block. It returns nil when
	// m is queued, a *wamp.CallError (payload_size_exceeded,
	// invalid_argument) when the session cannot take m (deliver.go), or
	// ErrGone when the session is gone or its queue is full.
	Send(m wamp.Message) error
}

// epoch is the origin of invocation.started (8 bytes, not a time.Time's 24).
var epoch = time.Now()

// CallObserver is a Session that wants to know how long its calls took,
// from CALL to the final answer (metrics).
type CallObserver interface {
	CallAnswered(d time.Duration)
}

// Features the dealer implements and announces.
var Features = []string{
	"caller_identification",
	"pattern_based_registration",
	"shared_registration",
	"progressive_call_results",
	"call_canceling",
	"call_timeout",
	"progressive_call_invocations", // progressive.go
	"payload_passthru_mode",        // CallOptions.PPT, Yield
	// internal/meta (with introspect.go and membership.go here)
	"session_meta_api",
	"registration_meta_api",
	"registration_revocation",
	"testament_meta_api",
}

// Invocation policies and cancel modes under the dealer's names; the
// protocol defines them once, in package wamp.
const (
	InvokeSingle     = wamp.InvokeSingle
	InvokeRoundRobin = wamp.InvokeRoundRobin
	InvokeRandom     = wamp.InvokeRandom
	InvokeFirst      = wamp.InvokeFirst
	InvokeLast       = wamp.InvokeLast

	CancelSkip       = wamp.CancelSkip
	CancelKill       = wamp.CancelKill
	CancelKillNoWait = wamp.CancelKillNoWait
)

// ValidInvoke reports whether p is a known invocation policy.
func ValidInvoke(p string) bool { return wamp.ValidInvoke(p) }

// Dealer holds the registrations of one realm.
type Dealer struct {
	mu    sync.RWMutex
	index *match.Index[*registration]
	byID  map[wamp.ID]*registration
	ids   *wamp.Sequence
}

type registration struct {
	id        wamp.ID
	procedure wamp.URI
	policy    string
	invoke    string
	// created is when the first callee registered (meta API).
	created time.Time
	// callees is copy-on-write, in registration order.
	callees []*Peer
	next    atomic.Uint64
}

// New returns a dealer drawing registration ids from ids.
func New(ids *wamp.Sequence) *Dealer {
	return &Dealer{index: match.New[*registration](), byID: map[wamp.ID]*registration{}, ids: ids}
}

// Peer is the dealer's state for one session, as caller and as callee.
type Peer struct {
	s Session
	// Features the session announced as callee.
	CalleeCanceling, CalleeProgress bool
	// CalleeProgressiveInvocations: announced progressive_call_invocations
	// as callee. CallerPPT, CalleePPT: announced payload_passthru_mode.
	CalleeProgressiveInvocations, CallerPPT, CalleePPT bool
	// MaxCalls and MaxInvocations bound the calls in flight with this
	// session as caller and as callee (0: unbounded; bounds.go).
	MaxCalls, MaxInvocations int

	invSeq wamp.Sequence // router→callee INVOCATION request ids

	mu       sync.Mutex
	closed   bool
	asCallee map[wamp.ID]*invocation // by INVOCATION request id
	asCaller map[wamp.ID]*invocation // by CALL request id
	regs     []wamp.ID
	grace    *grace // progressive-input calls that ended (progressive.go)
}

// NewPeer returns the dealer state for session s. Its maps and grace ring
// come with the first call: most sessions make none.
func NewPeer(s Session) *Peer { return &Peer{s: s} }

type invocation struct {
	id       wamp.ID // INVOCATION request id
	callReq  wamp.ID
	caller   *Peer
	callee   *Peer
	progress bool // caller asked for progressive results and the callee supports them
	timeout  time.Duration
	// Progressive call invocations (progressive.go): the registration and
	// procedure of the first CALL, whether its input stream is still open
	// (guarded by caller.mu), and the frozen ppt_* details.
	reg       wamp.ID
	procedure wamp.URI
	input     bool // the call was started with CALL.Options.progress
	inputOpen bool
	rerouted  bool // moved to this callee by Reroute (reroute.go): not again
	ppt       wamp.Dict
	// done is set once the caller has its final answer (or is gone).
	done atomic.Bool
	// progressMu orders progressive RESULTs before the final answer.
	progressMu sync.Mutex
	// timer is the call timeout, armed once the invocation is in both
	// peers' tables and sent (so it can never fire before that).
	timer atomic.Pointer[time.Timer]
	// started is when the CALL arrived (monotonic, since epoch), for a
	// caller that is a CallObserver.
	started time.Duration
}

// RegisterOptions are the parsed REGISTER options.
type RegisterOptions struct {
	Match  string // exact, prefix, wildcard
	Invoke string // single (default), roundrobin, random, first, last
	// ID is the id a new registration gets when a cluster's registry drew
	// it (the same on every node); 0 draws one from the dealer's sequence.
	ID wamp.ID
}

// Register adds p as callee of procedure. It returns the registration id,
// or an error URI (procedure_already_exists).
func (d *Dealer) Register(p *Peer, procedure wamp.URI, o RegisterOptions) (wamp.ID, wamp.URI) {
	id, _, errURI := d.Attach(p, procedure, o)
	return id, errURI
}

// Attach is Register that also reports whether the registration was
// created by this call (the meta events need it).
func (d *Dealer) Attach(p *Peer, procedure wamp.URI, o RegisterOptions) (id wamp.ID, created bool, errURI wamp.URI) {
	if o.Invoke == "" {
		o.Invoke = InvokeSingle
	}
	if o.Match == "" {
		o.Match = wamp.MatchExact
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	reg, ok := d.index.Get(procedure, o.Match)
	if ok {
		if reg.invoke == InvokeSingle || reg.invoke != o.Invoke || slices.Contains(reg.callees, p) {
			return 0, false, wamp.ErrProcedureAlreadyExists
		}
		reg.callees = append(slices.Clip(reg.callees), p)
	} else {
		rid := o.ID
		if rid == 0 {
			rid = d.ids.Next()
		}
		reg = &registration{id: rid, procedure: procedure, policy: o.Match, invoke: o.Invoke, created: time.Now(), callees: []*Peer{p}}
		d.index.Put(procedure, o.Match, reg)
		d.byID[reg.id] = reg
		created = true
	}
	p.mu.Lock()
	p.regs = append(p.regs, reg.id)
	p.mu.Unlock()
	return reg.id, created, ""
}

func (d *Dealer) unregisterLocked(p *Peer, id wamp.ID) bool {
	reg, ok := d.byID[id]
	if !ok {
		return false
	}
	i := slices.Index(reg.callees, p)
	if i < 0 {
		return false
	}
	if len(reg.callees) == 1 {
		d.index.Delete(reg.procedure, reg.policy)
		delete(d.byID, id)
		reg.callees = nil
		return true
	}
	reg.callees = slices.Delete(slices.Clone(reg.callees), i, i+1)
	return true
}

// CallOptions are the router's decisions about one CALL.
type CallOptions struct {
	// Disclose puts the caller's identity into INVOCATION.Details.
	Disclose bool
	// ReceiveProgress: the caller asked for progressive results.
	ReceiveProgress bool
	// Timeout, if positive, fails the call with wamp.error.timeout when no
	// (next) result arrives in time.
	Timeout time.Duration
	// ProgressiveInput: the CALL has Options.progress = true, more CALLs
	// with the same request id follow (progressive call invocations).
	ProgressiveInput bool
	// PPT are the CALL's ppt_* options (payload passthru mode), forwarded
	// as INVOCATION.Details; nil when the call does not use it.
	PPT wamp.Dict
}

// Target is the callee a CALL goes to, chosen by Pick.
type Target struct {
	reg    *registration
	callee *Peer
}

// Callee is the session the call would be invoked on.
func (t Target) Callee() Session { return t.callee.s }

// Pattern reports whether the target was found through a prefix or
// wildcard registration (the router then checks that the callee may serve
// the concrete procedure).
func (t Target) Pattern() bool { return t.reg.policy != wamp.MatchExact }

// Pick chooses the callee for a CALL to procedure by the best matching
// registration and its invocation policy (a round-robin turn is used up).
// ok is false when nothing is registered for it.
func (d *Dealer) Pick(procedure wamp.URI) (t Target, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg, ok := d.index.Best(procedure)
	if !ok {
		return Target{}, false
	}
	callee := pick(reg)
	return Target{reg: reg, callee: callee}, callee != nil
}

// Call invokes c from caller on t (from Pick). It returns "" when the call
// was routed (the answer will come later), or the error URI to answer with
// now.
func (d *Dealer) Call(caller *Peer, c *wamp.Call, t Target, o CallOptions) wamp.URI {
	reg, callee := t.reg, t.callee
	if o.ProgressiveInput && !(callee.CalleeProgressiveInvocations && callee.CalleeCanceling) ||
		o.PPT != nil && !callee.CalleePPT {
		return wamp.ErrFeatureNotSupported
	}

	inv := &invocation{
		id:        callee.invSeq.Next(),
		callReq:   c.Request,
		caller:    caller,
		callee:    callee,
		progress:  o.ReceiveProgress && callee.CalleeProgress,
		timeout:   o.Timeout,
		reg:       reg.id,
		procedure: c.Procedure,
		input:     o.ProgressiveInput,
		inputOpen: o.ProgressiveInput,
		ppt:       o.PPT,
	}
	if _, ok := caller.s.(CallObserver); ok {
		inv.started = time.Since(epoch)
	}
	caller.mu.Lock()
	if caller.closed {
		caller.mu.Unlock()
		inv.finish()
		return "" // caller is leaving; nobody to answer
	}
	if _, dup := caller.asCaller[c.Request]; dup {
		// A request ID still in flight: the spec's request-ID rule makes
		// this a protocol violation (the caller aborts the session).
		caller.mu.Unlock()
		inv.finish()
		return wamp.ErrProtocolViolation
	}
	if caller.MaxCalls > 0 && len(caller.asCaller) >= caller.MaxCalls {
		caller.mu.Unlock()
		inv.finish()
		return ErrTooManyCalls
	}
	if caller.asCaller == nil {
		caller.asCaller = map[wamp.ID]*invocation{}
	}
	caller.asCaller[c.Request] = inv
	caller.mu.Unlock()

	callee.mu.Lock()
	if callee.closed {
		callee.mu.Unlock()
		inv.finish() // forgets inv and stops its timer: this ERROR is the only answer
		return wamp.ErrCanceled
	}
	if callee.MaxInvocations > 0 && len(callee.asCallee) >= callee.MaxInvocations {
		callee.mu.Unlock()
		inv.finish()
		return ErrCalleeBusy
	}
	if callee.asCallee == nil {
		callee.asCallee = map[wamp.ID]*invocation{}
	}
	callee.asCallee[inv.id] = inv
	callee.mu.Unlock()

	details := wamp.Dict{}
	if reg.policy != wamp.MatchExact {
		details["procedure"] = c.Procedure
	}
	if o.Disclose {
		details["caller"] = caller.s.ID()
		details["caller_authid"] = caller.s.AuthID()
		details["caller_authrole"] = caller.s.AuthRole()
	}
	if inv.progress {
		details["receive_progress"] = true
	}
	if inv.input {
		details["progress"] = true
	}
	for k, v := range o.PPT {
		details[k] = v
	}
	inv.invoke(&wamp.Invocation{Request: inv.id, Registration: reg.id, Details: details, Payload: c.Payload})
	inv.arm()
	return ""
}

// arm starts the call timeout once inv is in both peers' tables and sent:
// a timer that fired before would answer the call and leave inv behind in
// them. If the call ends meanwhile, finish or the check below stops it.
func (inv *invocation) arm() {
	if inv.timeout > 0 && !inv.done.Load() {
		t := time.AfterFunc(inv.timeout, inv.expire)
		inv.timer.Store(t)
		if inv.done.Load() {
			t.Stop()
		}
	}
}

// Yield handles a YIELD from callee p. It returns false when the router
// never issued that INVOCATION id to p (a protocol violation); a late YIELD
// for a call that was canceled or timed out is dropped quietly.
func (d *Dealer) Yield(p *Peer, y *wamp.Yield) bool {
	progress, _ := wamp.OptBool(y.Options, "progress")
	inv := p.take(y.Request, progress)
	if inv == nil {
		return p.Issued(y.Request)
	}
	ppt := pptDetails(y.Options)
	if ppt != nil && !inv.caller.CallerPPT {
		// Spec §16.1: an application error back to the callee; the caller
		// cannot take the result, so its call fails too.
		p.s.Send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: y.Request, Details: wamp.Dict{}, Error: wamp.ErrFeatureNotSupported,
			Payload: wamp.Payload{Args: wamp.List{"the caller did not announce payload_passthru_mode"}}})
		inv.fail(wamp.ErrFeatureNotSupported, "the callee answered in payload passthru mode, which this caller did not announce")
		return true
	}
	if progress {
		if !inv.progress {
			return true // the caller did not ask for progress: drop, keep waiting for the final result
		}
		details := wamp.Dict{"progress": true}
		for k, v := range ppt {
			details[k] = v
		}
		// Under progressMu, so no progressive RESULT can be queued after the
		// final answer (finish waits for this section).
		inv.progressMu.Lock()
		var err error
		if !inv.done.Load() {
			if t := inv.timer.Load(); t != nil {
				t.Reset(inv.timeout)
			}
			err = inv.caller.s.Send(&wamp.Result{Request: inv.callReq, Details: details, Payload: y.Payload})
		}
		inv.progressMu.Unlock()
		if ce := undeliverable(err); ce != nil {
			// A progressive result the caller cannot take ends the call;
			// the callee's later answers are dropped as late.
			inv.fail(ce.URI, "a progressive result cannot be delivered to the caller: "+callErrorMessage(ce))
			if inv.callee.CalleeCanceling {
				inv.callee.s.Send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": CancelKillNoWait, "reason": string(ce.URI)}})
			}
		} else if err != nil {
			inv.fail(wamp.ErrCanceled, "")
		}
		return true
	}
	if inv.finish() {
		details := wamp.Dict{}
		for k, v := range ppt {
			details[k] = v
		}
		inv.answer(&wamp.Result{Request: inv.callReq, Details: details, Payload: y.Payload})
	}
	return true
}

// Error handles an ERROR for an INVOCATION from callee p; false as for Yield.
func (d *Dealer) Error(p *Peer, e *wamp.Error) bool {
	inv := p.take(e.Request, false)
	if inv == nil {
		return p.Issued(e.Request)
	}
	if inv.finish() {
		details := e.Details
		if details == nil {
			details = wamp.Dict{}
		}
		inv.answer(&wamp.Error{RequestType: wamp.TypeCall, Request: inv.callReq, Details: details, Error: e.Error, Payload: e.Payload})
	}
	return true
}

// Cancel handles a CANCEL from caller p. Unknown calls are ignored.
func (d *Dealer) Cancel(p *Peer, req wamp.ID, mode string) {
	p.mu.Lock()
	inv := p.asCaller[req]
	p.mu.Unlock()
	if inv == nil || inv.done.Load() {
		return
	}
	if mode == "" {
		mode = CancelKillNoWait
	}
	if !inv.callee.CalleeCanceling {
		mode = CancelSkip
	}
	switch mode {
	case CancelKill:
		inv.callee.s.Send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": CancelKill, "reason": string(wamp.ErrCanceled)}})
	case CancelKillNoWait:
		inv.callee.s.Send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": CancelKillNoWait, "reason": string(wamp.ErrCanceled)}})
		inv.fail(wamp.ErrCanceled, "canceled by caller")
	default:
		inv.fail(wamp.ErrCanceled, "canceled by caller")
	}
}

// Leave removes every registration of p and settles its invocations: its
// callers get ERROR wamp.error.canceled; callees working for it get an
// INTERRUPT (killnowait) if they support canceling, and their late answers
// are dropped. After Leave, p takes part in no new call.
func (d *Dealer) Leave(p *Peer) {
	p.mu.Lock()
	p.closed = true
	regs := p.regs
	p.regs = nil
	asCallee := p.asCallee
	asCaller := p.asCaller
	p.asCallee, p.asCaller = nil, nil
	p.mu.Unlock()

	d.mu.Lock()
	for _, id := range regs {
		d.unregisterLocked(p, id)
	}
	d.mu.Unlock()

	for _, inv := range asCallee {
		inv.fail(wamp.ErrCanceled, "callee left")
	}
	for _, inv := range asCaller {
		if inv.callee != p {
			// Its late answer is dropped; a callee that honours the
			// INTERRUPT may never send one.
			inv.callee.take(inv.id, false)
		}
		if inv.finish() && inv.callee.CalleeCanceling && inv.callee != p {
			inv.callee.s.Send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": CancelKillNoWait, "reason": string(wamp.ErrCanceled)}})
		}
	}
}

// Registrations returns the registration ids p holds.
func (p *Peer) Registrations() []wamp.ID {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.regs)
}

// Count returns the number of live registrations.
func (d *Dealer) Count() int {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return len(d.byID)
}

// take returns the invocation with INVOCATION id req of callee p; it stays
// in the table when keep is true (a progressive result).
func (p *Peer) take(req wamp.ID, keep bool) *invocation {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv := p.asCallee[req]
	if inv != nil && !keep {
		delete(p.asCallee, req)
	}
	return inv
}

func (p *Peer) forget(inv *invocation) {
	p.mu.Lock()
	if p.asCaller[inv.callReq] == inv {
		delete(p.asCaller, inv.callReq)
	}
	if inv.input {
		p.addGrace(inv.callReq) // late chunks of this call are discarded
	}
	p.mu.Unlock()
}

// finish marks inv answered; it returns true for exactly one caller, who
// must then send the final answer. It removes inv from both peers' tables.
func (inv *invocation) finish() bool {
	if !inv.done.CompareAndSwap(false, true) {
		return false
	}
	// Wait for a progressive RESULT being queued right now; later ones see
	// done. The lock is the barrier: nothing is done under it.
	inv.progressMu.Lock()
	inv.progressMu.Unlock() //lint:ignore SA2001 a barrier, see above
	if t := inv.timer.Load(); t != nil {
		t.Stop()
	}
	inv.caller.forget(inv)
	if o, ok := inv.caller.s.(CallObserver); ok {
		o.CallAnswered(time.Since(epoch) - inv.started)
	}
	return true
}

// fail answers the caller with ERROR uri (if not answered yet) and drops
// the invocation on the callee side. It reports whether it answered.
func (inv *invocation) fail(uri wamp.URI, msg string) bool {
	inv.callee.take(inv.id, false)
	if !inv.finish() {
		return false
	}
	var args wamp.List
	if msg != "" {
		args = wamp.List{msg}
	}
	inv.caller.s.Send(&wamp.Error{RequestType: wamp.TypeCall, Request: inv.callReq, Details: wamp.Dict{}, Error: uri, Payload: wamp.Payload{Args: args}})
	return true
}

// expire is the call-timeout timer: answer wamp.error.timeout, then cancel
// like killnowait (or skip), so the callee's ERROR cannot win the answer.
func (inv *invocation) expire() {
	if inv.done.Load() {
		return
	}
	if inv.fail(wamp.ErrTimeout, "call timed out") && inv.callee.CalleeCanceling {
		inv.callee.s.Send(&wamp.Interrupt{Request: inv.id, Options: wamp.Dict{"mode": CancelKillNoWait, "reason": string(wamp.ErrTimeout)}})
	}
}
