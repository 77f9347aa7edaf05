package router_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestReservedPatternRegistration: a session that is not trusted must not
// register a pattern that matches wamp.* or tollgate.* procedures. The
// router's own procedures are exact registrations and win, but a call to a
// reserved procedure the router does not serve (an unknown meta procedure,
// tollgate.authorizer.flush on a realm without roles) would otherwise be
// routed to the pattern's callee, with the caller disclosed.
func TestReservedPatternRegistration(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	for _, tc := range []struct {
		uri   wamp.URI
		match string
	}{
		{"", wamp.MatchPrefix},
		{"tollgate", wamp.MatchPrefix},
		{"wamp", wamp.MatchPrefix},
		{"wamp.", wamp.MatchPrefix},
		{".session.nonexistent", wamp.MatchWildcard},
		{"..", wamp.MatchWildcard},
		{"tollgate..flush", wamp.MatchWildcard},
		{"wamp..nonexistent", wamp.MatchWildcard},
	} {
		t.Run(tc.match+":"+string(tc.uri), func(t *testing.T) {
			t.Parallel()
			attacker := joinBackend(t, backdoor, "realm1")
			req := attacker.next()
			attacker.send(&wamp.Register{Request: req, Options: wamp.Dict{"match": tc.match}, Procedure: tc.uri})
			attacker.expectError(wamp.TypeRegister, req, wamp.ErrInvalidURI)
		})
	}
	// Patterns that cannot match a reserved URI stay allowed.
	t.Run("allowed", func(t *testing.T) {
		t.Parallel()
		p := joinBackend(t, backdoor, "realm1")
		p.register("wampx", wamp.Dict{"match": wamp.MatchPrefix})
		p.register("tollgatex.", wamp.Dict{"match": wamp.MatchPrefix})
		p.register("com..get", wamp.Dict{"match": wamp.MatchWildcard})
		p.register("tollgate", wamp.Dict{}) // exact "tollgate" is not under tollgate.
	})
	// End to end: a caller of an unserved wamp.* procedure gets
	// no_such_procedure, not the attacker's answer.
	t.Run("no interception", func(t *testing.T) {
		t.Parallel()
		attacker := joinBackend(t, backdoor, "realm1")
		req := attacker.next()
		attacker.send(&wamp.Register{Request: req, Options: wamp.Dict{"match": wamp.MatchPrefix}, Procedure: ""})
		if m := attacker.recv(); m.MessageType() != wamp.TypeError {
			t.Fatalf("prefix \"\" registration by a backend session: got %v, want ERROR", m.MessageType())
		}
		victim := joinBackend(t, backdoor, "realm1")
		victim.callErr("wamp.session.nonexistent", nil, nil, wamp.ErrNoSuchProcedure)
		attacker.expectNothing(100 * 1e6)
	})
}
