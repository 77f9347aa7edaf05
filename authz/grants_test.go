package authz

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// grantList writes permissions as an authenticator would send them, every
// action named.
func grantList(ps []Permission) wamp.List {
	l := make(wamp.List, 0, len(ps))
	for _, p := range ps {
		d := wamp.Dict{"uri": p.URI, "allow": wamp.Dict{
			"call": p.Allow.Call, "register": p.Allow.Register, "publish": p.Allow.Publish, "subscribe": p.Allow.Subscribe,
		}}
		if p.Match != "" {
			d["match"] = p.Match
		}
		l = append(l, d)
	}
	return l
}

func grantedSession(t testing.TB, v any) *Session {
	t.Helper()
	r, err := CompileGrants(v)
	if err != nil {
		t.Fatal(err)
	}
	s := userSession("user")
	s.Grants = &Grants{}
	s.Grants.Set(r)
	return s
}

func TestGrantsDecideNamedActions(t *testing.T) {
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true})}
	r := dynRealm(t, a, Options{})
	s := grantedSession(t, wamp.List{
		wamp.Dict{"uri": "app.", "match": "prefix", "allow": wamp.Dict{"call": true, "subscribe": false}, "disclose": wamp.Dict{"caller": true}},
		wamp.Dict{"uri": "app.*.admin", "allow": wamp.Dict{"call": false}},
	})
	ctx := context.Background()
	for _, c := range []struct {
		uri             wamp.URI
		action          Action
		allow, disclose bool
		askedAuthorizer bool
	}{
		{"app.echo", ActionCall, true, true, false},
		{"app.feed", ActionSubscribe, false, false, false},
		{"app.x.admin", ActionCall, false, false, false}, // wildcard beats the prefix
		{"app.feed", ActionPublish, true, false, true},   // not named: the role decides
		{"other.thing", ActionCall, true, false, true},   // no rule: the role decides
	} {
		before := a.calls.Load()
		d := r.Authorize(ctx, s, c.uri, c.action, nil)
		if d.Allow != c.allow || d.Disclose != c.disclose || (a.calls.Load() > before) != c.askedAuthorizer {
			t.Errorf("%s %s: %+v, authorizer asked %v", c.action, c.uri, d, a.calls.Load() > before)
		}
		if allowed, known := r.Peek(s, c.uri, c.action); !c.askedAuthorizer && (!known || allowed != c.allow) {
			t.Errorf("Peek %s %s = %v %v", c.action, c.uri, allowed, known)
		}
	}
	// A prefix registration needs a prefix grant, as for static roles.
	s = grantedSession(t, wamp.List{wamp.Dict{"uri": "app.x", "allow": wamp.Dict{"register": true}}})
	if d := r.Authorize(ctx, s, "app.x", ActionRegister, wamp.Dict{"match": "prefix"}); d.Allow {
		t.Error("exact grant admitted a prefix registration")
	}
}

func TestCompileGrantsErrors(t *testing.T) {
	for _, c := range []struct {
		v    any
		want []string
	}{
		{"all", []string{"want a list"}},
		{wamp.List{"x"}, []string{"permissions[0]", "want a dict"}},
		{wamp.List{wamp.Dict{"allow": wamp.Dict{}}}, []string{"permissions[0]", "no uri"}},
		{wamp.List{wamp.Dict{"uri": "a", "allow": wamp.Dict{"call": 1}}}, []string{"allow.call", "want true or false"}},
		{wamp.List{wamp.Dict{"uri": "a", "allow": wamp.Dict{"delete": true}}}, []string{`unknown key "delete"`}},
		{wamp.List{wamp.Dict{"uri": "a", "ttl": 3}}, []string{`unknown key "ttl"`}},
		{wamp.List{wamp.Dict{"uri": "a", "match": "regex"}}, []string{"not exact, prefix or wildcard"}},
		{wamp.List{wamp.Dict{"uri": "a"}, wamp.Dict{"uri": "a"}}, []string{"duplicates permissions[0]"}},
		{wamp.List{wamp.Dict{"uri": 5}, wamp.Dict{"uri": "b", "disclose": "x"}}, []string{"permissions[0]", "permissions[1]"}},
	} {
		_, err := CompileGrants(c.v)
		if err == nil {
			t.Errorf("%v: no error", c.v)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %v, want %q", c.v, err, w)
			}
		}
	}
	if r, err := CompileGrants(wamp.List{}); r != nil || err != nil {
		t.Errorf("empty list: %v %v", r, err)
	}
}

// BenchmarkGrant: a session whose grants (the ~50 permissions of
// BenchmarkStatic) decide every question before its dynamic role.
func BenchmarkGrant(b *testing.B) {
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true})}
	r := dynRealm(b, a, Options{})
	s := grantedSession(b, grantList(typicalPermissions()))
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Authorize(ctx, s, benchURIs[i%(len(benchURIs)-1)], ActionSubscribe, nil)
		i++
	}
	if a.calls.Load() != 0 {
		b.Fatalf("authorizer asked %d times", a.calls.Load())
	}
}

// Cached answers' lifetimes are spread by ± TTLJitter; a hit does not
// extend them.
func TestTTLJitter(t *testing.T) {
	var clock int64
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true, "ttl": 100})}
	r := dynRealm(t, a, Options{TTLJitter: 0.1, now: func() int64 { return clock }})
	s := userSession("user")
	ctx := context.Background()
	lo, hi := time.Duration(1<<62), time.Duration(0)
	for i := range 200 {
		uri := wamp.URI(fmt.Sprintf("com.app.t%d", i))
		r.Authorize(ctx, s, uri, ActionSubscribe, nil)
		clock += int64(time.Second) // a hit later must not extend the entry
		r.Authorize(ctx, s, uri, ActionSubscribe, nil)
		e := r.Explain(ctx, s, uri, ActionSubscribe, nil, false)
		if e.Source != SourceCache {
			t.Fatalf("%s: %+v", uri, e)
		}
		life := e.ExpiresIn + time.Second
		lo, hi = min(lo, life), max(hi, life)
	}
	if lo < 90*time.Second || hi > 110*time.Second || hi-lo < 10*time.Second {
		t.Errorf("lifetimes in [%v, %v], want spread within 100s ± 10%%", lo, hi)
	}
	if _, err := NewRealm("r", nil, Options{TTLJitter: 2}); err == nil {
		t.Error("jitter 2 accepted")
	}
}
