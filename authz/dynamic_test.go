package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

type callerFunc func(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

func (f callerFunc) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	return f(ctx, realm, procedure, args, kwargs)
}

// authorizer is an in-process dynamic authorizer: answer decides, calls
// counts, and while gate is non-nil each call blocks until gate is closed.
type authorizer struct {
	calls   atomic.Int64
	entered chan struct{} // receives one value per call, if non-nil
	mu      sync.Mutex
	gate    chan struct{}
	answer  func(session wamp.Dict, uri, action string) (wamp.List, wamp.Dict, error)
}

func (a *authorizer) hold() {
	a.mu.Lock()
	a.gate = make(chan struct{})
	a.mu.Unlock()
}

func (a *authorizer) release() {
	a.mu.Lock()
	if a.gate != nil {
		close(a.gate)
		a.gate = nil
	}
	a.mu.Unlock()
}

func (a *authorizer) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	a.calls.Add(1)
	a.mu.Lock()
	gate := a.gate
	a.mu.Unlock()
	if a.entered != nil {
		a.entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("test: call to %s: %w", procedure, ctx.Err())
		}
	}
	return a.answer(args[0].(wamp.Dict), args[1].(string), args[2].(string))
}

func answerWith(v any) func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
	return func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) { return wamp.List{v}, nil, nil }
}

func dynRealm(t testing.TB, a *authorizer, o Options, roles ...RoleConfig) *Realm {
	t.Helper()
	o.Caller = a
	if len(roles) == 0 {
		roles = []RoleConfig{{Name: "user", Authorizer: "com.auth"}}
	}
	r, err := NewRealm("realm1", roles, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sess(id wamp.ID, authid, role string) *Session {
	return &Session{ID: id, Realm: "realm1", AuthID: authid, AuthRole: role}
}

func TestDynamicCallArguments(t *testing.T) {
	t.Parallel()
	var got struct {
		realm, proc wamp.URI
		args        wamp.List
	}
	c := callerFunc(func(_ context.Context, realm, proc wamp.URI, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		got.realm, got.proc, got.args = realm, proc, args
		return wamp.List{true}, nil, nil
	})
	r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Authorizer: "com.auth", AuthorizerRealm: "authrealm"}}, Options{Caller: c})
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{ID: 42, Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthMethod: "ticket", AuthProvider: "static",
		AuthExtra: wamp.Dict{"x": "y"}, Transport: wamp.Dict{"type": "websocket"}}
	d := r.Authorize(context.Background(), s, "com.app.f", ActionCall, wamp.Dict{"timeout": int64(5)})
	if !d.Allow {
		t.Fatalf("denied: %+v", d)
	}
	if got.realm != "authrealm" || got.proc != "com.auth" || len(got.args) != 4 {
		t.Fatalf("call = %s %s %v", got.realm, got.proc, got.args)
	}
	sd := got.args[0].(wamp.Dict)
	want := map[string]any{"session": uint64(42), "realm": "realm1", "authid": "alice", "authrole": "user",
		"authmethod": "ticket", "authprovider": "static"}
	for k, v := range want {
		if sd[k] != v {
			t.Errorf("session[%s] = %v, want %v", k, sd[k], v)
		}
	}
	if sd["authextra"].(wamp.Dict)["x"] != "y" || sd["transport"].(wamp.Dict)["type"] != "websocket" {
		t.Errorf("session dict = %v", sd)
	}
	if got.args[1] != "com.app.f" || got.args[2] != "call" || got.args[3].(wamp.Dict)["timeout"] != int64(5) {
		t.Errorf("args = %v", got.args)
	}
	// Nil extra/transport/options become empty dicts, never null.
	r.Authorize(context.Background(), sess(43, "bob", "user"), "com.app.f", ActionSubscribe, nil)
	if sd := got.args[0].(wamp.Dict); sd["authextra"] == nil || sd["transport"] == nil || got.args[3] == nil {
		t.Errorf("nil dicts passed: %v", got.args)
	}
}

