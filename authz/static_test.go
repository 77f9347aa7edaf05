package authz

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	allowAll  = Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	allowCall = Actions{Call: true}
)

func staticRealm(t testing.TB, perms ...Permission) *Realm {
	t.Helper()
	r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Permissions: perms}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func userSession(role string) *Session {
	return &Session{ID: 7, Realm: "realm1", AuthID: "alice", AuthRole: role}
}

type staticCase struct {
	uri          wamp.URI
	action       Action
	allow, discl bool
}

func runStatic(t *testing.T, r *Realm, cases []staticCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(string(c.action)+" "+string(c.uri), func(t *testing.T) {
			t.Parallel()
			d := r.Authorize(context.Background(), userSession("user"), c.uri, c.action, nil)
			if d.Allow != c.allow || d.Disclose != c.discl || d.Failed {
				t.Errorf("Authorize(%s, %s) = %+v, want allow=%v disclose=%v", c.uri, c.action, d, c.allow, c.discl)
			}
		})
	}
}

// TestStaticPrecedence: exact > wildcard > prefix (longest) > deny, per
// component, including the cases where Crossbar's character trie differs.
func TestStaticPrecedence(t *testing.T) {
	t.Parallel()
	r := staticRealm(t,
		Permission{URI: "com.example.", Match: "prefix", Allow: allowCall},
		Permission{URI: "com.example.foo", Match: "exact", Allow: Actions{Publish: true}},
		Permission{URI: "com.example..bar", Match: "wildcard", Allow: Actions{Subscribe: true}},
		Permission{URI: "com.example.foo.bar", Match: "exact", Allow: Actions{Register: true}},
		Permission{URI: "com.example.deep", Match: "prefix", Allow: Actions{Publish: true}},
	)
	runStatic(t, r, []staticCase{
		{"com.example.foo", ActionPublish, true, false},
		{"com.example.foo", ActionCall, false, false}, // exact wins over the prefix
		// Crossbar quirk: the exact key com.example.foo shadows the prefix
		// for com.example.foobar (deny). We apply the prefix.
		{"com.example.foobar", ActionCall, true, false},
		{"com.example.x.bar", ActionSubscribe, true, false}, // wildcard
		{"com.example.x.bar", ActionCall, false, false},     // wildcard beats prefix
		{"com.example.foo.bar", ActionRegister, true, false},
		{"com.example.foo.bar", ActionSubscribe, false, false}, // exact beats wildcard
		{"com.example", ActionCall, true, false},               // a prefix matches itself
		// Crossbar matches characters: prefix com.example would allow this.
		{"com.examplexyz", ActionCall, false, false},
		{"com.example.deep.x", ActionPublish, true, false}, // longest prefix
		{"com.example.deep.x", ActionCall, false, false},
		{"com.example.deeper", ActionCall, true, false}, // not under com.example.deep
		{"org.other", ActionCall, false, false},
		{"", ActionCall, false, false},
	})
}

// TestStaticWildcardSpecificity: among matching wildcards the one with the
// literal component first wins (wamp-spec §11.7); trailing and leading
// empty components match (Crossbar never matches those).
func TestStaticWildcardSpecificity(t *testing.T) {
	t.Parallel()
	r := staticRealm(t,
		Permission{URI: "a..c", Match: "wildcard", Allow: allowCall},
		Permission{URI: "a.b.", Match: "wildcard", Allow: Actions{Publish: true}},
		Permission{URI: ".b.c", Match: "wildcard", Allow: Actions{Subscribe: true}},
		Permission{URI: "a..", Match: "wildcard", Allow: Actions{Register: true}},
		Permission{URI: "a.b.c.d", Match: "wildcard", Allow: allowAll},
	)
	runStatic(t, r, []staticCase{
		{"a.b.c", ActionPublish, true, false}, // a.b. beats a..c, .b.c, a..
		{"a.b.c", ActionCall, false, false},
		{"a.x.c", ActionCall, true, false}, // a..c beats a..
		{"a.x.c", ActionRegister, false, false},
		{"z.b.c", ActionSubscribe, true, false},
		{"a.x.y", ActionRegister, true, false},
		{"a.b.c.d", ActionCall, true, false}, // all-literal wildcard
		{"a.b", ActionCall, false, false},    // component counts differ
		{"a.b.c.d.e", ActionCall, false, false},
		{"a..c", ActionCall, true, false}, // a wildcard subscription pattern itself
	})
}

