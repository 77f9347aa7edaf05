package dealer

import (
	"math/rand/v2"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Reroute moves the call behind INVOCATION m, which callee p certainly
// never received (a cluster learnt that nothing took it, or that p had
// left before it arrived), to another callee of the same registration,
// chosen by its invocation policy. A call is rerouted once; progressive
// call invocations and calls answered meanwhile are not. It reports false
// when the call was not moved: the caller then gets p's answer as usual.
// The call timeout starts again at the reroute.
func (d *Dealer) Reroute(p *Peer, m *wamp.Invocation) bool {
	p.mu.Lock()
	inv := p.asCallee[m.Request]
	p.mu.Unlock()
	if inv == nil || inv.rerouted || inv.input || inv.done.Load() {
		return false
	}
	d.mu.RLock()
	var next *Peer
	if reg := d.byID[inv.reg]; reg != nil {
		next = pickOther(reg, p)
	}
	d.mu.RUnlock()
	if next == nil || inv.ppt != nil && !next.CalleePPT {
		return false
	}
	n := &invocation{id: next.invSeq.Next(), callReq: inv.callReq, caller: inv.caller, callee: next,
		progress: inv.progress && next.CalleeProgress, timeout: inv.timeout, reg: inv.reg,
		procedure: inv.procedure, ppt: inv.ppt, started: inv.started, rerouted: true}
	caller := inv.caller
	caller.mu.Lock()
	if caller.closed || caller.asCaller[inv.callReq] != inv || !inv.done.CompareAndSwap(false, true) {
		caller.mu.Unlock()
		return false // answered, canceled or timed out meanwhile
	}
	caller.asCaller[inv.callReq] = n
	caller.mu.Unlock()
	if t := inv.timer.Load(); t != nil {
		t.Stop()
	}
	p.take(inv.id, false)

	next.mu.Lock()
	if next.closed {
		next.mu.Unlock()
		n.fail(wamp.ErrCanceled, "callee unavailable")
		return true
	}
	if next.asCallee == nil {
		next.asCallee = map[wamp.ID]*invocation{}
	}
	next.asCallee[n.id] = n
	next.mu.Unlock()
	if n.done.Load() { // the caller left meanwhile
		next.take(n.id, false)
		return true
	}
	details := m.Details
	if n.progress != inv.progress {
		details = make(wamp.Dict, len(m.Details))
		for k, v := range m.Details {
			if k != "receive_progress" {
				details[k] = v
			}
		}
	}
	n.invoke(&wamp.Invocation{Request: n.id, Registration: m.Registration, Details: details, Payload: m.Payload})
	n.arm()
	return true
}

// pick chooses a callee by the registration's policy. Called with d.mu held.
func pick(reg *registration) *Peer {
	n := len(reg.callees)
	if n == 0 {
		return nil
	}
	switch reg.invoke {
	case InvokeRoundRobin:
		return reg.callees[int(reg.next.Add(1)-1)%n]
	case InvokeRandom:
		return reg.callees[rand.IntN(n)]
	case InvokeLast:
		return reg.callees[n-1]
	}
	return reg.callees[0]
}

// pickOther chooses a callee of reg other than p by reg's policy, or nil.
// Called with d.mu held.
func pickOther(reg *registration, p *Peer) *Peer {
	var others []*Peer
	for _, c := range reg.callees {
		if c != p {
			others = append(others, c)
		}
	}
	n := len(others)
	switch {
	case n == 0 || reg.invoke == InvokeSingle:
		return nil
	case reg.invoke == InvokeRoundRobin:
		return others[int(reg.next.Add(1)-1)%n]
	case reg.invoke == InvokeRandom:
		return others[rand.IntN(n)]
	case reg.invoke == InvokeLast:
		return others[n-1]
	}
	return others[0]
}
