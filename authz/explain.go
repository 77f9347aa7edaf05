package authz

import (
	"context"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Sources of an explained decision.
const (
	SourceGrant      = "grant"      // the session's own permissions
	SourceStatic     = "static"     // the role's permissions
	SourceCache      = "cache"      // a cached authorizer answer
	SourceAuthorizer = "authorizer" // the authorizer, asked for Explain
	SourceDefault    = "default"    // no rule: trusted, undefined role, no match, not asked
)

// Explanation says how a question would be decided and why.
type Explanation struct {
	Decision
	Source string
	// Rule is the governing permission (grant or static source): its
	// compiled URI and match policy and its index in the list.
	RuleURI, RuleMatch string
	RuleIndex          int
	// CacheScope is the cached (cache source) or cacheable (authorizer
	// source) answer's scope: "session", "authid", "authrole" or "".
	CacheScope string
	// ExpiresIn is the cached answer's remaining life; 0 with a scope
	// means it never expires.
	ExpiresIn time.Duration
	// Asked: the authorizer was called (only when Explain was asked to).
	Asked bool
}

var scopeNames = [...]string{scopeNone: "", scopeSession: "session", scopeAuthID: "authid", scopeAuthRole: "authrole"}

// Explain answers how Authorize would decide (s, uri, action, options)
// without its side effects: no answer is cached, no flight joined, no
// hit, miss or recency recorded. Only when ask is set and nothing else
// decides does it call the authorizer (once, with the role's timeout; the
// answer is not cached). A dynamic question not asked is a deny with
// source default and a message saying the authorizer would be asked.
func (r *Realm) Explain(ctx context.Context, s *Session, uri wamp.URI, action Action, options wamp.Dict, ask bool) Explanation {
	ai, ro, d, done := r.prelude(s, action)
	if done {
		return Explanation{Decision: d, Source: SourceDefault}
	}
	if g := s.Grants.Rules(); g != nil {
		if ru := g.m.lookup(string(uri)); ru != nil && ru.named[ai] {
			return ruleExplanation(SourceGrant, ru, uri, ai, options)
		}
	}
	if !ro.dynamic {
		ru := ro.m.lookup(string(uri))
		if ru == nil {
			return Explanation{Source: SourceDefault}
		}
		return ruleExplanation(SourceStatic, ru, uri, ai, options)
	}
	if e, ok := r.cache.inspect(s, uri, cacheSlot(ai, options)); ok {
		return e
	}
	if !ask {
		return Explanation{Source: SourceDefault, Decision: Decision{Message: "not cached: the authorizer " + string(ro.authorizer) + " would be asked"}}
	}
	res := r.call(ctx, ro, s, uri, action, ai, options)
	e := Explanation{Decision: finish(res.d, uri), Source: SourceAuthorizer, Asked: true, CacheScope: scopeNames[res.scope]}
	if res.scope != scopeNone {
		e.ExpiresIn = r.ttl(ro, res)
	}
	return e
}

func ruleExplanation(source string, ru *rule, uri wamp.URI, ai int, options wamp.Dict) Explanation {
	return Explanation{Decision: ruleDecision(ru, uri, ai, options), Source: source, RuleURI: ru.uri, RuleMatch: ru.match, RuleIndex: ru.index}
}

// inspect is get without side effects (no reference bit, no counters),
// describing the entry found.
func (c *cache) inspect(s *Session, uri wamp.URI, slot int) (Explanation, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, _ := c.lookupLocked(s, uri, slot)
	if e == nil {
		return Explanation{}, false
	}
	x := Explanation{Decision: finish(Decision{Allow: e.allow, Disclose: e.disclose}, uri), Source: SourceCache, CacheScope: scopeNames[e.key.scope]}
	if e.expires != 0 {
		x.ExpiresIn = time.Duration(e.expires - c.now())
	}
	return x, true
}