func TestStarredURIs(t *testing.T) {
	t.Parallel()
	r := staticRealm(t,
		Permission{URI: "*", Allow: Actions{Subscribe: true}},
		Permission{URI: "com.example.*", Allow: allowCall},
		Permission{URI: "com.*.update", Allow: Actions{Publish: true}},
		Permission{URI: "com.exact", Allow: Actions{Register: true}},
		Permission{URI: "com.trail.", Allow: Actions{Register: true}},
		Permission{URI: "x.*.*", Allow: Actions{Call: true}},
	)
	runStatic(t, r, []staticCase{
		{"anything.at.all", ActionSubscribe, true, false},
		{"anything.at.all", ActionCall, false, false},
		{"com.example.a.b", ActionCall, true, false},
		{"com.example", ActionCall, true, false},
		{"com.x.update", ActionPublish, true, false},
		{"com.x.update", ActionSubscribe, false, false}, // wildcard beats the * prefix
		{"com.exact", ActionRegister, true, false},
		{"com.exact.sub", ActionRegister, false, false},
		{"com.trail.sub", ActionRegister, false, false}, // trailing '.' is exact (Crossbar): matches nothing
		{"com.trail", ActionRegister, false, false},
		{"x.a.b", ActionCall, true, false}, // two stars: wildcard x..
		{"x.a", ActionCall, false, false},
	})
}

func TestConvertStarred(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, uri, match, bad string }{
		{"*", "", "prefix", ""},
		{"com.example.*", "com.example.", "prefix", ""},
		{"com.*.x", "com..x", "wildcard", ""},
		{"*.x", ".x", "wildcard", ""},
		{"com.*.*", "com..", "wildcard", ""},
		{"com.x", "com.x", "exact", ""},
		{"com.x.", "com.x.", "exact", ""},
		{"", "", "", "empty"},
		{"com.ex*", "", "", "whole component"},
		{"com.*x.y", "", "", "whole component"},
	} {
		t.Run(c.in, func(t *testing.T) {
			t.Parallel()
			uri, match, bad := convertStarred(c.in)
			if c.bad != "" {
				if !strings.Contains(bad, c.bad) {
					t.Fatalf("convertStarred(%q) bad = %q, want it to mention %q", c.in, bad, c.bad)
				}
				return
			}
			if uri != c.uri || match != c.match || bad != "" {
				t.Fatalf("convertStarred(%q) = %q, %q, %q; want %q, %q", c.in, uri, match, bad, c.uri, c.match)
			}
		})
	}
}

