package authz

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

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

// fakeClock is the cache clock of a test: time moves only when told.
type fakeClock struct{ t atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.t.Store(int64(time.Hour)) // any start; not 0
	return c
}

func (c *fakeClock) now() int64              { return c.t.Load() }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// TestCacheTTL: an answer is served from the cache until exactly its ttl
// has passed on the cache clock, then asked again.
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
			clock := newFakeClock()
			r := dynRealm(t, a, Options{DefaultTTL: c.realm, now: clock.now}, RoleConfig{Name: "user", Authorizer: "com.auth", CacheTTL: c.role})
			s := sess(1, "alice", "user")
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			clock.advance(time.Second - time.Nanosecond)
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			if n := a.calls.Load(); n != 1 {
				t.Fatalf("calls = %d just before expiry, want 1", n)
			}
			clock.advance(time.Nanosecond)
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			if n := a.calls.Load(); n != 2 {
				t.Fatalf("calls = %d at expiry, want 2", n)
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

// waiters returns a channel that receives once for every question of r
// that starts waiting on another question's authorizer call.
func waiters(r *Realm) <-chan struct{} {
	ch := make(chan struct{}, 64)
	r.cache.onWait = func() { ch <- struct{}{} }
	return ch
}

// receive takes n values from ch (no timing assertion: the deadline only
// bounds a hang).
func receive(t *testing.T, ch <-chan struct{}, n int, what string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%s: %d of %d arrived", what, i, n)
		}
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
			a := &authorizer{answer: answerWith(c.answer), entered: make(chan struct{}, 2*n)}
			clock := newFakeClock()
			r := dynRealm(t, a, Options{now: clock.now})
			waiting := waiters(r)
			ctx := context.Background()
			before := int64(0)
			if c.warm {
				r.Authorize(ctx, sess(100, "x", "user"), "com.app.x", ActionCall, nil)
				receive(t, a.entered, 1, "warm-up call")
				clock.advance(time.Second)
				before = 1
			}
			a.hold()
			var wg sync.WaitGroup
			results := make([]Decision, n)
			for i := range n {
				wg.Go(func() { results[i] = r.Authorize(ctx, c.sessions(i), "com.app.x", ActionCall, nil) })
			}
			receive(t, a.entered, int(c.calls), "authorizer calls")
			if c.calls == 1 {
				receive(t, waiting, n-1, "waiters")
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
	clock := newFakeClock()
	r := dynRealm(t, a, Options{now: clock.now})
	waiting := waiters(r)
	ctx := context.Background()
	r.Authorize(ctx, sess(100, "x", "user"), "com.app.x", ActionCall, nil)
	clock.advance(time.Second)
	a.hold()
	const n = 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { r.Authorize(ctx, sess(wamp.ID(i+1), "u", "user"), "com.app.x", ActionCall, nil) })
	}
	receive(t, waiting, n-1, "waiters")
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
	waiting := waiters(r)
	a.hold()
	lctx, cancel := context.WithCancel(context.Background())
	leader := make(chan Decision)
	go func() { leader <- r.Authorize(lctx, sess(1, "alice", "user"), "com.app.x", ActionCall, nil) }()
	<-a.entered
	waiter := make(chan Decision)
	go func() {
		waiter <- r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
	}()
	receive(t, waiting, 1, "waiter")
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

