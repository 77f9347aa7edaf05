package authz

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// scope is how widely a cached authorizer answer applies.
type scope uint8

const (
	scopeNone     scope = iota // not cached
	scopeSession               // this session only (the default)
	scopeAuthID                // every session with this authid (and role)
	scopeAuthRole              // every session with this role
)

// cacheKey identifies one cached answer. Fields not used by the scope are
// zero. The role is always part of the key, so an answer never crosses
// roles. Building a key copies string headers only: no allocation.
type cacheKey struct {
	scope   scope
	action  uint8
	session wamp.ID // scopeSession
	authID  string  // scopeAuthID
	role    string
	uri     wamp.URI
}

func sessionKey(s *Session, uri wamp.URI, ai int) cacheKey {
	return cacheKey{scope: scopeSession, action: uint8(ai), session: s.ID, role: s.AuthRole, uri: uri}
}

func authIDKey(s *Session, uri wamp.URI, ai int) cacheKey {
	return cacheKey{scope: scopeAuthID, action: uint8(ai), authID: s.AuthID, role: s.AuthRole, uri: uri}
}

func authRoleKey(s *Session, uri wamp.URI, ai int) cacheKey {
	return cacheKey{scope: scopeAuthRole, action: uint8(ai), role: s.AuthRole, uri: uri}
}

// entry is one cached answer. Its fields change only under cache.mu held
// for writing; ref is the CLOCK reference bit, set by readers.
type entry struct {
	key      cacheKey
	authID   string // authid of the session that asked (for flush by authid)
	allow    bool
	disclose bool
	expires  int64 // cache clock nanoseconds; 0 = never
	ref      atomic.Bool
	slot     int
	// Per-session list (session-scoped entries only), for SessionLeft.
	prev, next *entry
}

// flight is one authorizer call in progress, shared by identical questions.
type flight struct {
	key     cacheKey
	session wamp.ID
	authID  string
	done    chan struct{}
	// Set under cache.mu before done is closed.
	res result
	// tainted: a flush or leave affecting this question happened while the
	// call was in flight, so its answer must not be cached. Guarded by mu.
	tainted bool
}

// result is the outcome of one authorizer call.
type result struct {
	d        Decision
	scope    scope // scopeNone: answer not cacheable
	ttl      time.Duration
	canceled bool // the asking session's ctx ended: others must re-ask
}

// applies reports whether f's answer may be handed to session s, which
// joined f as a waiter.
func (f *flight) applies(s *Session) bool {
	switch {
	case f.res.canceled:
		return false
	case s.ID == f.session, f.res.d.Failed:
		return true
	case f.res.scope == scopeAuthRole:
		return true // the flight key includes the role
	case f.res.scope == scopeAuthID:
		return s.AuthID == f.authID
	}
	return false
}

// clockResolution is the cache clock's tick: a positive ttl shorter than
// this is rounded up to it, so it expires instead of reading as "no ttl".
const clockResolution = time.Nanosecond

// monotonic returns the default cache clock: nanoseconds since it was made,
// read from the monotonic clock.
func monotonic() func() int64 {
	base := time.Now()
	return func() int64 { return int64(time.Since(base)) }
}

// cache holds authorizer answers of one realm, bounded by a CLOCK sweep
// (an approximate LRU: a hit sets a reference bit under the read lock, so
// hits from many sessions do not serialize).
//
// Its API is the life of one question: get (the hit path), lead (on a
// miss: join the call in flight for it or become its leader), land (the
// leader's answer: cache it and release the waiters), and flush and
// sessionLeft, which drop entries and taint calls in flight. Callers never
// see its lock, maps or flight table.
//
// Lock: mu. Hits take it for reading; inserts, removals, flight
// bookkeeping take it for writing. It is never held across an authorizer
// call.
type cache struct {
	size int          // <= 0: caching disabled
	now  func() int64 // the clock: monotonic nanoseconds (injected by tests)

	mu       sync.RWMutex
	m        map[cacheKey]*entry
	ring     []*entry // CLOCK ring; nil slots are free (listed in free)
	free     []int
	hand     int
	sessions map[wamp.ID]*entry // head of each session's entry list
	nAuthID  int                // entries per wide scope, to skip lookups
	nRole    int
	flights  map[cacheKey]*flight
	flying   map[wamp.ID]int // flights led per session

	hits, misses, evictions            atomic.Uint64
	calls, failures, shared, discarded atomic.Uint64
	onWait                             func() // tests: called when a question starts waiting on another's call
}