func TestDisclosureAndBuiltins(t *testing.T) {
	t.Parallel()
	r, err := NewRealm("realm1", []RoleConfig{
		{Name: "user", Permissions: []Permission{
			{URI: "com.d.", Match: "prefix", Allow: allowAll, Disclose: Disclose{Caller: true, Publisher: true}},
			{URI: "com.n.", Match: "prefix", Allow: allowAll},
			{URI: "wamp.", Match: "prefix", Allow: allowAll},
		}},
		{Name: "nobody"},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		role         string
		uri          wamp.URI
		action       Action
		allow, discl bool
		msg          string
	}{
		{"user", "com.d.x", ActionCall, true, true, ""},
		{"user", "com.d.x", ActionPublish, true, true, ""},
		{"user", "com.d.x", ActionRegister, true, false, ""},
		{"user", "com.d.x", ActionSubscribe, true, false, ""},
		{"user", "com.n.x", ActionCall, true, false, ""},
		{"user", "wamp.session.get", ActionCall, true, true, ""}, // wamp.* always discloses
		{"trusted", "any.thing", ActionCall, true, true, ""},
		{"trusted", "any.thing", ActionPublish, true, true, ""},
		{"trusted", "any.thing", ActionRegister, true, false, ""},
		{"trusted", "wamp.x", ActionSubscribe, true, false, ""},
		{"nobody", "com.d.x", ActionCall, false, false, ""},
		{"ghost", "com.d.x", ActionCall, false, false, "role ghost is not defined"},
	} {
		t.Run(c.role+" "+string(c.action)+" "+string(c.uri), func(t *testing.T) {
			t.Parallel()
			d := r.Authorize(ctx, userSession(c.role), c.uri, c.action, nil)
			if d.Allow != c.allow || d.Disclose != c.discl || d.Failed || !strings.Contains(d.Message, c.msg) {
				t.Errorf("got %+v, want allow=%v disclose=%v message~%q", d, c.allow, c.discl, c.msg)
			}
		})
	}
	if !r.HasRole("trusted") || !r.HasRole("user") || !r.HasRole("nobody") || r.HasRole("ghost") {
		t.Error("HasRole wrong")
	}
	if d := r.Authorize(ctx, userSession("user"), "com.d.x", "delete", nil); d.Allow || !strings.Contains(d.Message, "unknown action") {
		t.Errorf("unknown action: %+v", d)
	}
	if d := r.Authorize(ctx, nil, "com.d.x", ActionCall, nil); d.Allow {
		t.Errorf("nil session allowed: %+v", d)
	}
}

func TestNewRealmErrors(t *testing.T) {
	t.Parallel()
	noop := callerFunc(func(context.Context, wamp.URI, wamp.URI, wamp.List, wamp.Dict) (wamp.List, wamp.Dict, error) {
		return nil, nil, nil
	})
	for _, c := range []struct {
		name  string
		roles []RoleConfig
		o     Options
		want  []string
	}{
		{"empty name", []RoleConfig{{}}, Options{}, []string{"roles[0].name: empty"}},
		{"duplicate", []RoleConfig{{Name: "a"}, {Name: "a"}}, Options{}, []string{`roles[1] ("a").name: duplicate of roles[0]`}},
		{"trusted", []RoleConfig{{Name: "trusted"}}, Options{}, []string{`roles[0] ("trusted").name: "trusted" is reserved`}},
		{"both", []RoleConfig{{Name: "a", Authorizer: "com.auth", Permissions: []Permission{{URI: "x"}}}}, Options{Caller: noop},
			[]string{`roles[0] ("a"): has both permissions and authorizer`}},
		{"no caller", []RoleConfig{{Name: "a", Authorizer: "com.auth"}}, Options{}, []string{"Options.Caller is nil"}},
		{"bad authorizer", []RoleConfig{{Name: "a", Authorizer: "com..auth"}}, Options{Caller: noop}, []string{"roles[0] (\"a\").authorizer: invalid URI"}},
		{"realm without authorizer", []RoleConfig{{Name: "a", AuthorizerRealm: "r2"}}, Options{}, []string{"authorizer-realm: set without authorizer"}},
		{"negative", []RoleConfig{{Name: "a", Authorizer: "com.auth", Timeout: -1, CacheTTL: -1}}, Options{Caller: noop},
			[]string{"timeout: negative", "cache-ttl: negative"}},
		{"bad match", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: "x", Match: "regex"}}}}, Options{},
			[]string{`roles[0] ("a").permissions[0].match: "regex" is not exact, prefix or wildcard`}},
		{"star with match", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: "x.*", Match: "prefix"}}}}, Options{},
			[]string{"permissions[0].uri", "contains '*' but match"}},
		{"bad star", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: "x.y*"}}}}, Options{}, []string{"whole component"}},
		{"empty exact component", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: "x..y", Match: "exact"}}}}, Options{},
			[]string{"empty component in an exact URI"}},
		{"bad uri", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: "x.#.y", Match: "exact"}}}}, Options{}, []string{"invalid URI"}},
		{"empty uri", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: ""}}}}, Options{}, []string{"permissions[0].uri: empty"}},
		{"duplicate prefix", []RoleConfig{{Name: "a", Permissions: []Permission{
			{URI: "com.x", Match: "prefix"}, {URI: "com.x.", Match: "prefix"}}}}, Options{},
			[]string{`permissions[1].uri: prefix "com.x." duplicates permissions[0]`}},
		{"all at once", []RoleConfig{{Name: "a", Permissions: []Permission{{URI: "x", Match: "bad"}, {URI: "y.z*"}}}, {Name: ""}}, Options{},
			[]string{"permissions[0].match", "permissions[1].uri", "roles[1].name: empty"}},
		{"default ttl", nil, Options{DefaultTTL: -1}, []string{"default ttl negative"}},
		{"authorizer args", []RoleConfig{{Name: "a", Authorizer: "com.auth", AuthorizerArgs: 5}}, Options{Caller: noop},
			[]string{`roles[0] ("a").authorizer-args: 5, want 3 or 4`}},
		{"authorizer args without authorizer", []RoleConfig{{Name: "a", AuthorizerArgs: 3}}, Options{}, []string{"authorizer-args: set without authorizer"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, err := NewRealm("realm1", c.roles, c.o)
			if err == nil || r != nil {
				t.Fatalf("NewRealm = %v, %v; want error", r, err)
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("error %v does not wrap ErrConfig", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// typicalPermissions is a ~50-permission role of the shapes real configs use.
func typicalPermissions() []Permission {
	var ps []Permission
	for _, svc := range []string{"orders", "users", "billing", "inventory", "shipping", "search", "reports", "chat"} {
		base := "com.example." + svc
		ps = append(ps,
			Permission{URI: base + ".", Match: "prefix", Allow: Actions{Subscribe: true}},
			Permission{URI: base + ".get", Match: "exact", Allow: allowCall},
			Permission{URI: base + ".list", Match: "exact", Allow: allowCall},
			Permission{URI: base + ".admin.", Match: "prefix"},
			Permission{URI: base + "..updated", Match: "wildcard", Allow: Actions{Subscribe: true}},
			Permission{URI: base + ".rpc.*", Allow: Actions{Call: true, Register: true}},
		)
	}
	return append(ps, Permission{URI: "wamp.session.", Match: "prefix", Allow: allowCall},
		Permission{URI: "com.example.*.health", Allow: allowCall})
}

func TestStaticNoAllocs(t *testing.T) {
	r := staticRealm(t, typicalPermissions()...)
	s := userSession("user")
	ctx := context.Background()
	for _, uri := range []wamp.URI{"com.example.orders.get", "com.example.users.x.updated", "com.example.chat.rpc.send",
		"com.example.billing.admin.reset", "org.none", "com.example.search.health"} {
		if n := testing.AllocsPerRun(200, func() { r.Authorize(ctx, s, uri, ActionCall, nil) }); n != 0 {
			t.Errorf("static Authorize(%s) allocates %v times", uri, n)
		}
	}
}

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
