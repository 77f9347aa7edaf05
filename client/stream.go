package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// ErrCallEnded is returned by CallStream.Send when the call already has
// its final answer (the callee answered before the last chunk, or Finish
// or Cancel was called). Finish returns that answer.
var ErrCallEnded = errors.New("client: progressive call already ended")

// CallStream is a call whose input is streamed in chunks: a progressive
// call invocation (wamp-spec §11.2). Send sends a chunk, Finish sends the
// last one and waits for the result. Every chunk goes to the same
// invocation of the callee the first chunk picked; the first chunk's
// options hold for the whole call.
//
// Call exactly one of Finish or Cancel: until then the call stays pending
// on the session. Methods may be called from any goroutine but are
// serialized; ReceiveProgress callbacks run inside Send and Finish.
type CallStream struct {
	s         *Session
	lk        *link
	procedure wamp.URI
	ro        *reqOptions

	mu      sync.Mutex
	started bool // the first CALL was sent
	p       *pending
	id      wamp.ID
	over    bool // Finish or Cancel was called
	ended   bool // the final answer arrived
	res     *Result
	err     error
}

// CallProgressive starts a call of procedure whose input is streamed with
// Send and Finish. Nothing is sent yet: the first Send sends the first
// CALL (with progress = true and the options). Finish without a Send is a
// plain Call. ctx bounds only the wait for a live session (during a
// reconnect).
//
// Options as for Call. Needs progressive_call_invocations from the router
// (a *FeatureError otherwise); the callee must announce it (and
// call_canceling) too, else the call fails with
// wamp.error.feature_not_supported. The stream is bound to the current
// router session: if it ends, Send and Finish fail with ErrSessionClosed.
func (s *Session) CallProgressive(ctx context.Context, procedure wamp.URI, opts ...Option) (*CallStream, error) {
	lk, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	ro, err := resolveOptions(opCall, &lk.info, opts)
	if err != nil {
		return nil, err
	}
	if !lk.info.Supports(wamp.RoleDealer, wamp.FeatureProgressiveCallInvocations) {
		return nil, &FeatureError{Role: wamp.RoleDealer, Feature: wamp.FeatureProgressiveCallInvocations}
	}
	return &CallStream{s: s, lk: lk, procedure: procedure, ro: ro}, nil
}

// firstOptions returns the first CALL's options with progress set.
func (cs *CallStream) firstOptions() wamp.Dict {
	o := make(wamp.Dict, len(cs.ro.wire)+1)
	for k, v := range cs.ro.wire {
		o[k] = v
	}
	o["progress"] = true
	return o
}

// poll takes the replies that arrived so far without waiting. Called with
// cs.mu held.
func (cs *CallStream) poll() {
	for !cs.ended {
		select {
		case m := <-cs.p.ch:
			res, err, final := cs.ro.callReply(m)
			if final {
				cs.ended, cs.res, cs.err = true, res, err
			}
		default:
			return
		}
	}
}

// endedErr is what Send returns once the call has its answer.
func (cs *CallStream) endedErr() error {
	if cs.err != nil {
		return cs.err
	}
	return ErrCallEnded
}

// Send sends one input chunk (a CALL with progress = true). It returns
// once the chunk is queued; ReceiveProgress callbacks for results that
// arrived meanwhile run first. If the call already ended, Send sends
// nothing and returns the call's error (a *Error when the callee or
// router refused it), or ErrCallEnded when it ended with a result.
func (cs *CallStream) Send(ctx context.Context, args wamp.List, kwargs wamp.Dict) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	args, kwargs, err := normalizePayload(args, kwargs)
	if err != nil {
		return err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.over {
		return ErrCallEnded
	}
	if !cs.started {
		p, id, err := cs.lk.request(cs.ro.progress != nil, nil, func(id wamp.ID) wamp.Message {
			return &wamp.Call{Request: id, Options: cs.firstOptions(), Procedure: cs.procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
		})
		if err != nil {
			return err
		}
		cs.started, cs.p, cs.id = true, p, id
		return nil
	}
	cs.poll()
	if cs.ended {
		return cs.endedErr()
	}
	return cs.lk.send(&wamp.Call{Request: cs.id, Options: wamp.Dict{"progress": true}, Procedure: cs.procedure,
		Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
}

// Finish sends the last input chunk (a CALL without progress) and waits
// for the final result, like Call: when ctx ends first the call is
// canceled. If the call already ended, nothing is sent and its answer is
// returned. Calling Finish again fails with ErrCallEnded.
func (cs *CallStream) Finish(ctx context.Context, args wamp.List, kwargs wamp.Dict) (*Result, error) {
	args, kwargs, err := normalizePayload(args, kwargs)
	if err != nil {
		return nil, err
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.over {
		return nil, ErrCallEnded
	}
	cs.over = true
	if !cs.started {
		// Only one chunk: an ordinary call.
		p, id, err := cs.lk.request(cs.ro.progress != nil, nil, func(id wamp.ID) wamp.Message {
			return &wamp.Call{Request: id, Options: cs.ro.wireOrEmpty(), Procedure: cs.procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
		})
		if err != nil {
			return nil, err
		}
		return cs.s.awaitCall(ctx, cs.lk, p, id, cs.ro)
	}
	cs.poll()
	if cs.ended {
		return cs.res, cs.err
	}
	if err := cs.lk.send(&wamp.Call{Request: cs.id, Options: wamp.Dict{}, Procedure: cs.procedure,
		Payload: wamp.Payload{Args: args, Kwargs: kwargs}}); err != nil {
		cs.lk.forget(cs.id)
		return nil, err
	}
	return cs.s.awaitCall(ctx, cs.lk, cs.p, cs.id, cs.ro)
}

// Cancel abandons the call: it sends CANCEL (mode as CancelMode says,
// default killnowait; only if the router supports call_canceling), which
// interrupts the callee, and waits for the router's answer until ctx ends
// or Config.CancelTimeout passes. It returns nil once the call is over,
// ErrCallEnded if Finish or Cancel was called before, and ctx.Err() or a
// timeout error when no answer came in time (the call is then abandoned
// locally; a late answer is dropped).
func (cs *CallStream) Cancel(ctx context.Context) error {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.over {
		return ErrCallEnded
	}
	cs.over = true
	if !cs.started {
		return nil
	}
	cs.poll()
	if cs.ended {
		return nil
	}
	if !cs.lk.info.Supports(wamp.RoleDealer, wamp.FeatureCallCanceling) {
		cs.lk.forget(cs.id)
		return nil
	}
	mode := cs.ro.cancelMode
	if mode == "" {
		mode = wamp.CancelKillNoWait
	}
	if err := cs.lk.send(&wamp.Cancel{Request: cs.id, Options: wamp.Dict{"mode": mode}}); err != nil {
		cs.lk.forget(cs.id)
		return nil // the session is gone, and the call with it
	}
	t := time.NewTimer(cs.s.cfg.CancelTimeout)
	defer t.Stop()
	for {
		select {
		case m := <-cs.p.ch:
			if _, _, final := cs.ro.callReply(m); final {
				return nil
			}
		case <-cs.lk.dead:
			return nil
		case <-t.C:
			cs.lk.forget(cs.id)
			return fmt.Errorf("client: no answer to CANCEL within %v", cs.s.cfg.CancelTimeout)
		case <-ctx.Done():
			cs.lk.forget(cs.id)
			return ctx.Err()
		}
	}
}
