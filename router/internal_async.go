package router

import (
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// asyncProc serves a router procedure that may wait, e.g. for a dynamic
// authorizer (tollgate.authorizer.revoke). It runs on its own goroutine,
// never on the caller's read loop: the caller may be the very backend
// whose answer it waits for.
type asyncProc func(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

// registerAsync makes fn the callee of procedure. Set-up only.
func (s *internalSession) registerAsync(procedure wamp.URI, fn asyncProc) {
	id, errURI := s.realm.dealer.Register(s.peer, procedure, dealer.RegisterOptions{})
	if errURI != "" {
		panic("router: internal procedure registered twice: " + string(procedure))
	}
	s.async[id] = fn
}

// invokeAsync runs fn on a goroutine Shutdown waits for and answers when
// it returns. The invocation arrives on the caller's read loop, whose
// connection count is held, so the WaitGroup's Add cannot race its Wait.
func (s *internalSession) invokeAsync(inv *wamp.Invocation, caller wamp.ID, args wamp.List, kwargs wamp.Dict, fn asyncProc) {
	metaRealm{s.realm}.Go(func() {
		a, k, err := fn(caller, args, kwargs)
		s.answer(inv, a, k, err)
	})
}
