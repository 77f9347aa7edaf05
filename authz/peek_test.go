package authz

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestPeekStatic(t *testing.T) {
	t.Parallel()
	r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Permissions: []Permission{
		{URI: "com.app.", Match: "prefix", Allow: Actions{Subscribe: true}},
		{URI: "com.app.secret", Match: "exact", Allow: Actions{Call: true}},
	}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		s            *Session
		uri          wamp.URI
		action       Action
		allow, known bool
	}{
		{userSession("user"), "com.app.news", ActionSubscribe, true, true},
		{userSession("user"), "com.app.secret", ActionSubscribe, false, true}, // the exact rule wins
		{userSession("user"), "org.other", ActionSubscribe, false, true},
		{userSession("user"), "com.app.news", ActionPublish, false, true},
		{userSession("trusted"), "org.other", ActionSubscribe, true, true},
		{userSession("nobody"), "com.app.news", ActionSubscribe, false, true},
		{nil, "com.app.news", ActionSubscribe, false, true},
		{userSession("user"), "com.app.news", Action("frobnicate"), false, true},
	}
	for _, c := range cases {
		role := "<nil>"
		if c.s != nil {
			role = c.s.AuthRole
		}
		t.Run(role+" "+string(c.action)+" "+string(c.uri), func(t *testing.T) {
			t.Parallel()
			if a, k := r.Peek(c.s, c.uri, c.action); a != c.allow || k != c.known {
				t.Errorf("Peek = (%v, %v), want (%v, %v)", a, k, c.allow, c.known)
			}
		})
	}
}

func TestPeekDynamicUsesCacheOnly(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: func(_ wamp.Dict, uri, _ string) (wamp.List, wamp.Dict, error) {
		return wamp.List{wamp.Dict{"allow": uri != "com.app.secret", "cache": wamp.Dict{"scope": "authrole"}}}, nil, nil
	}}
	r := dynRealm(t, a, Options{})
	alice, bob := sess(1, "alice", "user"), sess(2, "bob", "user")
	if allowed, known := r.Peek(alice, "com.app.news", ActionSubscribe); allowed || known {
		t.Fatalf("Peek before any answer = (%v, %v), want (false, false)", allowed, known)
	}
	if a.calls.Load() != 0 {
		t.Fatalf("Peek called the authorizer")
	}
	ctx := context.Background()
	r.Authorize(ctx, alice, "com.app.news", ActionSubscribe, nil)
	r.Authorize(ctx, alice, "com.app.secret", ActionSubscribe, nil)
	before := r.CacheStats()
	for _, c := range []struct {
		uri   wamp.URI
		allow bool
	}{{"com.app.news", true}, {"com.app.secret", false}} {
		// authrole scope: bob sees alice's cached answers.
		if allowed, known := r.Peek(bob, c.uri, ActionSubscribe); allowed != c.allow || !known {
			t.Errorf("Peek(%s) = (%v, %v), want (%v, true)", c.uri, allowed, known, c.allow)
		}
	}
	if allowed, known := r.Peek(bob, "com.app.news", ActionCall); allowed || known {
		t.Errorf("Peek for another action = (%v, %v), want (false, false)", allowed, known)
	}
	if after := r.CacheStats(); after.Hits != before.Hits || after.Misses != before.Misses || a.calls.Load() != 2 {
		t.Errorf("Peek changed the counters (%+v → %+v) or called the authorizer (%d calls)", before, after, a.calls.Load())
	}
}

func TestPeekNoAllocs(t *testing.T) {
	st := staticRealm(t, Permission{URI: "com.app.", Match: "prefix", Allow: Actions{Subscribe: true}})
	s := userSession("user")
	if n := testing.AllocsPerRun(100, func() { st.Peek(s, "com.app.news.today", ActionSubscribe) }); n != 0 {
		t.Errorf("static Peek allocates %v times", n)
	}
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	dyn := dynRealm(t, a, Options{})
	dyn.Authorize(context.Background(), s, "com.app.news", ActionSubscribe, nil)
	for _, uri := range []wamp.URI{"com.app.news", "com.app.unknown"} {
		if n := testing.AllocsPerRun(100, func() { dyn.Peek(s, uri, ActionSubscribe) }); n != 0 {
			t.Errorf("dynamic Peek of %s allocates %v times", uri, n)
		}
	}
}

// BenchmarkPeek: the per-event check of pattern subscriptions, for a static
// role of ~50 permissions and for a dynamic role's cache hit.
func BenchmarkPeek(b *testing.B) {
	st := staticRealm(b, typicalPermissions()...)
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	dyn := dynRealm(b, a, Options{})
	s := userSession("user")
	for _, u := range benchURIs {
		dyn.Authorize(context.Background(), s, u, ActionSubscribe, nil)
	}
	for name, r := range map[string]*Realm{"static": st, "cached": dyn} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Peek(s, benchURIs[i%len(benchURIs)], ActionSubscribe)
				i++
			}
		})
	}
}