func TestDynamicAnswers(t *testing.T) {
	t.Parallel()
	type res struct {
		args   wamp.List
		kwargs wamp.Dict
	}
	one := func(v any) res { return res{args: wamp.List{v}} }
	for _, c := range []struct {
		name         string
		answer       res
		action       Action
		allow, discl bool
		failed       string // message substring when Failed
	}{
		{"true", one(true), ActionCall, true, false, ""},
		{"false", one(false), ActionCall, false, false, ""},
		{"dict allow", one(wamp.Dict{"allow": true}), ActionCall, true, false, ""},
		{"dict deny", one(wamp.Dict{"allow": false}), ActionCall, false, false, ""},
		{"disclose call", one(wamp.Dict{"allow": true, "disclose": true}), ActionCall, true, true, ""},
		{"disclose publish", one(wamp.Dict{"allow": true, "disclose": true}), ActionPublish, true, true, ""},
		{"disclose register ignored", one(wamp.Dict{"allow": true, "disclose": true}), ActionRegister, true, false, ""},
		{"disclose on deny", one(wamp.Dict{"allow": false, "disclose": true}), ActionCall, false, false, ""},
		{"missing disclose on publish", one(wamp.Dict{"allow": true, "cache": false}), ActionPublish, true, false, ""},
		{"validate ignored", one(wamp.Dict{"allow": true, "validate": wamp.Dict{"call": "x"}}), ActionCall, true, false, ""},
		{"unknown key tolerated", one(wamp.Dict{"allow": true, "color": "blue"}), ActionCall, true, false, ""},
		{"null disclose", one(wamp.Dict{"allow": true, "disclose": nil}), ActionCall, true, false, ""},
		{"cache dict", one(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole", "ttl": 1.5}}), ActionCall, true, false, ""},
		{"ttl int", one(wamp.Dict{"allow": true, "cache": true, "ttl": uint64(3)}), ActionCall, true, false, ""},
		{"kwargs answer", res{kwargs: wamp.Dict{"allow": true}}, ActionCall, true, false, ""},
		{"no allow", one(wamp.Dict{"disclose": true}), ActionCall, false, false, "a dict without allow"},
		{"allow string", one(wamp.Dict{"allow": "yes"}), ActionCall, false, false, `allow of type a string "yes", want a bool`},
		{"disclose int", one(wamp.Dict{"allow": true, "disclose": int64(1)}), ActionCall, false, false, "disclose of type an integer 1"},
		{"string", one("yes"), ActionCall, false, false, `a string "yes", want a bool or a dict`},
		{"null", one(nil), ActionCall, false, false, "null"},
		{"list", one(wamp.List{true}), ActionCall, false, false, "a list"},
		{"number", one(1.0), ActionCall, false, false, "a number 1"},
		{"two results", res{args: wamp.List{true, true}}, ActionCall, false, false, "2 results"},
		{"nothing", res{}, ActionCall, false, false, "no result"},
		{"bad cache", one(wamp.Dict{"allow": true, "cache": "x"}), ActionCall, false, false, "cache of type a string"},
		{"bad scope", one(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "world"}}), ActionCall, false, false, `cache.scope a string "world"`},
		{"negative ttl", one(wamp.Dict{"allow": true, "ttl": -1.0}), ActionCall, false, false, "ttl -1, want a non-negative"},
		{"string ttl", one(wamp.Dict{"allow": true, "ttl": "5"}), ActionCall, false, false, "ttl of type a string"},
		{"bad cache ttl", one(wamp.Dict{"allow": true, "cache": wamp.Dict{"ttl": false}}), ActionCall, false, false, "cache.ttl of type a bool"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
				return c.answer.args, c.answer.kwargs, nil
			}}
			r := dynRealm(t, a, Options{})
			d := r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", c.action, nil)
			if c.failed != "" {
				want := "authorizer com.auth returned " + c.failed
				if d.Allow || !d.Failed || !strings.Contains(d.Message, want) {
					t.Fatalf("got %+v, want failure %q", d, want)
				}
				return
			}
			if d.Allow != c.allow || d.Disclose != c.discl || d.Failed {
				t.Fatalf("got %+v, want allow=%v disclose=%v", d, c.allow, c.discl)
			}
		})
	}
}