// newCache makes a cache of size entries reading the clock now (nil: the
// monotonic clock).
func newCache(size int, now func() int64) *cache {
	if now == nil {
		now = monotonic()
	}
	return &cache{
		size:     size,
		now:      now,
		m:        map[cacheKey]*entry{},
		sessions: map[wamp.ID]*entry{},
		flights:  map[cacheKey]*flight{},
		flying:   map[wamp.ID]int{},
	}
}

// get answers question (s, uri, slot) from the cache. count says whether
// the lookup counts as a hit or miss (Peek's do not).
func (c *cache) get(s *Session, uri wamp.URI, slot int, count bool) (d Decision, ok bool) {
	c.mu.RLock()
	e, _ := c.lookupLocked(s, uri, slot)
	if e != nil {
		e.ref.Store(true)
		d = Decision{Allow: e.allow, Disclose: e.disclose}
	}
	c.mu.RUnlock()
	if count {
		if e != nil {
			c.hits.Add(1)
		} else {
			c.misses.Add(1)
		}
	}
	return d, e != nil
}

// lead follows a miss of get. It looks again under the write lock (an
// answer may have landed since); if there is none, it returns the flight
// asking this question, with leader false when another question leads it
// (wait for it) and true when the caller must ask the authorizer and land
// the answer. f is nil on a hit.
//
// Questions are merged under the asking session's key, or, when wide is
// set and an expired authid/authrole-scoped answer exists, under that
// wider key: the backend answered it for many sessions before.
func (c *cache) lead(s *Session, uri wamp.URI, slot int, wide bool) (d Decision, f *flight, leader bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, hint := c.lookupLocked(s, uri, slot)
	if e != nil {
		e.ref.Store(true)
		return Decision{Allow: e.allow, Disclose: e.disclose}, nil, false
	}
	key := sessionKey(s, uri, slot)
	if wide && hint.scope != scopeNone {
		key = hint
	}
	if f := c.flights[key]; f != nil {
		return Decision{}, f, false
	}
	f = &flight{key: key, session: s.ID, authID: s.AuthID, done: make(chan struct{})}
	c.flights[key] = f
	c.flying[s.ID]++
	c.calls.Add(1)
	return Decision{}, f, true
}

// wait blocks until f lands or ctx ends (ok false). The result applies to
// s only if f.applies(s).
func (c *cache) wait(ctx context.Context, f *flight) (res result, ok bool) {
	if c.onWait != nil {
		c.onWait()
	}
	select {
	case <-f.done:
		return f.res, true
	case <-ctx.Done():
		return result{}, false
	}
}

// land ends the flight f its caller leads with the authorizer's answer:
// it caches a cacheable answer for ttl (0: no expiry) unless a flush or
// leave overtook the call (then discarded is true), and releases the
// waiters.
func (c *cache) land(f *flight, res result, ttl time.Duration) (discarded bool) {
	if res.d.Failed {
		c.failures.Add(1)
	}
	c.mu.Lock()
	delete(c.flights, f.key)
	if c.flying[f.session]--; c.flying[f.session] == 0 {
		delete(c.flying, f.session)
	}
	if res.scope != scopeNone && c.size > 0 {
		if f.tainted {
			discarded = true
			c.discarded.Add(1)
		} else {
			var expires int64
			if now := c.now(); ttl > 0 && int64(ttl) < math.MaxInt64-now {
				expires = now + int64(ttl)
			}
			c.insertLocked(f.answerKey(res.scope), f.authID, res.d, expires)
		}
	}
	f.res = res
	c.mu.Unlock()
	close(f.done)
	return discarded
}

// answerKey is the key an answer of scope sc to f's question is cached
// under.
func (f *flight) answerKey(sc scope) cacheKey {
	k := cacheKey{scope: sc, action: f.key.action, role: f.key.role, uri: f.key.uri}
	switch {
	case sc == scopeAuthRole:
	case sc == scopeAuthID && f.authID != "":
		k.authID = f.authID
	default:
		// Session scope, or authid scope with no authid to share by: keep
		// it to this session.
		k.scope, k.session = scopeSession, f.session
	}
	return k
}

// lookupLocked returns the valid entry answering (s, uri, ai): session
// scope first, then authid, then authrole. hint is the key of an expired
// wider-scope entry, if any: the backend answered that question for many
// sessions before, so concurrent askers may share one call for it.
// Caller holds mu (read or write).
func (c *cache) lookupLocked(s *Session, uri wamp.URI, ai int) (e *entry, hint cacheKey) {
	var now int64
	valid := func(e *entry) bool {
		if e.expires == 0 {
			return true
		}
		if now == 0 {
			now = c.now()
		}
		return now < e.expires
	}
	if e := c.m[sessionKey(s, uri, ai)]; e != nil && valid(e) {
		return e, cacheKey{}
	}
	if c.nAuthID > 0 && s.AuthID != "" {
		k := authIDKey(s, uri, ai)
		if e := c.m[k]; e != nil {
			if valid(e) {
				return e, cacheKey{}
			}
			hint = k
		}
	}
	if c.nRole > 0 {
		k := authRoleKey(s, uri, ai)
		if e := c.m[k]; e != nil {
			if valid(e) {
				return e, cacheKey{}
			}
			hint = k
		}
	}
	return nil, hint
}

