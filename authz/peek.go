package authz

import "github.com/tollgate-wamp/tollgate/wamp"

// Peek answers "may s do action on uri?" without ever calling an
// authorizer, for checks on hot paths (the broker asks it for every event
// a pattern subscription would deliver). known is false when only a
// dynamic authorizer could answer and the cache holds no valid answer for
// the question; allowed is then false.
//
// Trusted sessions: (true, true). Undefined roles: (false, true). Static
// roles: the permission rules, (allow, true). Dynamic roles: a cached
// answer of any scope. Peek takes no lock for static roles and the cache's
// read lock for dynamic ones, does not allocate, and does not count as a
// cache hit or miss in CacheStats (it does mark a hit entry as recently
// used).
func (r *Realm) Peek(s *Session, uri wamp.URI, action Action) (allowed, known bool) {
	ai := actionIndex(action)
	if ai < 0 || s == nil {
		return false, true
	}
	if s.AuthRole == RoleTrusted {
		return true, true
	}
	ro := r.roles[s.AuthRole]
	if ro == nil {
		return false, true
	}
	if !ro.dynamic {
		ru := ro.m.lookup(string(uri))
		return ru != nil && ru.allow[ai], true
	}
	c := r.cache
	c.mu.RLock()
	e, _ := c.lookupLocked(s, uri, ai)
	if e != nil {
		e.ref.Store(true)
		allowed = e.allow
	}
	c.mu.RUnlock()
	return allowed, e != nil
}
