package dealer

import (
	"cmp"
	"slices"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Introspection and revocation for the registration meta API. Every method
// copies what it needs under the index lock and returns; none blocks.
// Lock order: d.mu before a Peer's mu.

// RegistrationInfo describes one registration.
type RegistrationInfo struct {
	ID        wamp.ID
	Procedure wamp.URI
	Match     string // exact, prefix or wildcard
	Invoke    string // single, roundrobin, random, first or last
	Created   time.Time
}

func (reg *registration) info() RegistrationInfo {
	return RegistrationInfo{ID: reg.id, Procedure: reg.procedure, Match: reg.policy, Invoke: reg.invoke, Created: reg.created}
}

// List returns every live registration, ordered by id.
func (d *Dealer) List() []RegistrationInfo {
	d.mu.RLock()
	out := make([]RegistrationInfo, 0, len(d.byID))
	for _, reg := range d.byID {
		out = append(out, reg.info())
	}
	d.mu.RUnlock()
	slices.SortFunc(out, func(x, y RegistrationInfo) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// Get returns registration id.
func (d *Dealer) Get(id wamp.ID) (RegistrationInfo, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg, ok := d.byID[id]
	if !ok {
		return RegistrationInfo{}, false
	}
	return reg.info(), true
}

// Lookup returns the registration for exactly (procedure, policy).
func (d *Dealer) Lookup(procedure wamp.URI, policy string) (RegistrationInfo, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg, ok := d.index.Get(procedure, policy)
	if !ok {
		return RegistrationInfo{}, false
	}
	return reg.info(), true
}

// Match returns the registration a CALL to procedure would use.
func (d *Dealer) Match(procedure wamp.URI) (RegistrationInfo, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg, ok := d.index.Best(procedure)
	if !ok {
		return RegistrationInfo{}, false
	}
	return reg.info(), true
}

// Callees returns the callees of registration id in registration order;
// ok is false for an unknown id.
func (d *Dealer) Callees(id wamp.ID) (callees []Session, ok bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	reg, ok := d.byID[id]
	if !ok {
		return nil, false
	}
	out := make([]Session, len(reg.callees))
	for i, p := range reg.callees {
		out[i] = p.s
	}
	return out, true
}

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
