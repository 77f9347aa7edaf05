package dealer

import (
	"errors"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// ErrGone is what Session.Send returns when the session is gone or its
// queue is full (the session then closes).
var ErrGone = errors.New("dealer: session gone")

// undeliverable returns the *wamp.CallError a Session.Send failed with when
// the session could not take that message (its serializer cannot carry it,
// or it is larger than the peer accepts), or nil when the session is gone.
func undeliverable(err error) *wamp.CallError {
	if err == nil {
		return nil // before ce, which escapes to the heap through errors.As
	}
	var ce *wamp.CallError
	if errors.As(err, &ce) {
		return ce
	}
	return nil
}

func callErrorMessage(ce *wamp.CallError) string {
	if len(ce.Args) > 0 {
		if s, ok := ce.Args[0].(string); ok {
			return s
		}
	}
	return ""
}

// invoke queues an INVOCATION to inv's callee; if the callee cannot take
// it, the caller gets the reason (ERROR payload_size_exceeded or
// invalid_argument), if it is gone, canceled.
func (inv *invocation) invoke(m *wamp.Invocation) {
	err := inv.callee.s.Send(m)
	if err == nil {
		return
	}
	if ce := undeliverable(err); ce != nil {
		inv.fail(ce.URI, "the INVOCATION cannot be delivered to the callee: "+callErrorMessage(ce))
		return
	}
	inv.fail(wamp.ErrCanceled, "callee unavailable")
}

// answer queues the caller's final answer m (RESULT or ERROR; inv is
// finished). When the caller cannot take m it gets ERROR with the reason
// instead, so the CALL still has exactly one answer. The callee is not
// told: the spec defines no router-to-callee message for an answer that
// could not be delivered (clients, ours included, treat an ERROR for an
// INVOCATION from the router as a protocol violation); the session counts
// and logs it.
func (inv *invocation) answer(m wamp.Message) {
	ce := undeliverable(inv.caller.s.Send(m))
	if ce == nil {
		return
	}
	inv.caller.s.Send(&wamp.Error{RequestType: wamp.TypeCall, Request: inv.callReq, Details: wamp.Dict{}, Error: ce.URI,
		Payload: wamp.Payload{Args: wamp.List{"the answer cannot be delivered to the caller: " + callErrorMessage(ce)}}})
}

// Issued reports whether the router sent p an INVOCATION with request id
// id: ids are issued to each callee in sequence from 1, so a YIELD or ERROR
// above the last one answers nothing the router asked.
func (p *Peer) Issued(id wamp.ID) bool {
	return id >= 1 && id <= p.invSeq.Last()
}
