package router

import "github.com/tollgate-wamp/tollgate/wamp"

// registerAsync makes fn, a router procedure that may wait (e.g. for a
// dynamic authorizer: tollgate.authorizer.revoke), the callee of
// procedure. It runs on its own goroutine, never on the caller's read
// loop: the caller may be the very backend whose answer it waits for.
// Set-up only.
func (s *internalSession) registerAsync(procedure wamp.URI, fn internalProc) {
	s.async[s.register(procedure, fn)] = true
}

// invokeAsync runs fn on a goroutine Shutdown waits for and answers when
// it returns. The invocation arrives on the caller's read loop, whose
// connection count is held, so the WaitGroup's Add cannot race its Wait.
func (s *internalSession) invokeAsync(inv *wamp.Invocation, caller wamp.ID, args wamp.List, kwargs wamp.Dict, fn internalProc) {
	metaRealm{s.realm}.Go(func() {
		a, k, err := fn(caller, args, kwargs)
		s.answer(inv, a, k, err)
	})
}
