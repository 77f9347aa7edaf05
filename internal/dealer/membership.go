package dealer

import (
	"slices"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Taking callees off registrations: unregistering, leaving, revocation.

// Detached reports one registration a callee left.
type Detached struct {
	ID        wamp.ID
	Procedure wamp.URI
	Deleted   bool // the callee was its last one: it is gone
}

// detachLocked removes p from registration id and from p's list. Called
// with d.mu held.
func (d *Dealer) detachLocked(p *Peer, id wamp.ID) (Detached, bool) {
	reg, found := d.byID[id]
	if !found {
		return Detached{}, false
	}
	last := len(reg.callees) == 1
	if !d.unregisterLocked(p, id) {
		return Detached{}, false
	}
	p.mu.Lock()
	if i := slices.Index(p.regs, id); i >= 0 {
		p.regs = slices.Delete(p.regs, i, i+1)
	}
	p.mu.Unlock()
	return Detached{ID: id, Procedure: reg.procedure, Deleted: last}, true
}

// Detach removes p from registration id and reports what happened; ok is
// false if p is not a callee of id.
func (d *Dealer) Detach(p *Peer, id wamp.ID) (Detached, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.detachLocked(p, id)
}

// DetachAll removes every registration of p and reports each one. Pending
// invocations are not touched: Leave settles them afterwards.
func (d *Dealer) DetachAll(p *Peer) []Detached {
	var out []Detached
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, id := range p.Registrations() {
		if x, ok := d.detachLocked(p, id); ok {
			out = append(out, x)
		}
	}
	return out
}

// RemoveCallee removes the callee whose session id is session from
// registration id (revocation). Calls already routed to it still complete.
// ok is false when the registration does not exist or the session is not
// its callee.
func (d *Dealer) RemoveCallee(id, session wamp.ID) (s Session, x Detached, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	reg, found := d.byID[id]
	if !found {
		return nil, Detached{}, false
	}
	for _, p := range reg.callees {
		if p.s.ID() == session {
			x, ok = d.detachLocked(p, id)
			return p.s, x, ok
		}
	}
	return nil, Detached{}, false
}