// insertLocked stores an answer. Caller holds mu for writing.
func (c *cache) insertLocked(k cacheKey, authID string, d Decision, expires int64) {
	if e := c.m[k]; e != nil {
		e.allow, e.disclose, e.expires, e.authID = d.Allow, d.Disclose, expires, authID
		e.ref.Store(true)
		return
	}
	e := &entry{key: k, authID: authID, allow: d.Allow, disclose: d.Disclose, expires: expires}
	switch {
	case len(c.free) > 0:
		e.slot = c.free[len(c.free)-1]
		c.free = c.free[:len(c.free)-1]
	case len(c.ring) < c.size:
		e.slot = len(c.ring)
		c.ring = append(c.ring, nil)
	default:
		e.slot = c.evictLocked()
	}
	c.ring[e.slot] = e
	c.m[k] = e
	switch k.scope {
	case scopeSession:
		if h := c.sessions[k.session]; h != nil {
			e.next, h.prev = h, e
		}
		c.sessions[k.session] = e
	case scopeAuthID:
		c.nAuthID++
	case scopeAuthRole:
		c.nRole++
	}
}

// evictLocked frees one slot of a full ring and returns it: the first
// expired or unreferenced entry from the hand on, clearing reference bits
// as it passes (CLOCK).
func (c *cache) evictLocked() int {
	now := c.now()
	for {
		i := c.hand
		c.hand = (c.hand + 1) % len(c.ring)
		e := c.ring[i]
		if e == nil {
			return i
		}
		if e.ref.Load() && (e.expires == 0 || now < e.expires) {
			e.ref.Store(false)
			continue
		}
		c.removeLocked(e)
		c.free = c.free[:len(c.free)-1] // removeLocked listed slot i as free; we take it
		c.evictions.Add(1)
		return i
	}
}

// removeLocked drops e. Caller holds mu for writing.
func (c *cache) removeLocked(e *entry) {
	delete(c.m, e.key)
	c.ring[e.slot] = nil
	c.free = append(c.free, e.slot)
	switch e.key.scope {
	case scopeSession:
		if e.prev != nil {
			e.prev.next = e.next
		} else if e.next != nil {
			c.sessions[e.key.session] = e.next
		} else {
			delete(c.sessions, e.key.session)
		}
		if e.next != nil {
			e.next.prev = e.prev
		}
		e.prev, e.next = nil, nil
	case scopeAuthID:
		c.nAuthID--
	case scopeAuthRole:
		c.nRole--
	}
}

// sessionLeft drops s's session-scoped entries (O(its entries)) and
// taints the calls it has in flight so their answers are not cached.
func (c *cache) sessionLeft(id wamp.ID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for e := c.sessions[id]; e != nil; {
		next := e.next
		c.removeLocked(e)
		e = next
		n++
	}
	if c.flying[id] > 0 {
		for _, f := range c.flights {
			if f.session == id {
				f.tainted = true
			}
		}
	}
	return n
}

// CacheStats are counters of a Realm's authorizer cache, read atomically
// one by one (not a consistent snapshot).
type CacheStats struct {
	Hits      uint64 // questions answered from the cache
	Misses    uint64 // questions of dynamic roles not answered from the cache
	Evictions uint64 // entries dropped to stay within CacheSize
	Entries   int    // entries now held (expired ones included until dropped)
	// AuthorizerCalls counts calls made; Failures those that failed
	// (error, timeout, not registered, malformed answer).
	AuthorizerCalls uint64
	Failures        uint64
	// Shared counts questions answered by another question's call in flight.
	Shared uint64
	// Discarded counts cacheable answers not cached because a flush or the
	// session leaving overtook the call.
	Discarded uint64
	// Rejected counts questions failed without a call (authorizer
	// overloaded or circuit open); CircuitOpened the times a breaker opened.
	Rejected, CircuitOpened uint64
}

func (c *cache) stats() CacheStats {
	c.mu.RLock()
	n := len(c.m)
	c.mu.RUnlock()
	return CacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Entries: n,
		AuthorizerCalls: c.calls.Load(), Failures: c.failures.Load(),
		Shared: c.shared.Load(), Discarded: c.discarded.Load(),
	}
}
