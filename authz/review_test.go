package authz

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestPatternRegistrationNeedsPrefixRule: a prefix registration matches
// every procedure under it, so only a prefix permission may admit it. An
// exact permission for "com.app.ping" (or a wildcard one for
// "com.app..ping") does not let the role register the prefix
// "com.app.ping" and serve calls to com.app.ping.admin, which it may not
// register one by one. Subscriptions keep the pattern rule: their events
// are re-checked per topic.
func TestPatternRegistrationNeedsPrefixRule(t *testing.T) {
	t.Parallel()
	r := staticRealm(t,
		Permission{URI: "com.app.ping", Match: "exact", Allow: Actions{Register: true, Subscribe: true}},
		Permission{URI: "com.app..ping", Match: "wildcard", Allow: Actions{Register: true}},
		Permission{URI: "com.svc.", Match: "prefix", Allow: Actions{Register: true}},
	)
	for _, c := range []struct {
		uri    wamp.URI
		match  string
		action Action
		allow  bool
	}{
		{"com.app.ping", "", ActionRegister, true},
		{"com.app.ping", wamp.MatchExact, ActionRegister, true},
		{"com.app.ping", wamp.MatchPrefix, ActionRegister, false},
		{"com.app.x.ping", wamp.MatchPrefix, ActionRegister, false},
		{"com.app.x.ping", wamp.MatchExact, ActionRegister, true},
		{"com.app..ping", wamp.MatchWildcard, ActionRegister, true},
		{"com.svc.a", wamp.MatchPrefix, ActionRegister, true},
		{"com.svc..b", wamp.MatchWildcard, ActionRegister, true},
		{"com.app.ping", wamp.MatchPrefix, ActionSubscribe, true},
	} {
		t.Run(string(c.action)+" "+c.match+" "+string(c.uri), func(t *testing.T) {
			t.Parallel()
			var opts wamp.Dict
			if c.match != "" {
				opts = wamp.Dict{"match": c.match}
			}
			d := r.Authorize(context.Background(), userSession("user"), c.uri, c.action, opts)
			if d.Allow != c.allow {
				t.Errorf("Authorize(%s %s, match %q) = %+v, want allow=%v", c.action, c.uri, c.match, d, c.allow)
			}
		})
	}
}
