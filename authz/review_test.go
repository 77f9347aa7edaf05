package authz

import (
	"context"
	"sync/atomic"
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

// TestCachedAnswerNotReusedForPattern: an authorizer that allows exact
// requests (and caches that) but refuses patterns, as the docs advise,
// must be asked about a pattern request for the same URI: the cached
// exact "yes" does not cover a prefix registration or subscription.
func TestCachedAnswerNotReusedForPattern(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	caller := callerFunc(func(_ context.Context, _, _ wamp.URI, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		calls.Add(1)
		opts, _ := args[3].(wamp.Dict)
		if m, _ := wamp.OptString(opts, "match"); m == wamp.MatchPrefix || m == wamp.MatchWildcard {
			return wamp.List{false}, nil, nil
		}
		return wamp.List{wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole"}}}, nil, nil
	})
	r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Authorizer: "com.auth"}}, Options{Caller: caller})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, action := range []Action{ActionRegister, ActionSubscribe} {
		uri := wamp.URI("com.app.ping." + string(action))
		if d := r.Authorize(ctx, userSession("user"), uri, action, wamp.Dict{}); !d.Allow {
			t.Fatalf("exact %s %s: %+v, want allowed", action, uri, d)
		}
		for _, match := range []string{wamp.MatchPrefix, wamp.MatchWildcard} {
			if d := r.Authorize(ctx, userSession("user"), uri, action, wamp.Dict{"match": match}); d.Allow {
				t.Errorf("%s %s with match %s: allowed from the cached exact answer; the authorizer refuses patterns", action, uri, match)
			}
		}
		// The exact answer is still served from the cache.
		before := calls.Load()
		if d := r.Authorize(ctx, userSession("user"), uri, action, nil); !d.Allow || calls.Load() != before {
			t.Errorf("exact %s %s again: %+v after %d calls, want a cached allow", action, uri, d, calls.Load()-before)
		}
	}
}
