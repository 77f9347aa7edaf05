package router

import (
	"context"
	"fmt"
	"sync"

	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// internalSession is the router's own trusted session on a realm. It calls
// dynamic authenticators and authorizers and never touches a socket: the
// dealer hands it RESULT and ERROR messages directly.
type internalSession struct {
	id    wamp.ID
	realm *realm
	peer  *dealer.Peer
	reqs  wamp.Sequence

	mu      sync.Mutex
	pending map[wamp.ID]chan wamp.Message
	// procs are the router's own procedures by registration id (meta API,
	// authorizer cache flush). Written only while the realm is set up.
	procs map[wamp.ID]internalProc
	// async marks the procs that may wait: they run on their own
	// goroutine (internal_async.go). Written only during set-up.
	async map[wamp.ID]bool
}

// internalProc serves one router procedure. It runs on the caller's read
// loop, so it must be quick and must not block; an error is answered as a
// WAMP error (a *wamp.CallError keeps its URI, anything else becomes
// wamp.error.runtime_error).
type internalProc func(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

func newInternalSession(rm *realm) *internalSession {
	s := &internalSession{id: wamp.GlobalID(), realm: rm, pending: map[wamp.ID]chan wamp.Message{}, procs: map[wamp.ID]internalProc{}, async: map[wamp.ID]bool{}}
	s.peer = dealer.NewPeer(s)
	return s
}

func (s *internalSession) ID() wamp.ID      { return s.id }
func (s *internalSession) AuthID() string   { return "tollgate-" + string(s.realm.name) }
func (s *internalSession) AuthRole() string { return "trusted" }

// The internal session publishes meta events through the broker; it never
// subscribes, so it receives no events.
func (s *internalSession) Codec() codec.Codec { return codec.JSON }
func (s *internalSession) SendEvent([]byte)   {}

// Send receives the dealer's answers to this session's calls. It never
// blocks: each call has a one-slot channel and only its final answer is
// delivered (progressive results are not requested).
func (s *internalSession) Send(m wamp.Message) error {
	var req wamp.ID
	switch m := m.(type) {
	case *wamp.Result:
		req = m.Request
	case *wamp.Error:
		req = m.Request
	case *wamp.Invocation:
		s.invoke(m)
		return nil
	default:
		return nil
	}
	s.mu.Lock()
	ch := s.pending[req]
	delete(s.pending, req)
	s.mu.Unlock()
	if ch != nil {
		ch <- m
	}
	return nil
}

// register makes fn the callee of procedure (exact match). Only used while
// the realm is being set up, before any session can join.
func (s *internalSession) register(procedure wamp.URI, fn internalProc) wamp.ID {
	id, errURI := s.realm.dealer.Register(s.peer, procedure, dealer.RegisterOptions{})
	if errURI != "" {
		panic("router: internal procedure registered twice: " + string(procedure))
	}
	s.procs[id] = fn
	return id
}

// invoke runs a router procedure and answers the dealer.
func (s *internalSession) invoke(inv *wamp.Invocation) {
	fn := s.procs[inv.Registration]
	// The dealer hands over its own Details: the caller id is a wamp.ID
	// there, which wamp.OptID (made for decoded numbers) does not accept.
	caller, ok := inv.Details["caller"].(wamp.ID)
	if !ok {
		caller, _ = wamp.OptID(inv.Details, "caller")
	}
	args, kwargs, err := inv.Values()
	if s.async[inv.Registration] && err == nil {
		s.invokeAsync(inv, caller, args, kwargs, fn) // internal_async.go
		return
	}
	if err == nil && fn == nil {
		err = &wamp.CallError{URI: wamp.ErrNoSuchProcedure}
	}
	if err == nil {
		args, kwargs, err = fn(caller, args, kwargs)
	}
	s.answer(inv, args, kwargs, err)
}

// answer sends a router procedure's outcome to the dealer.
func (s *internalSession) answer(inv *wamp.Invocation, args wamp.List, kwargs wamp.Dict, err error) {
	if err != nil {
		ce, ok := err.(*wamp.CallError)
		if !ok {
			ce = &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{err.Error()}}
		}
		s.realm.dealer.Error(s.peer, &wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: ce.URI, Payload: wamp.Payload{Args: ce.Args, Kwargs: ce.Kwargs}})
		return
	}
	s.realm.dealer.Yield(s.peer, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
}

// call routes one CALL from the internal session and waits for its answer
// or for ctx to end (then the call is canceled with killnowait).
func (s *internalSession) call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	req := s.reqs.Next()
	ch := make(chan wamp.Message, 1)
	s.mu.Lock()
	s.pending[req] = ch
	s.mu.Unlock()
	c := &wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	o := dealer.CallOptions{Disclose: true}
	if errURI := s.realm.call(s.peer, c, o); errURI != "" {
		s.mu.Lock()
		delete(s.pending, req)
		s.mu.Unlock()
		ce := &wamp.CallError{URI: errURI}
		if msg := callRefusal(errURI, procedure, o); msg != "" {
			ce.Args = wamp.List{msg}
		}
		return nil, nil, ce
	}
	select {
	case m := <-ch:
		switch m := m.(type) {
		case *wamp.Result:
			a, k, err := m.Values()
			if err != nil {
				return nil, nil, fmt.Errorf("router: undecodable result from %s: %w", procedure, err)
			}
			return a, k, nil
		case *wamp.Error:
			a, k, _ := m.Values()
			return nil, nil, &wamp.CallError{URI: m.Error, Args: a, Kwargs: k}
		}
		return nil, nil, fmt.Errorf("router: unexpected answer %v", m.MessageType())
	case <-ctx.Done():
		s.realm.dealer.Cancel(s.peer, req, dealer.CancelKillNoWait)
		s.mu.Lock()
		delete(s.pending, req)
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("router: call to %s: %w", procedure, ctx.Err())
	}
}

// Call calls procedure on realm from the router's internal trusted
// session. It implements auth.Caller and authz.Caller. A WAMP error answer
// is returned as *wamp.CallError (wamp.error.no_such_procedure when nothing
// is registered); ctx ending returns an error wrapping ctx.Err().
func (r *Router) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	rm := r.realms[realm]
	if rm == nil {
		return nil, nil, &wamp.CallError{URI: wamp.ErrNoSuchRealm, Args: wamp.List{fmt.Sprintf("no realm %q on this router", realm)}}
	}
	return rm.internal.call(ctx, procedure, args, kwargs)
}