func TestDynamicWampURIsDisclose(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	r := dynRealm(t, a, Options{})
	for range 2 { // miss, then hit
		if d := r.Authorize(context.Background(), sess(1, "alice", "user"), "wamp.session.get", ActionCall, nil); !d.Allow || !d.Disclose {
			t.Fatalf("got %+v, want allowed and disclosed", d)
		}
	}
}

func TestDynamicErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		err     error
		timeout time.Duration
		realm   wamp.URI
		want    string
	}{
		{"not registered", &wamp.CallError{URI: wamp.ErrNoSuchProcedure}, 0, "", "authorizer com.auth is not registered"},
		{"not registered elsewhere", &wamp.CallError{URI: wamp.ErrNoSuchProcedure}, 0, "authrealm", "authorizer com.auth is not registered on realm authrealm"},
		{"application error", &wamp.CallError{URI: "com.app.boom", Args: wamp.List{"bad day"}}, 0, "", "authorizer com.auth failed: com.app.boom: bad day"},
		{"go error", errors.New("connection lost"), 0, "", "authorizer com.auth failed: connection lost"},
		{"timeout", nil, 50 * time.Millisecond, "", "authorizer com.auth timed out after 50ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) { return nil, nil, c.err }}
			if c.err == nil {
				a.hold() // never released: the call times out
			}
			r := dynRealm(t, a, Options{}, RoleConfig{Name: "user", Authorizer: "com.auth", AuthorizerRealm: c.realm, Timeout: c.timeout})
			d := r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
			if d.Allow || !d.Failed || d.Message != c.want {
				t.Fatalf("got %+v, want failure %q", d, c.want)
			}
			// Failures are never cached.
			r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
			if n := a.calls.Load(); n != 2 {
				t.Errorf("authorizer called %d times, want 2", n)
			}
			if st := r.CacheStats(); st.Failures != 2 || st.AuthorizerCalls != 2 || st.Entries != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestDynamicCanceled(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(true)}
	a.hold()
	r := dynRealm(t, a, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := r.Authorize(ctx, sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
	if d.Allow || !d.Failed || !strings.Contains(d.Message, "canceled") {
		t.Fatalf("got %+v", d)
	}
}

// TestCacheScopes: what each cache form answers for which later session.
func TestCacheScopes(t *testing.T) {
	t.Parallel()
	type probe struct {
		s   *Session
		hit bool
	}
	alice1, alice2, bob := sess(1, "alice", "user"), sess(2, "alice", "user"), sess(3, "bob", "user")
	other := sess(4, "alice", "other") // another role with the same authorizer
	anon1, anon2 := sess(5, "", "user"), sess(6, "", "user")
	for _, c := range []struct {
		name   string
		answer any
		first  *Session
		probes []probe
	}{
		{"no cache", true, alice1, []probe{{alice1, false}}},
		{"cache false", wamp.Dict{"allow": true, "cache": false}, alice1, []probe{{alice1, false}}},
		{"session", wamp.Dict{"allow": true, "cache": true}, alice1, []probe{{alice1, true}, {alice2, false}, {bob, false}}},
		{"session dict", wamp.Dict{"allow": true, "cache": wamp.Dict{}}, alice1, []probe{{alice1, true}, {alice2, false}}},
		{"deny cached", wamp.Dict{"allow": false, "cache": true}, alice1, []probe{{alice1, true}}},
		{"authid", wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authid"}}, alice1,
			[]probe{{alice2, true}, {alice1, true}, {bob, false}, {other, false}}},
		{"authrole", wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole"}}, alice1,
			[]probe{{bob, true}, {alice2, true}, {other, false}}},
		{"authid without authid", wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authid"}}, anon1,
			[]probe{{anon1, true}, {anon2, false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: answerWith(c.answer)}
			r := dynRealm(t, a, Options{}, RoleConfig{Name: "user", Authorizer: "com.auth"}, RoleConfig{Name: "other", Authorizer: "com.auth"})
			ctx := context.Background()
			r.Authorize(ctx, c.first, "com.app.x", ActionCall, nil)
			for i, p := range c.probes {
				before := a.calls.Load()
				r.Authorize(ctx, p.s, "com.app.x", ActionCall, wamp.Dict{"different": "options"})
				if hit := a.calls.Load() == before; hit != p.hit {
					t.Errorf("probe %d (session %d %s/%s): hit=%v, want %v", i, p.s.ID, p.s.AuthID, p.s.AuthRole, hit, p.hit)
				}
			}
			// Another action or URI is another question.
			before := a.calls.Load()
			r.Authorize(ctx, c.first, "com.app.x", ActionSubscribe, nil)
			r.Authorize(ctx, c.first, "com.app.y", ActionCall, nil)
			if n := a.calls.Load() - before; n != 2 {
				t.Errorf("other action/URI: %d calls, want 2", n)
			}
		})
	}
}

// TTLs are a second, not milliseconds: a busy machine must not expire an
// entry between two back-to-back questions.
func TestCacheTTL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		answer wamp.Dict
		role   time.Duration
		realm  time.Duration
	}{
		{"answer ttl", wamp.Dict{"allow": true, "cache": true, "ttl": 1.0}, 0, 0},
		{"cache dict ttl", wamp.Dict{"allow": true, "cache": wamp.Dict{"ttl": 1.0}}, time.Hour, time.Hour},
		{"role ttl", wamp.Dict{"allow": true, "cache": true}, time.Second, time.Hour},
		{"realm ttl", wamp.Dict{"allow": true, "cache": true}, 0, time.Second},
		{"authrole ttl", wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole", "ttl": 1.0}}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: answerWith(c.answer)}
			r := dynRealm(t, a, Options{DefaultTTL: c.realm}, RoleConfig{Name: "user", Authorizer: "com.auth", CacheTTL: c.role})
			s := sess(1, "alice", "user")
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			if n := a.calls.Load(); n != 1 {
				t.Fatalf("calls = %d before expiry, want 1", n)
			}
			time.Sleep(1300 * time.Millisecond)
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			if n := a.calls.Load(); n != 2 {
				t.Fatalf("calls = %d after expiry, want 2", n)
			}
			if st := r.CacheStats(); st.Entries != 1 || st.Hits != 1 || st.Misses != 2 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

// TestCacheNoTTL: without any ttl a session-scoped answer lasts until the
// session leaves.
func TestCacheNoTTL(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	r := dynRealm(t, a, Options{})
	ctx := context.Background()
	s, other := sess(1, "alice", "user"), sess(2, "alice", "user")
	for _, uri := range []wamp.URI{"com.a", "com.b", "com.a", "com.b"} {
		r.Authorize(ctx, s, uri, ActionCall, nil)
		r.Authorize(ctx, other, uri, ActionCall, nil)
	}
	if n := a.calls.Load(); n != 4 {
		t.Fatalf("calls = %d, want 4", n)
	}
	r.SessionLeft(1)
	if st := r.CacheStats(); st.Entries != 2 {
		t.Fatalf("after SessionLeft entries = %d, want 2 (the other session's)", st.Entries)
	}
	r.Authorize(ctx, s, "com.a", ActionCall, nil)
	r.Authorize(ctx, other, "com.a", ActionCall, nil)
	if n := a.calls.Load(); n != 5 {
		t.Fatalf("calls = %d, want 5", n)
	}
}

func TestCacheDisabled(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	r := dynRealm(t, a, Options{CacheSize: -1})
	for range 3 {
		r.Authorize(context.Background(), sess(1, "alice", "user"), "com.a", ActionCall, nil)
	}
	if n := a.calls.Load(); n != 3 || r.CacheStats().Entries != 0 {
		t.Fatalf("calls = %d, stats %+v", n, r.CacheStats())
	}
}

func TestCacheFlush(t *testing.T) {
	t.Parallel()
	// Fill: sessions 1,2 (alice), 3 (bob) of role user, 4 (carol) of role
	// other, each asking com.a.x and com.b.x; plus one authid-scoped and
	// one authrole-scoped answer.
	answer := func(_ wamp.Dict, uri, _ string) (wamp.List, wamp.Dict, error) {
		switch {
		case strings.HasPrefix(uri, "com.id."):
			return wamp.List{wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authid"}}}, nil, nil
		case strings.HasPrefix(uri, "com.role."):
			return wamp.List{wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole"}}}, nil, nil
		}
		return wamp.List{wamp.Dict{"allow": true, "cache": true}}, nil, nil
	}
	sessions := []*Session{sess(1, "alice", "user"), sess(2, "alice", "user"), sess(3, "bob", "user"), sess(4, "carol", "other")}
	fill := func(t *testing.T) (*Realm, *authorizer) {
		a := &authorizer{answer: answer}
		r := dynRealm(t, a, Options{}, RoleConfig{Name: "user", Authorizer: "com.auth"}, RoleConfig{Name: "other", Authorizer: "com.auth"})
		for _, s := range sessions {
			for _, u := range []wamp.URI{"com.a.x", "com.b.x"} {
				r.Authorize(context.Background(), s, u, ActionCall, nil)
			}
		}
		r.Authorize(context.Background(), sessions[0], "com.id.x", ActionCall, nil)   // authid alice, role user
		r.Authorize(context.Background(), sessions[0], "com.role.x", ActionCall, nil) // role user
		if st := r.CacheStats(); st.Entries != 10 {
			t.Fatalf("filled %d entries, want 10", st.Entries)
		}
		return r, a
	}
	for _, c := range []struct {
		name string
		f    FlushFilter
		want int
	}{
		{"all", FlushFilter{All: true}, 10},
		{"zero filter", FlushFilter{}, 10},
		{"session", FlushFilter{Session: 1}, 2},
		{"authid", FlushFilter{AuthID: "alice"}, 5}, // 4 session-scoped + 1 authid-scoped
		{"authrole", FlushFilter{AuthRole: "user"}, 8},
		{"uri prefix", FlushFilter{URIPrefix: "com.a"}, 4},
		{"uri prefix dot", FlushFilter{URIPrefix: "com.a."}, 4},
		{"uri prefix is components", FlushFilter{URIPrefix: "com.a.x.y"}, 0},
		{"uri prefix chars", FlushFilter{URIPrefix: "com.ro"}, 0},
		{"combined", FlushFilter{AuthID: "alice", URIPrefix: "com.b"}, 2},
		{"session and uri", FlushFilter{Session: 2, URIPrefix: "com.b"}, 1},
		{"no such", FlushFilter{AuthRole: "ghost"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, a := fill(t)
			if n := r.Flush(c.f); n != c.want {
				t.Fatalf("Flush(%+v) = %d, want %d", c.f, n, c.want)
			}
			if st := r.CacheStats(); st.Entries != 10-c.want {
				t.Fatalf("entries = %d, want %d", st.Entries, 10-c.want)
			}
			// Ask everything again: exactly the flushed answers are asked anew.
			before := a.calls.Load()
			for _, s := range sessions {
				for _, u := range []wamp.URI{"com.a.x", "com.b.x"} {
					r.Authorize(context.Background(), s, u, ActionCall, nil)
				}
			}
			r.Authorize(context.Background(), sessions[0], "com.id.x", ActionCall, nil)
			r.Authorize(context.Background(), sessions[0], "com.role.x", ActionCall, nil)
			if n := a.calls.Load() - before; n != int64(c.want) {
				t.Errorf("re-asked %d, want %d", n, c.want)
			}
		})
	}
}

func TestCacheEviction(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	r := dynRealm(t, a, Options{CacheSize: 4})
	ctx := context.Background()
	s := sess(1, "alice", "user")
	for i := range 10 {
		r.Authorize(ctx, s, wamp.URI(fmt.Sprintf("com.u%d", i)), ActionCall, nil)
	}
	st := r.CacheStats()
	if st.Entries != 4 || st.Evictions != 6 {
		t.Fatalf("stats = %+v, want 4 entries, 6 evictions", st)
	}
	// A hot entry survives a stream of cold ones (CLOCK second chance).
	for i := range 20 {
		r.Authorize(ctx, s, "com.hot", ActionCall, nil)
		r.Authorize(ctx, s, wamp.URI(fmt.Sprintf("com.cold%d", i)), ActionCall, nil)
	}
	if n := a.calls.Load(); n != 10+1+20 {
		t.Errorf("calls = %d, want 31 (com.hot asked once)", n)
	}
	// SessionLeft still finds every remaining entry of the session.
	r.SessionLeft(1)
	if st := r.CacheStats(); st.Entries != 0 {
		t.Errorf("entries after SessionLeft = %d", st.Entries)
	}
}

// waitFor polls cond (no timing assertion: it only bounds a hang).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSingleFlight(t *testing.T) {
	t.Parallel()
	const n = 8
	for _, c := range []struct {
		name     string
		answer   any
		sessions func(i int) *Session
		warm     bool // first cache an authrole answer that has expired
		calls    int64
	}{
		{"same session, uncached answer", true, func(int) *Session { return sess(1, "alice", "user") }, false, 1},
		{"same session, cached answer", wamp.Dict{"allow": true, "cache": true}, func(int) *Session { return sess(1, "alice", "user") }, false, 1},
		{"different sessions are not merged", true, func(i int) *Session { return sess(wamp.ID(i+1), "alice", "user") }, false, n},
		{"expired authrole answer merges sessions", wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole", "ttl": 0.02}},
			func(i int) *Session { return sess(wamp.ID(i+1), fmt.Sprint("u", i), "user") }, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: answerWith(c.answer)}
			r := dynRealm(t, a, Options{})
			ctx := context.Background()
			before := int64(0)
			if c.warm {
				r.Authorize(ctx, sess(100, "x", "user"), "com.app.x", ActionCall, nil)
				time.Sleep(40 * time.Millisecond)
				before = 1
			}
			a.hold()
			var wg sync.WaitGroup
			results := make([]Decision, n)
			for i := range n {
				wg.Go(func() { results[i] = r.Authorize(ctx, c.sessions(i), "com.app.x", ActionCall, nil) })
			}
			if c.calls == 1 {
				waitFor(t, "waiters", func() bool { return r.cache.waiting.Load() == n-1 })
			} else {
				waitFor(t, "callers", func() bool { return a.calls.Load() == before+c.calls })
			}
			a.release()
			wg.Wait()
			if got := a.calls.Load() - before; got != c.calls {
				t.Errorf("authorizer calls = %d, want %d", got, c.calls)
			}
			for i, d := range results {
				if !d.Allow {
					t.Errorf("result %d = %+v", i, d)
				}
			}
			if c.calls == 1 {
				if st := r.CacheStats(); st.Shared != n-1 {
					t.Errorf("shared = %d, want %d", st.Shared, n-1)
				}
			}
		})
	}
}

// TestSingleFlightNarrowAnswer: sessions merged behind an expired authrole
// answer each ask again when the new answer is only for the asker.
func TestSingleFlightNarrowAnswer(t *testing.T) {
	t.Parallel()
	var first atomic.Bool
	a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
		if first.CompareAndSwap(false, true) {
			return wamp.List{wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole", "ttl": 0.02}}}, nil, nil
		}
		return wamp.List{wamp.Dict{"allow": true, "cache": true}}, nil, nil
	}}
	r := dynRealm(t, a, Options{})
	ctx := context.Background()
	r.Authorize(ctx, sess(100, "x", "user"), "com.app.x", ActionCall, nil)
	time.Sleep(40 * time.Millisecond)
	a.hold()
	const n = 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { r.Authorize(ctx, sess(wamp.ID(i+1), "u", "user"), "com.app.x", ActionCall, nil) })
	}
	waitFor(t, "waiters", func() bool { return r.cache.waiting.Load() == n-1 })
	a.release()
	wg.Wait()
	if got := a.calls.Load(); got != 1+n {
		t.Errorf("calls = %d, want %d (the leader, then each waiter on its own)", got, 1+n)
	}
}

