package authz

import "github.com/tollgate-wamp/tollgate/wamp"

// FlushFilter selects cached authorizer answers to drop. Set fields are
// ANDed; the zero filter (or All) selects everything.
type FlushFilter struct {
	// Session selects the session-scoped answers of that session.
	Session wamp.ID
	// AuthID selects answers given for sessions with that authid:
	// session-scoped ones and authid-scoped ones (not authrole-scoped).
	AuthID string
	// AuthRole selects every answer for sessions of that role.
	AuthRole string
	// URIPrefix selects answers whose URI starts with these whole
	// components ("com.example" and "com.example." both select
	// "com.example" and "com.example.x", not "com.examplexyz").
	URIPrefix wamp.URI
	// All selects everything, whatever the other fields say.
	All bool
}

func (f *FlushFilter) all() bool {
	return f.All || (f.Session == 0 && f.AuthID == "" && f.AuthRole == "" && f.URIPrefix == "")
}

// matches reports whether an answer to a question with these attributes
// is selected. sc is scopeNone for a question in flight (scope unknown:
// selected whenever any scope could be).
func (f *FlushFilter) matches(sc scope, session wamp.ID, authID, role string, uri wamp.URI) bool {
	if f.Session != 0 && (session != f.Session || (sc != scopeSession && sc != scopeNone)) {
		return false
	}
	if f.AuthID != "" && (authID != f.AuthID || sc == scopeAuthRole) {
		return false
	}
	if f.AuthRole != "" && role != f.AuthRole {
		return false
	}
	return f.URIPrefix == "" || componentPrefix(f.URIPrefix, uri)
}

// componentPrefix reports whether uri is p or starts with p's components.
func componentPrefix(p, uri wamp.URI) bool {
	if n := len(p); n > 0 && p[n-1] == '.' {
		p = p[:n-1]
	}
	if p == "" || uri == p {
		return true
	}
	return len(uri) > len(p) && uri[:len(p)] == p && uri[len(p)] == '.'
}

// flush drops the selected entries and taints selected calls in flight.
func (c *cache) flush(f FlushFilter) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	all := f.all()
	for _, fl := range c.flights {
		if all || f.matches(scopeNone, fl.session, fl.authID, fl.key.role, fl.key.uri) {
			fl.tainted = true
		}
	}
	if all {
		n := len(c.m)
		clear(c.m)
		clear(c.sessions)
		clear(c.ring)
		c.ring, c.free, c.hand, c.nAuthID, c.nRole = c.ring[:0], c.free[:0], 0, 0, 0
		return n
	}
	n := 0
	if f.Session != 0 {
		for e := c.sessions[f.Session]; e != nil; {
			next := e.next
			if f.matches(e.key.scope, e.key.session, e.authID, e.key.role, e.key.uri) {
				c.removeLocked(e)
				n++
			}
			e = next
		}
		return n
	}
	for _, e := range c.ring {
		if e != nil && f.matches(e.key.scope, e.key.session, e.authID, e.key.role, e.key.uri) {
			c.removeLocked(e)
			n++
		}
	}
	return n
}

// Covers reports whether a live subscription or registration of uri with
// match policy is selected by f's URIPrefix (revocation's re-check): an
// exact one under the prefix; a prefix pattern under it or reaching into
// it (prefix patterns match bytes); every wildcard pattern (one may match
// URIs under any prefix; re-checking too many only costs time).
func (f *FlushFilter) Covers(uri wamp.URI, match string) bool {
	if f.All || f.URIPrefix == "" || componentPrefix(f.URIPrefix, uri) {
		return true
	}
	switch match {
	case wamp.MatchPrefix:
		return len(uri) <= len(f.URIPrefix) && f.URIPrefix[:len(uri)] == uri
	case wamp.MatchWildcard:
		return true
	}
	return false
}
