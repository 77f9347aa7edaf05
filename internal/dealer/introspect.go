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

// CallsInFlight is the number of p's calls, as caller, still waiting for
// their final answer (metrics read it at scrape time).
func (p *Peer) CallsInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.asCaller)
}