// TestInFlightOvertaken: a flush or leave during the call wins: its answer
// is returned but not cached. A flush that cannot select it does not.
func TestInFlightOvertaken(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		act    func(r *Realm)
		cached bool
	}{
		{"flush all", func(r *Realm) { r.Flush(FlushFilter{All: true}) }, false},
		{"flush session", func(r *Realm) { r.Flush(FlushFilter{Session: 1}) }, false},
		{"flush authid", func(r *Realm) { r.Flush(FlushFilter{AuthID: "alice"}) }, false},
		{"flush authrole", func(r *Realm) { r.Flush(FlushFilter{AuthRole: "user"}) }, false},
		{"flush uri", func(r *Realm) { r.Flush(FlushFilter{URIPrefix: "com.app"}) }, false},
		{"session left", func(r *Realm) { r.SessionLeft(1) }, false},
		{"flush other session", func(r *Realm) { r.Flush(FlushFilter{Session: 2}) }, true},
		{"flush other uri", func(r *Realm) { r.Flush(FlushFilter{URIPrefix: "com.other"}) }, true},
		{"other session left", func(r *Realm) { r.SessionLeft(2) }, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole"}}), entered: make(chan struct{}, 4)}
			r := dynRealm(t, a, Options{})
			ctx := context.Background()
			a.hold()
			done := make(chan Decision)
			go func() { done <- r.Authorize(ctx, sess(1, "alice", "user"), "com.app.x", ActionCall, nil) }()
			<-a.entered
			c.act(r)
			a.release()
			if d := <-done; !d.Allow {
				t.Fatalf("in-flight answer = %+v", d)
			}
			r.Authorize(ctx, sess(3, "bob", "user"), "com.app.x", ActionCall, nil)
			cached := a.calls.Load() == 1
			if cached != c.cached {
				t.Errorf("cached = %v, want %v (calls %d)", cached, c.cached, a.calls.Load())
			}
			if st := r.CacheStats(); (st.Discarded == 1) == c.cached {
				t.Errorf("discarded = %d", st.Discarded)
			}
		})
	}
}

