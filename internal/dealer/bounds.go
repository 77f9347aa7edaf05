package dealer

import "github.com/tollgate-wamp/tollgate/wamp"

// Errors for calls refused by the in-flight bounds (Peer.MaxCalls,
// Peer.MaxInvocations). A shared registration's callee at its bound refuses
// the call like any other: the invocation policy picked it, and trying the
// next one would make roundrobin and first/last depend on load.
const (
	// ErrTooManyCalls: the caller has MaxCalls calls in flight.
	ErrTooManyCalls wamp.URI = "tollgate.error.too_many_calls"
	// ErrCalleeBusy: the callee has MaxInvocations invocations in flight.
	ErrCalleeBusy wamp.URI = "tollgate.error.callee_busy"
)

// RegistrationCount is the number of registrations p holds.
func (p *Peer) RegistrationCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.regs)
}
