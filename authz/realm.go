package authz

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// role is one compiled role. Immutable after NewRealm.
type role struct {
	name       string
	dynamic    bool
	m          *matcher // static roles
	authorizer wamp.URI
	authRealm  wamp.URI
	timeout    time.Duration
	ttl        time.Duration
	arity      *arity       // dynamic roles: how many arguments the authorizer takes
	guard      *guard.Guard // dynamic roles: in-flight bound and circuit breaker
}

// Realm authorizes the sessions of one realm. Its roles are fixed at
// NewRealm. A Realm is safe for concurrent use: static checks take no lock,
// cache hits take the cache's read lock briefly, and no lock is held while
// an authorizer is called.
type Realm struct {
	name       wamp.URI
	roles      map[string]*role
	caller     Caller
	cache      *cache
	defaultTTL time.Duration
	jitter     float64 // TTLJitter, resolved
	guards     *guard.Table
	log        *slog.Logger
}

// NewRealm compiles the roles of realm name. It validates them all and
// returns every problem at once (errors.Join; each wraps ErrConfig and
// names the role index and field): empty or duplicate role names, a role
// named "trusted", both permissions and authorizer, bad URIs or match
// values, duplicate permissions, negative durations, an authorizer without
// Options.Caller.
func NewRealm(name wamp.URI, roles []RoleConfig, o Options) (*Realm, error) {
	if o.CacheSize < 0 {
		o.CacheSize = 0
	} else if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.DefaultTTL < 0 {
		return nil, fmt.Errorf("%w: realm %q: default ttl negative (%v)", ErrConfig, name, o.DefaultTTL)
	}
	guards := &guard.Table{}
	rs, err := compileRoles(name, roles, &o, guards)
	if err != nil {
		return nil, err
	}
	jitter := o.TTLJitter
	switch {
	case jitter == 0:
		jitter = DefaultTTLJitter
	case jitter < 0:
		jitter = 0
	case jitter > 1:
		return nil, fmt.Errorf("%w: realm %q: ttl jitter %v above 1", ErrConfig, name, jitter)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Realm{
		name:       name,
		roles:      rs,
		caller:     o.Caller,
		cache:      newCache(o.CacheSize, o.now),
		defaultTTL: o.DefaultTTL,
		jitter:     jitter,
		guards:     guards,
		log:        log.With("component", "authz", "realm", string(name)),
	}, nil
}

// HasRole reports whether the realm defines role name; "trusted" always
// exists.
func (r *Realm) HasRole(name string) bool {
	if name == RoleTrusted {
		return true
	}
	_, ok := r.roles[name]
	return ok
}

// Authorize decides whether session s may perform action on uri; options
// are the request's options (passed to a dynamic authorizer; only their
// match policy is part of a cache key). It blocks while a dynamic
// authorizer is asked (bounded by the role's Timeout and by ctx) and never
// reorders: the router calls it synchronously from the session's read loop.
//
// Static roles and cache hits cost O(len(uri)) and do not allocate. A
// session whose role is not defined is denied. Every failure of the
// authorizer is a deny with Failed set and Message saying why.
func (r *Realm) Authorize(ctx context.Context, s *Session, uri wamp.URI, action Action, options wamp.Dict) Decision {
	ai, ro, d, done := r.prelude(s, action)
	if done {
		d.Source = SourceDefault
		return d
	}
	if g := s.Grants.Rules(); g != nil {
		if d, ok := g.decide(uri, ai, options); ok {
			d.Source = SourceGrant
			return d
		}
	}
	if !ro.dynamic {
		d := ro.static(uri, ai, options)
		d.Source = SourceStatic
		return d
	}
	ck := cacheSlot(ai, options)
	d, ok := r.cache.get(s, uri, ck, true)
	source := SourceCache
	if !ok {
		d = r.ask(ctx, ro, s, uri, action, ai, ck, options)
		source = SourceAuthorizer
	}
	d = finish(d, uri)
	d.Source = source
	return d
}

// prelude is what every question (Authorize and Peek) starts with: the
// action's index and the session's role, or the final decision when
// neither is needed (bad action, no session, trusted, undefined role).
func (r *Realm) prelude(s *Session, action Action) (ai int, ro *role, d Decision, done bool) {
	ai = actionIndex(action)
	switch {
	case ai < 0:
		return ai, nil, Decision{Message: "authz: unknown action " + string(action)}, true
	case s == nil:
		return ai, nil, Decision{Message: "authz: no session"}, true
	case s.AuthRole == RoleTrusted:
		return ai, nil, Decision{Allow: true, Disclose: ai == aCall || ai == aPublish}, true
	}
	if ro = r.roles[s.AuthRole]; ro == nil {
		return ai, nil, Decision{Message: "role " + s.AuthRole + " is not defined on realm " + string(r.name)}, true
	}
	return ai, ro, Decision{}, false
}

// static decides a question for a static role.
func (ro *role) static(uri wamp.URI, ai int, options wamp.Dict) Decision {
	return ruleDecision(ro.m.lookup(string(uri)), uri, ai, options)
}

// ruleDecision is the decision of the governing permission ru (nil: none)
// of a static role or a session's grants.
func ruleDecision(ru *rule, uri wamp.URI, ai int, options wamp.Dict) Decision {
	if ru == nil || !ru.allow[ai] {
		return Decision{}
	}
	if ai == aRegister && !ru.prefix {
		// A prefix registration serves every procedure under it; an
		// exact or wildcard permission only covers what it names.
		// (Pattern subscriptions need no such rule: their events are
		// re-checked per topic, see Peek.)
		if m, _ := wamp.OptString(options, "match"); m == wamp.MatchPrefix {
			return Decision{}
		}
	}
	return Decision{Allow: true, Disclose: ru.disclose[ai] || uri.Reserved()}
}

// cacheSlot is the action part of a cache key: the action index for an
// exact request, another slot per pattern policy. An answer for exact
// "com.app" must not decide a prefix registration or subscription of
// "com.app", which covers far more (an authorizer may refuse patterns).
// Peek asks with the bare action index, so only exact answers decide
// per-topic event delivery.
func cacheSlot(ai int, options wamp.Dict) int {
	switch m, _ := wamp.OptString(options, "match"); m {
	case wamp.MatchPrefix:
		return ai + numActions
	case wamp.MatchWildcard:
		return ai + 2*numActions
	}
	return ai
}

// finish applies the rules every allowed answer gets: wamp.* URIs are
// always disclosed.
func finish(d Decision, uri wamp.URI) Decision {
	if d.Allow && !d.Disclose && uri.Reserved() {
		d.Disclose = true
	}
	return d
}

// SessionLeft drops the cached answers for session id and makes answers
// still in flight for it uncacheable. It costs O(that session's entries).
// Call it after the session's last Authorize (testament included): an
// answer cached later only ages out through the cache bound.
func (r *Realm) SessionLeft(id wamp.ID) { r.cache.sessionLeft(id) }

// Flush drops the cached answers f selects and returns how many it
// dropped; answers in flight that f could select are not cached. A filter
// on Session alone costs O(that session's entries); others scan the cache.
// This backs the tollgate.authorizer.flush meta procedure.
func (r *Realm) Flush(f FlushFilter) int {
	n := r.cache.flush(f)
	r.log.Debug("authorizer cache flushed", "entries", n,
		"session", uint64(f.Session), "authid", f.AuthID, "authrole", f.AuthRole, "uri_prefix", string(f.URIPrefix), "all", f.all())
	return n
}

// CacheStats returns the cache counters.
func (r *Realm) CacheStats() CacheStats {
	st := r.cache.stats()
	r.Guards(func(_ guard.Key, gs guard.Stats) {
		st.Rejected += gs.RejectedTotal()
		st.CircuitOpened += gs.Opened
	})
	return st
}

// ask answers a cache miss: it joins an identical question in flight or
// calls the authorizer itself and lands the answer in the cache. A waiter
// whose leader's answer turns out not to apply to it asks again on its own.
func (r *Realm) ask(ctx context.Context, ro *role, s *Session, uri wamp.URI, action Action, ai, ck int, options wamp.Dict) Decision {
	c := r.cache
	for wide := true; ; wide = false {
		d, f, leader := c.lead(s, uri, ck, wide)
		switch {
		case f == nil:
			return d
		case !leader:
			res, ok := c.wait(ctx, f)
			if !ok {
				return Decision{Failed: true, Message: msgCanceled}
			}
			if f.applies(s) {
				c.shared.Add(1)
				return res.d
			}
			continue
		}
		res := r.call(ctx, ro, s, uri, action, ai, options)
		if c.land(f, res, r.jittered(r.ttl(ro, res))) {
			r.log.Debug("authorizer answer not cached: flushed or session left during the call",
				"session", uint64(s.ID), "uri", string(uri), "action", string(action))
		}
		return res.d
	}
}

// jittered spreads a positive ttl by ± r.jitter (uniformly), never below
// the clock's resolution.
func (r *Realm) jittered(ttl time.Duration) time.Duration {
	if ttl <= 0 || r.jitter == 0 || ttl > time.Duration(math.MaxInt64/2) {
		return ttl
	}
	return max(ttl+time.Duration(float64(ttl)*r.jitter*(2*rand.Float64()-1)), clockResolution)
}

// ttl is how long a cacheable answer lives (0: no expiry): its own ttl,
// capped by the role's cache-ttl, else by the realm default; with no ttl
// of its own, that cap.
func (r *Realm) ttl(ro *role, res result) time.Duration {
	limit := ro.ttl
	if limit == 0 {
		limit = r.defaultTTL
	}
	if res.ttl > 0 && (limit == 0 || res.ttl < limit) {
		return res.ttl
	}
	return limit
}
