package authz

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

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
	rs, err := compileRoles(name, roles, &o)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Realm{
		name:       name,
		roles:      rs,
		caller:     o.Caller,
		cache:      newCache(o.CacheSize),
		defaultTTL: o.DefaultTTL,
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
	ai := actionIndex(action)
	if ai < 0 {
		return Decision{Message: "authz: unknown action " + string(action)}
	}
	if s == nil {
		return Decision{Message: "authz: no session"}
	}
	if s.AuthRole == RoleTrusted {
		return Decision{Allow: true, Disclose: ai == aCall || ai == aPublish}
	}
	ro := r.roles[s.AuthRole]
	if ro == nil {
		return Decision{Message: "role " + s.AuthRole + " is not defined on realm " + string(r.name)}
	}
	if !ro.dynamic {
		ru := ro.m.lookup(string(uri))
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
	c := r.cache
	ck := cacheSlot(ai, options)
	c.mu.RLock()
	e, hint := c.lookupLocked(s, uri, ck)
	var d Decision
	if e != nil {
		e.ref.Store(true)
		d = Decision{Allow: e.allow, Disclose: e.disclose}
	}
	c.mu.RUnlock()
	if e != nil {
		c.hits.Add(1)
		return finish(d, uri)
	}
	c.misses.Add(1)
	return finish(r.ask(ctx, ro, s, uri, action, ai, ck, options, hint), uri)
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
func (r *Realm) CacheStats() CacheStats { return r.cache.stats() }

// ask answers a cache miss: it joins an identical question in flight or
// calls the authorizer itself, then caches a cacheable answer unless a
// flush or leave overtook it.
//
// Questions are merged under the asking session's key, or, when an expired
// authid/authrole-scoped answer exists (hint), under that wider key; a
// waiter whose leader's answer turns out not to apply to it asks again on
// its own.
func (r *Realm) ask(ctx context.Context, ro *role, s *Session, uri wamp.URI, action Action, ai, ck int, options wamp.Dict, hint cacheKey) Decision {
	c := r.cache
	for {
		key := sessionKey(s, uri, ck)
		if hint.scope != scopeNone {
			key = hint
		}
		c.mu.Lock()
		if e, _ := c.lookupLocked(s, uri, ck); e != nil {
			e.ref.Store(true)
			d := Decision{Allow: e.allow, Disclose: e.disclose}
			c.mu.Unlock()
			return d
		}
		if f := c.flights[key]; f != nil {
			c.mu.Unlock()
			c.waiting.Add(1)
			select {
			case <-f.done:
				c.waiting.Add(-1)
			case <-ctx.Done():
				c.waiting.Add(-1)
				return Decision{Failed: true, Message: fmt.Sprintf("authorization of %s %s canceled: %v", action, uri, ctx.Err())}
			}
			if f.applies(s) {
				c.shared.Add(1)
				return f.res.d
			}
			hint = cacheKey{}
			continue
		}
		f := &flight{key: key, session: s.ID, authID: s.AuthID, done: make(chan struct{})}
		c.flights[key] = f
		c.flying[s.ID]++
		c.mu.Unlock()

		res := r.call(ctx, ro, s, uri, action, ai, options)

		c.mu.Lock()
		delete(c.flights, key)
		if c.flying[s.ID]--; c.flying[s.ID] == 0 {
			delete(c.flying, s.ID)
		}
		if res.scope != scopeNone && c.size > 0 {
			if f.tainted {
				c.discarded.Add(1)
				r.log.Debug("authorizer answer not cached: flushed or session left during the call",
					"session", uint64(s.ID), "uri", string(uri), "action", string(action))
			} else {
				r.store(s, uri, ck, ro, res)
			}
		}
		f.res = res
		c.mu.Unlock()
		close(f.done)
		return res.d
	}
}

// store caches res. Caller holds cache.mu for writing.
func (r *Realm) store(s *Session, uri wamp.URI, ck int, ro *role, res result) {
	var k cacheKey
	switch res.scope {
	case scopeAuthRole:
		k = authRoleKey(s, uri, ck)
	case scopeAuthID:
		if s.AuthID != "" {
			k = authIDKey(s, uri, ck)
			break
		}
		// No authid to share by: keep it to this session.
		k = sessionKey(s, uri, ck)
	default:
		k = sessionKey(s, uri, ck)
	}
	ttl := res.ttl
	if ttl == 0 {
		ttl = ro.ttl
	}
	if ttl == 0 {
		ttl = r.defaultTTL
	}
	var expires int64
	if now := r.cache.now(); ttl > 0 && int64(ttl) < math.MaxInt64-now {
		expires = now + int64(ttl)
	}
	r.cache.insertLocked(k, s.AuthID, res.d, expires)
}
