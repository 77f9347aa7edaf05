package client

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Register registers fn as procedure and returns a handle for Unregister.
//
// fn is a HandlerFunc or a typed function. Typed functions may take a
// *CallContext or context.Context first; the remaining parameters are
// filled from the positional arguments in order, with lossless numeric
// conversions (a float64 from JSON fills an int parameter if integral);
// a trailing struct or map[string]T parameter takes the kwargs when the
// call has one positional argument less than the function. Struct fields
// are matched by `wamp` tag, `json` tag, or name (case-insensitive). A
// mismatch answers wamp.error.invalid_argument with a message such as
// "argument 2: want string, got float64" (ParamNames adds names). Results:
// (T, error), (T), (error) or none; T becomes the single positional
// result, a Result or *Result is sent as is. A returned *Error is sent as
// is; any other error becomes wamp.error.runtime_error with its text.
//
// Options: Match, Invoke, DiscloseCaller, ParamNames, WireOption.
func (s *Session) Register(ctx context.Context, procedure wamp.URI, fn any, opts ...Option) (*Registration, error) {
	lk, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	ro, err := resolveOptions(opRegister, &lk.info, opts)
	if err != nil {
		return nil, err
	}
	h, err := procHandlerOf(fn, ro.names)
	if err != nil {
		return nil, err
	}
	return lk.register(ctx, procedure, h, ro)
}

// Unregister removes a registration. A handle of a router session that has
// since ended is already gone: Unregister returns nil.
func (s *Session) Unregister(ctx context.Context, reg *Registration) error {
	if reg == nil || reg.lk == nil {
		return errors.New("client: Unregister needs a registration handle")
	}
	return reg.lk.unregister(ctx, reg)
}

func (lk *link) register(ctx context.Context, procedure wamp.URI, h procHandler, ro *reqOptions) (*Registration, error) {
	reg := &Registration{Procedure: procedure, Match: matchOrExact(ro.match), handler: h, lk: lk}
	onReply := func(m wamp.Message, abandoned bool) {
		rd, ok := m.(*wamp.Registered)
		if !ok {
			return
		}
		if abandoned {
			_ = lk.requestNoReply(func(id wamp.ID) wamp.Message {
				return &wamp.Unregister{Request: id, Registration: rd.Registration}
			})
			return
		}
		lk.mu.Lock()
		reg.ID = rd.Registration
		lk.regs[rd.Registration] = reg
		lk.mu.Unlock()
	}
	if err := lk.ask(ctx, onReply, func(id wamp.ID) wamp.Message {
		return &wamp.Register{Request: id, Options: ro.wireOrEmpty(), Procedure: procedure}
	}); err != nil {
		return nil, err
	}
	return reg, nil
}

func (lk *link) unregister(ctx context.Context, reg *Registration) error {
	lk.mu.Lock()
	if lk.regs[reg.ID] != reg {
		lk.mu.Unlock()
		return nil
	}
	delete(lk.regs, reg.ID)
	lk.mu.Unlock()
	if lk.isDead() {
		return nil
	}
	return lk.release(ctx, func(id wamp.ID) wamp.Message {
		return &wamp.Unregister{Request: id, Registration: reg.ID}
	})
}

func (lk *link) onInvocation(m *wamp.Invocation) {
	lk.mu.Lock()
	reg := lk.regs[m.Registration]
	running := lk.invs[m.Request]
	late := running == nil && lk.ended.contains(m.Request)
	lk.mu.Unlock()
	if running != nil {
		lk.continueInvocation(running, m)
		return
	}
	if late {
		return // a chunk of a progressive call invocation we answered already
	}
	if reg == nil {
		_ = lk.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: m.Request, Details: wamp.Dict{},
			Error: wamp.ErrNoSuchRegistration})
		return
	}
	st := &invState{lk: lk, id: m.Request}
	if ms, ok := wamp.OptInt(m.Details, "timeout"); ok && ms > 0 {
		st.ctx, st.cancel = context.WithTimeout(lk.ctx, time.Duration(ms)*time.Millisecond)
		st.timeout = true
	} else {
		st.ctx, st.cancel = context.WithCancel(lk.ctx)
	}
	if progress, _ := wamp.OptBool(m.Details, "progress"); progress {
		st.chunks = make(chan *wamp.Invocation, maxChunks)
		st.inputOpen = true
		base, cancelBase := st.ctx, st.cancel
		st.ctx, st.fail = context.WithCancelCause(base)
		st.cancel = func() { st.fail(nil); cancelBase() }
	}
	lk.mu.Lock()
	lk.invs[m.Request] = st
	lk.mu.Unlock()
	lk.enqueue(func() { lk.runInvocation(reg, st, m) })
}