// TestLeaderCanceled: a waiter does not inherit the leader's cancellation.
func TestLeaderCanceled(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(true), entered: make(chan struct{}, 4)}
	r := dynRealm(t, a, Options{})
	a.hold()
	lctx, cancel := context.WithCancel(context.Background())
	leader := make(chan Decision)
	go func() { leader <- r.Authorize(lctx, sess(1, "alice", "user"), "com.app.x", ActionCall, nil) }()
	<-a.entered
	waiter := make(chan Decision)
	go func() {
		waiter <- r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
	}()
	waitFor(t, "waiter", func() bool { return r.cache.waiting.Load() == 1 })
	cancel()
	if d := <-leader; !d.Failed || !strings.Contains(d.Message, "canceled") {
		t.Fatalf("leader = %+v", d)
	}
	<-a.entered // the waiter asks on its own
	a.release()
	if d := <-waiter; !d.Allow {
		t.Fatalf("waiter = %+v", d)
	}
}

func TestCacheHitNoAllocs(t *testing.T) {
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true, "ttl": 3600})}
	r := dynRealm(t, a, Options{})
	ctx := context.Background()
	for _, s := range []*Session{sess(1, "alice", "user"), sess(2, "bob", "user")} {
		r.Authorize(ctx, s, "com.example.orders.get", ActionCall, nil)
		if n := testing.AllocsPerRun(200, func() { r.Authorize(ctx, s, "com.example.orders.get", ActionCall, nil) }); n != 0 {
			t.Errorf("cache hit allocates %v times", n)
		}
	}
	// With wider-scope entries present too.
	b := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole"}})}
	r = dynRealm(t, b, Options{})
	r.Authorize(ctx, sess(1, "alice", "user"), "com.x", ActionCall, nil)
	bob := sess(2, "bob", "user")
	if n := testing.AllocsPerRun(200, func() { r.Authorize(ctx, bob, "com.x", ActionCall, nil) }); n != 0 {
		t.Errorf("authrole cache hit allocates %v times", n)
	}
	if a.calls.Load() != 2 || b.calls.Load() != 1 {
		t.Errorf("calls = %d, %d", a.calls.Load(), b.calls.Load())
	}
}
