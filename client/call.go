package client

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Call calls procedure with positional args and keyword kwargs and
// returns the final result. A callee's or the router's ERROR is returned
// as *Error.
//
// Options: ReceiveProgress, CancelMode, CallTimeout, DiscloseMe, PPT,
// WireOption. For streamed input see CallProgressive.
//
// When ctx ends before the result, Call sends CANCEL (mode killnowait
// unless CancelMode says otherwise; only if the router supports
// call_canceling) and waits for the router's answer; the returned error
// then wraps both ctx.Err() and the router's *Error. With mode kill the
// callee may still deliver a result, which is returned.
func (s *Session) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, opts ...Option) (*Result, error) {
	lk, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	ro, err := resolveOptions(opCall, &lk.info, opts)
	if err != nil {
		return nil, err
	}
	if args, kwargs, err = normalizePayload(args, kwargs); err != nil {
		return nil, err
	}
	p, id, err := lk.request(ro.progress != nil, nil, func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: ro.wireOrEmpty(), Procedure: procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	})
	if err != nil {
		return nil, err
	}
	return s.awaitCall(ctx, lk, p, id, ro)
}

// awaitCall waits for the final answer to CALL id: progressive results go
// to ro.progress, and when ctx ends the call is canceled (see Call).
func (s *Session) awaitCall(ctx context.Context, lk *link, p *pending, id wamp.ID, ro *reqOptions) (*Result, error) {
	ctxDone := ctx.Done()
	var (
		cancelErr error
		grace     <-chan time.Time
	)
	// handle processes one reply; final reports whether the call is done.
	handle := func(m wamp.Message) (*Result, error, bool) {
		res, err, final := ro.callReply(m)
		if final && cancelErr != nil {
			if _, isErr := m.(*wamp.Error); isErr {
				return nil, fmt.Errorf("%w (%w)", cancelErr, err), true
			}
		}
		return res, err, final
	}
	for {
		select {
		case m := <-p.ch:
			if res, err, final := handle(m); final {
				return res, err
			}
		case <-lk.dead:
			// Replies that arrived before the end still count.
			for {
				select {
				case m := <-p.ch:
					if res, err, final := handle(m); final {
						return res, err
					}
					continue
				default:
				}
				break
			}
			return nil, errClosed(lk.cause())
		case <-ctxDone:
			ctxDone = nil
			cancelErr = ctx.Err()
			if !lk.info.Supports(wamp.RoleDealer, wamp.FeatureCallCanceling) {
				lk.forget(id)
				return nil, cancelErr
			}
			mode := ro.cancelMode
			if mode == "" {
				mode = wamp.CancelKillNoWait
			}
			if err := lk.send(&wamp.Cancel{Request: id, Options: wamp.Dict{"mode": mode}}); err != nil {
				lk.forget(id)
				return nil, cancelErr
			}
			t := time.NewTimer(s.cfg.CancelTimeout)
			defer t.Stop()
			grace = t.C
		case <-grace:
			lk.forget(id)
			return nil, cancelErr
		}
	}
}

// callReply processes one reply to a CALL: a progressive result goes to
// o.progress; final reports whether m ends the call.
func (o *reqOptions) callReply(m wamp.Message) (res *Result, err error, final bool) {
	switch m := m.(type) {
	case *wamp.Result:
		progress, _ := wamp.OptBool(m.Details, "progress")
		res, err := resultOf(m)
		if progress {
			if err == nil && o.progress != nil {
				o.progress(res)
			}
			return nil, nil, false
		}
		return res, err, true
	case *wamp.Error:
		return nil, errorFromMessage(m), true
	}
	return nil, wamp.Protocolf("unexpected reply %T to CALL", m), true
}

func resultOf(m *wamp.Result) (*Result, error) {
	args, kwargs, err := m.Values()
	if err != nil {
		return nil, fmt.Errorf("client: decoding result payload: %w", err)
	}
	return &Result{Args: args, Kwargs: kwargs, Details: m.Details}, nil
}
