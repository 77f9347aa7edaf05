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
	ai, ro, d, done := r.prelude(s, action)
	switch {
	case done:
		return d.Allow, true
	}
	if g := s.Grants.Rules(); g != nil {
		if d, ok := g.decide(uri, ai, nil); ok {
			return d.Allow, true
		}
	}
	switch {
	case !ro.dynamic:
		return ro.static(uri, ai, nil).Allow, true
	}
	d, known = r.cache.get(s, uri, ai, false)
	return d.Allow, known
}
