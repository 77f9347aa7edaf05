package dealer

import (
	"fmt"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Progressive call invocations (spec §11.2): a caller streams input to one
// invocation by sending several CALLs with the same request id, each with
// Options.progress = true but the last. The first CALL picks the callee and
// fixes every option; each later CALL becomes an INVOCATION with the same
// invocation request id. The router asks Continue before treating a CALL
// as new.

// ChunkResult is what Continue did with a CALL.
type ChunkResult int

const (
	// NewCall: no progressive call has this request id; route it as a
	// new CALL.
	NewCall ChunkResult = iota
	// Continued: forwarded to the callee as the next INVOCATION chunk.
	Continued
	// Discarded: a chunk of a call that already ended (answered, canceled,
	// refused); dropped silently as the spec says.
	Discarded
	// Conflict: the request id belongs to a call that takes no more input
	// (its last chunk was sent) or that calls another procedure; a protocol
	// violation.
	Conflict
)

// graceSize is how many ended progressive-input calls a caller's late
// chunks are recognized for.
const graceSize = 64

// grace remembers the CALL request ids of the most recent progressive-input
// calls that ended, so their late chunks are discarded instead of starting
// new calls. Guarded by Peer.mu. A Peer holds a *grace made at its first
// add: only progressive-input callers need its 0.5 KiB.
type grace struct {
	ids  [graceSize]wamp.ID
	n    int
	next int
}

func (g *grace) contains(id wamp.ID) bool {
	if g == nil {
		return false
	}
	for i := 0; i < g.n; i++ {
		if g.ids[i] == id {
			return true
		}
	}
	return false
}

// addGrace remembers id in p.grace, making it first. p.mu is held.
func (p *Peer) addGrace(id wamp.ID) {
	if p.grace == nil {
		p.grace = new(grace)
	}
	p.grace.add(id)
}

func (g *grace) add(id wamp.ID) {
	if g.contains(id) {
		return
	}
	g.ids[g.next] = id
	g.next = (g.next + 1) % graceSize
	if g.n < graceSize {
		g.n++
	}
}

// Continue handles c if it continues a progressive call invocation of
// caller; progress is c's Options.progress. For Conflict it returns a
// message saying why.
func (d *Dealer) Continue(caller *Peer, c *wamp.Call, progress bool) (ChunkResult, string) {
	caller.mu.Lock()
	inv := caller.asCaller[c.Request]
	switch {
	case inv == nil:
		ended := caller.grace.contains(c.Request)
		caller.mu.Unlock()
		if ended {
			return Discarded, ""
		}
		return NewCall, ""
	case !inv.input:
		// An ordinary call in flight: Call refuses the duplicate id.
		caller.mu.Unlock()
		return NewCall, ""
	case !inv.inputOpen:
		caller.mu.Unlock()
		return Conflict, fmt.Sprintf("CALL %d continues a progressive call invocation whose last chunk was already sent", c.Request)
	case inv.procedure != c.Procedure:
		caller.mu.Unlock()
		return Conflict, fmt.Sprintf("CALL %d for %q continues a progressive call invocation of %q", c.Request, c.Procedure, inv.procedure)
	}
	if !progress {
		inv.inputOpen = false
	}
	caller.mu.Unlock()
	if inv.done.Load() {
		return Discarded, ""
	}
	details := wamp.Dict{}
	if progress {
		details["progress"] = true
	}
	for k, v := range inv.ppt {
		details[k] = v // frozen with the first CALL's options
	}
	inv.invoke(&wamp.Invocation{Request: inv.id, Registration: inv.reg, Details: details, Payload: c.Payload})
	return Continued, ""
}

// Settle is called after the first CALL of a progressive call invocation
// (request id req) was handled: if it is not in flight (refused at once,
// or already answered), its later chunks are to be discarded.
func (d *Dealer) Settle(caller *Peer, req wamp.ID) {
	caller.mu.Lock()
	if caller.asCaller[req] == nil {
		caller.addGrace(req)
	}
	caller.mu.Unlock()
}

// pptDetails returns the ppt_* keys of options when they use payload
// passthru mode (a non-empty ppt_scheme string), else nil.
func pptDetails(options wamp.Dict) wamp.Dict {
	if scheme, _ := options["ppt_scheme"].(string); scheme == "" {
		return nil
	}
	d := make(wamp.Dict, 4)
	for k, v := range options {
		if strings.HasPrefix(k, "ppt_") {
			d[k] = v
		}
	}
	return d
}