// TestCachedAnswerNeverOutlivesItsTTL: a ttl <= 0 means "do not cache", a
// tiny positive ttl expires after one clock tick instead of never, and the
// role's cache-ttl (else the realm default) caps every answer's own ttl,
// in every scope.
func TestCachedAnswerNeverOutlivesItsTTL(t *testing.T) {
	t.Parallel()
	cacheIn := func(scope string, kv ...any) wamp.Dict {
		d := wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": scope}}
		for i := 0; i < len(kv); i += 2 {
			d[kv[i].(string)] = kv[i+1]
		}
		return d
	}
	for _, scope := range []string{"session", "authid", "authrole"} {
		for _, c := range []struct {
			name        string
			answer      wamp.Dict
			role, realm time.Duration
			lives       time.Duration // 0: not cached at all
		}{
			{"ttl 0", cacheIn(scope, "ttl", 0.0), 0, 0, 0},
			{"integer ttl 0", cacheIn(scope, "ttl", int64(0)), time.Hour, 0, 0},
			{"cache.ttl 0", wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": scope, "ttl": 0}}, 0, time.Hour, 0},
			{"cache.ttl 0 wins over ttl", wamp.Dict{"allow": true, "ttl": 5, "cache": wamp.Dict{"scope": scope, "ttl": 0}}, 0, 0, 0},
			{"negative ttl", cacheIn(scope, "ttl", -1.0), 0, 0, 0},
			{"tiny ttl", cacheIn(scope, "ttl", 1e-10), 0, 0, clockResolution},
			{"role cache-ttl caps", cacheIn(scope, "ttl", 3600), 10 * time.Second, time.Hour, 10 * time.Second},
			{"realm default caps", cacheIn(scope, "ttl", 3600.0), 0, 10 * time.Second, 10 * time.Second},
			{"shorter ttl kept", cacheIn(scope, "ttl", 2), 10 * time.Second, 0, 2 * time.Second},
			{"no ttl takes the cap", cacheIn(scope), 10 * time.Second, 0, 10 * time.Second},
		} {
			t.Run(scope+" "+c.name, func(t *testing.T) {
				t.Parallel()
				a := &authorizer{answer: answerWith(c.answer)}
				clock := newFakeClock()
				r := dynRealm(t, a, Options{DefaultTTL: c.realm, now: clock.now},
					RoleConfig{Name: "user", Authorizer: "com.auth", CacheTTL: c.role})
				ctx := context.Background()
				// The second session shares the answer in the wider scopes.
				first, second := sess(1, "alice", "user"), sess(1, "alice", "user")
				if scope == "authid" {
					second = sess(2, "alice", "user")
				} else if scope == "authrole" {
					second = sess(3, "bob", "user")
				}
				if d := r.Authorize(ctx, first, "com.app.x", ActionCall, nil); !d.Allow || d.Failed {
					t.Fatalf("first answer = %+v, want allowed", d)
				}
				if c.lives == 0 {
					r.Authorize(ctx, second, "com.app.x", ActionCall, nil)
					if n := a.calls.Load(); n != 2 {
						t.Fatalf("calls = %d, want 2: the answer must not be cached", n)
					}
					if st := r.CacheStats(); st.Entries != 0 {
						t.Errorf("entries = %d, want 0", st.Entries)
					}
					return
				}
				clock.advance(c.lives - time.Nanosecond)
				r.Authorize(ctx, second, "com.app.x", ActionCall, nil)
				if n := a.calls.Load(); n != 1 {
					t.Fatalf("calls = %d just before %v, want 1 (cached)", n, c.lives)
				}
				clock.advance(time.Nanosecond)
				r.Authorize(ctx, second, "com.app.x", ActionCall, nil)
				if n := a.calls.Load(); n != 2 {
					t.Fatalf("calls = %d after %v, want 2 (expired)", n, c.lives)
				}
			})
		}
	}
}

// A hit never extends an entry's life: an answer cached for 10 s and hit
// every 3 s is asked again at 10 s, for every scope.
func TestHitDoesNotExtendLife(t *testing.T) {
	for _, scope := range []string{"session", "authid", "authrole"} {
		var clock int64
		a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": scope, "ttl": 10}})}
		r := dynRealm(t, a, Options{now: func() int64 { return clock }})
		s := userSession("user")
		ctx := context.Background()
		for range 4 { // at 0, 3, 6 and 9 s: one call, then hits
			r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
			clock += int64(3 * time.Second)
		}
		if n := a.calls.Load(); n != 1 {
			t.Fatalf("%s: %d calls within the ttl, want 1", scope, n)
		}
		clock = int64(10*time.Second) + 1 // just past the first answer's ttl
		r.Authorize(ctx, s, "com.app.x", ActionCall, nil)
		if n := a.calls.Load(); n != 2 {
			t.Errorf("%s: %d calls after the ttl, want 2 (the hits extended the entry)", scope, n)
		}
	}
}
