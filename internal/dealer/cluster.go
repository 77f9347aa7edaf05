package dealer

import "github.com/tollgate-wamp/tollgate/wamp"

// TargetFor is the Target for callee session on registration id: a call
// another node resolved (and applied the invocation policy to) and routed
// here. ok is false when session is no longer a callee of id.
func (d *Dealer) TargetFor(id, session wamp.ID) (t Target, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg := d.byID[id]
	if reg == nil {
		return Target{}, false
	}
	for _, p := range reg.callees {
		if p.s.ID() == session {
			return Target{reg: reg, callee: p}, true
		}
	}
	return Target{}, false
}