func (lk *link) runInvocation(reg *Registration, st *invState, m *wamp.Invocation) {
	defer func() {
		st.cancel()
		lk.mu.Lock()
		delete(lk.invs, st.id)
		if st.chunks != nil {
			lk.ended.add(st.id)
		}
		lk.mu.Unlock()
	}()
	var (
		res Result
		err error
	)
	args, kwargs, derr := m.Values()
	if derr != nil {
		err = &Error{URI: wamp.ErrInvalidArgument, Args: wamp.List{"client: undecodable payload: " + derr.Error()}}
	} else {
		inv := &Invocation{Procedure: reg.Procedure, Registration: m.Registration, Args: args, Kwargs: kwargs,
			Details: m.Details, st: st}
		if p, ok := wamp.OptString(m.Details, "procedure"); ok && p != "" {
			inv.Procedure = wamp.URI(p)
		}
		inv.Caller, _ = wamp.OptID(m.Details, "caller")
		inv.CallerAuthID, _ = wamp.OptString(m.Details, "caller_authid")
		inv.CallerAuthRole, _ = wamp.OptString(m.Details, "caller_authrole")
		cc := &CallContext{Context: st.ctx, Session: lk.s, Invocation: inv, Procedure: inv.Procedure,
			Caller: inv.Caller, CallerAuthID: inv.CallerAuthID, CallerAuthRole: inv.CallerAuthRole, Details: m.Details}
		res, err = lk.callHandler(reg, cc)
	}
	st.mu.Lock()
	st.done = true
	st.mu.Unlock()
	if lk.isDead() {
		return
	}
	if err == nil {
		var a wamp.List
		var k wamp.Dict
		var yo wamp.Dict
		if yo, err = pptKeys(res.Details); err == nil {
			if a, k, err = normalizePayload(res.Args, res.Kwargs); err == nil {
				err = lk.send(&wamp.Yield{Request: st.id, Options: yo, Payload: wamp.Payload{Args: a, Kwargs: k}})
				if err == nil || errors.Is(err, ErrSessionClosed) {
					return
				}
			}
		}
		err = fmt.Errorf("client: sending result: %w", err)
	}
	var we *Error
	switch {
	case errors.As(err, &we):
	case errors.Is(context.Cause(st.ctx), errChunkOverflow):
		we = &Error{URI: wamp.ErrCanceled, Args: wamp.List{errChunkOverflow.Error()}}
	case st.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		uri := wamp.ErrCanceled
		if st.timeout && errors.Is(st.ctx.Err(), context.DeadlineExceeded) {
			uri = wamp.ErrTimeout
		}
		we = &Error{URI: uri, Args: wamp.List{err.Error()}}
	default:
		we = handlerError(err)
	}
	a, k, nerr := normalizePayload(we.Args, we.Kwargs)
	if nerr != nil {
		a, k = wamp.List{fmt.Sprintf("client: error payload not encodable: %v", nerr)}, nil
	}
	if serr := lk.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: st.id, Details: wamp.Dict{},
		Error: we.URI, Payload: wamp.Payload{Args: a, Kwargs: k}}); serr != nil && !errors.Is(serr, ErrSessionClosed) {
		lk.s.cfg.Logger.Warn("client: sending error", "procedure", reg.Procedure, "err", serr)
	}
}

// pptKeys returns the ppt_* keys of a handler's Result.Details (payload
// passthru mode) as YIELD options, empty when there are none. They must be
// strings with a non-empty ppt_scheme: the router aborts a session that
// sends anything else.
func pptKeys(d wamp.Dict) (wamp.Dict, error) {
	out := wamp.Dict{}
	for k, v := range d {
		if !strings.HasPrefix(k, "ppt_") {
			continue
		}
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("client: result details %s must be a string, got %s", k, typeName(v))
		}
		out[k] = v
	}
	if scheme, _ := out["ppt_scheme"].(string); len(out) > 0 && scheme == "" {
		return nil, errors.New("client: result details ppt_* need a non-empty ppt_scheme")
	}
	return out, nil
}

func (lk *link) callHandler(reg *Registration, cc *CallContext) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			lk.s.cfg.Logger.Error("client: procedure handler panicked", "procedure", cc.Procedure, "panic", r,
				"stack", string(debug.Stack()))
			res, err = Result{}, &Error{URI: wamp.ErrRuntimeError, Args: wamp.List{fmt.Sprintf("handler panicked: %v", r)}}
		}
	}()
	return reg.handler(cc)
}
