package authz

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Permission is one static permission of a role, as in Crossbar's config
// (mirrors router.Permission).
//
// When Match is empty, URI is a "starred" URI converted as Crossbar does:
// no '*' → exact (a URI ending in '.' too, which therefore matches nothing,
// exactly as in Crossbar), "*" → prefix "" (every
// URI), "com.example.*" → prefix "com.example.", any other '*' (each one a
// whole component) → wildcard with the stars emptied ("com.*.x" →
// "com..x"). With Match given, URI must not contain '*'.
type Permission struct {
	URI      string
	Match    string // "exact", "prefix", "wildcard" or "" (starred URI)
	Allow    Actions
	Disclose Disclose
	// Cache is accepted for Crossbar compatibility and has no effect: a
	// static check is as cheap as a cache lookup, so it is never cached.
	Cache bool
}

// Actions are the four authorizable actions (mirrors router.Actions).
type Actions struct{ Call, Register, Publish, Subscribe bool }

// Disclose says whether the caller (on call) or publisher (on publish)
// identity is disclosed to callees/subscribers (mirrors router.Disclose).
type Disclose struct{ Caller, Publisher bool }

// RoleConfig defines one role of a realm. A role has either Permissions
// (static) or an Authorizer (dynamic), not both; a role with neither denies
// everything. The name "trusted" is reserved (RoleTrusted always exists).
type RoleConfig struct {
	Name        string
	Permissions []Permission

	// Authorizer is the procedure called for every question about a
	// session of this role (see Realm.Authorize).
	Authorizer wamp.URI
	// AuthorizerRealm is the realm the Authorizer is registered on.
	// Default: the realm being authorized (Crossbar's only choice).
	AuthorizerRealm wamp.URI
	// Timeout bounds one authorizer call; on expiry the action fails with
	// wamp.error.authorization_failed. Default 5s.
	Timeout time.Duration
	// AuthorizerArgs forces how many arguments the authorizer is called
	// with: 4 (session, uri, action, options) or 3 (session, uri, action:
	// the Crossbar guide's signature). 0 (default) learns it: calls pass
	// 4, and when a Python authorizer answers with the TypeError of a
	// function that takes one argument less, the call is repeated with 3
	// and later calls pass 3 (see arity).
	AuthorizerArgs int
	// MaxInFlight bounds the calls in flight to this role's authorizer
	// (shared with the other roles of the realm naming the same
	// procedure; the first role's limits apply). Beyond it, up to
	// MaxQueued questions wait for a slot within Timeout, in arrival
	// order; others fail closed at once ("the authorizer is overloaded").
	// 0: guard.DefaultMaxInFlight (64); negative: unbounded. MaxQueued 0:
	// 4 × MaxInFlight; negative: none wait.
	MaxInFlight, MaxQueued int
	// BreakerThreshold consecutive failed calls (error, timeout, malformed
	// answer; not a denial, not an authorizer that is not registered) open
	// a circuit breaker: for BreakerCooldown (default 5s) questions fail
	// closed at once ("the authorizer is unavailable"), logged once; the
	// next failure after it re-opens. 0: no breaker.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// CacheTTL is the upper bound on how long an answer of this role's
	// authorizer stays cached, whatever ttl it carries (an answer without
	// one lives this long). Default Options.DefaultTTL.
	CacheTTL time.Duration
}

// Options configures a Realm. The zero value means the documented defaults;
// NewRealm does not keep or modify the caller's struct.
type Options struct {
	// Caller makes the dynamic authorizer calls from the router's internal
	// trusted session. Required when any role has an Authorizer.
	Caller Caller
	// CacheSize bounds the number of cached authorizer answers (all scopes
	// together); when full, a CLOCK (approximate LRU) sweep evicts one.
	// Default 100000; negative disables caching (every question is asked).
	CacheSize int
	// DefaultTTL is the CacheTTL of roles that have none. Default 0: no
	// bound; answers without a ttl of their own then live (session scope)
	// until the session leaves, (wider scopes) until flushed or evicted.
	DefaultTTL time.Duration
	// TTLJitter spreads cached answers' lifetimes by ± this fraction, so
	// a fleet's entries for one question do not all expire at once.
	// Default 0: DefaultTTLJitter; negative: none.
	TTLJitter float64
	// Logger receives debug logs and, at warn level, the detail of every
	// failed authorizer call (Decision.Message stays generic). nil
	// discards them.
	Logger *slog.Logger

	// now is the cache clock (monotonic nanoseconds); nil: the real one.
	// Tests set it to drive expiry without sleeping.
	now func() int64
}

// DefaultTimeout is the authorizer call timeout when RoleConfig.Timeout is 0.
const DefaultTimeout = 5 * time.Second

// DefaultTTLJitter is Options.TTLJitter's default: ± 10%.
const DefaultTTLJitter = 0.1

// DefaultCacheSize is the cache bound when Options.CacheSize is 0.
const DefaultCacheSize = 100000

// ErrConfig is wrapped by every NewRealm validation error.
var ErrConfig = errors.New("authz: invalid configuration")

type configErrors struct {
	realm wamp.URI
	errs  []error
}

func (c *configErrors) add(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%w: realm %q: "+format, append([]any{ErrConfig, c.realm}, args...)...))
}

// compileRoles validates roles and builds their matchers. Every problem is
// reported, each naming the role index and field.
func compileRoles(realm wamp.URI, roles []RoleConfig, o *Options, guards *guard.Table) (map[string]*role, error) {
	ce := &configErrors{realm: realm}
	out := make(map[string]*role, len(roles))
	arities := arityTable{}
	seen := map[string]int{}
	for i := range roles {
		rc := &roles[i]
		where := fmt.Sprintf("roles[%d]", i)
		if rc.Name != "" {
			where = fmt.Sprintf("roles[%d] (%q)", i, rc.Name)
		}
		switch {
		case rc.Name == "":
			ce.add("%s.name: empty", where)
		case rc.Name == RoleTrusted:
			ce.add("%s.name: %q is reserved (it always exists and allows everything)", where, RoleTrusted)
		default:
			if j, dup := seen[rc.Name]; dup {
				ce.add("%s.name: duplicate of roles[%d]", where, j)
			} else {
				seen[rc.Name] = i
			}
		}
		ro := &role{name: rc.Name, timeout: rc.Timeout, ttl: rc.CacheTTL}
		if rc.Timeout < 0 {
			ce.add("%s.timeout: negative (%v)", where, rc.Timeout)
		}
		if ro.timeout == 0 {
			ro.timeout = DefaultTimeout
		}
		if rc.CacheTTL < 0 {
			ce.add("%s.cache-ttl: negative (%v)", where, rc.CacheTTL)
		}
		switch {
		case rc.Authorizer != "" && len(rc.Permissions) > 0:
			ce.add("%s: has both permissions and authorizer; a role is either static or dynamic", where)
		case rc.Authorizer != "":
			ro.dynamic = true
			ro.authorizer = rc.Authorizer
			ro.authRealm = rc.AuthorizerRealm
			if ro.authRealm == "" {
				ro.authRealm = realm
			}
			if !wamp.ValidURI(rc.Authorizer, false, wamp.MatchExact) {
				ce.add("%s.authorizer: invalid URI %q", where, rc.Authorizer)
			}
			if rc.AuthorizerRealm != "" && !wamp.ValidURI(rc.AuthorizerRealm, false, wamp.MatchExact) {
				ce.add("%s.authorizer-realm: invalid URI %q", where, rc.AuthorizerRealm)
			}
			if o.Caller == nil {
				ce.add("%s.authorizer: Options.Caller is nil, cannot call %q", where, rc.Authorizer)
			}
			if rc.BreakerThreshold < 0 {
				ce.add("%s.authorizer-breaker.threshold: negative (%d)", where, rc.BreakerThreshold)
			}
			if rc.BreakerCooldown < 0 {
				ce.add("%s.authorizer-breaker.cooldown: negative (%v)", where, rc.BreakerCooldown)
			}
			ro.guard = guards.Of(guardKey(ro), rc.limits())
			switch rc.AuthorizerArgs {
			case 0, 3, 4:
				ro.arity = arities.of(ro.authRealm, ro.authorizer, rc.AuthorizerArgs)
			default:
				ce.add("%s.authorizer-args: %d, want 3 or 4", where, rc.AuthorizerArgs)
			}
		default:
			if rc.AuthorizerRealm != "" {
				ce.add("%s.authorizer-realm: set without authorizer", where)
			}
			if rc.AuthorizerArgs != 0 {
				ce.add("%s.authorizer-args: set without authorizer", where)
			}
			ro.m = compilePermissions(rc.Permissions, where, ce)
		}
		if _, dup := out[rc.Name]; !dup && rc.Name != "" {
			out[rc.Name] = ro
		}
	}
	if len(ce.errs) > 0 {
		return nil, errors.Join(ce.errs...)
	}
	return out, nil
}

// convertStarred turns a Crossbar starred URI into (uri, match), or returns
// why it cannot (stars must be whole components).
func convertStarred(u string) (string, string, string) {
	if !strings.Contains(u, "*") {
		if u == "" {
			return "", "", `empty (use "*" for every URI)`
		}
		return u, wamp.MatchExact, ""
	}
	comps := strings.Split(u, ".")
	stars := 0
	for _, c := range comps {
		if c == "*" {
			stars++
		} else if strings.Contains(c, "*") {
			return "", "", fmt.Sprintf("%q: '*' must be a whole component", u)
		}
	}
	if stars == 1 && comps[len(comps)-1] == "*" {
		return strings.TrimSuffix(u, "*"), wamp.MatchPrefix, ""
	}
	return strings.ReplaceAll(u, "*", ""), wamp.MatchWildcard, ""
}

// PermissionKey returns the (match, URI) rule a permission compiles to, as
// one comparable string: two permissions of a role with the same key are
// duplicates. ok is false for a permission that does not compile.
func PermissionKey(p Permission) (key string, ok bool) {
	uri, match := p.URI, p.Match
	if match == "" {
		var why string
		if uri, match, why = convertStarred(p.URI); why != "" {
			return "", false
		}
	}
	if match == wamp.MatchPrefix {
		uri = strings.TrimSuffix(uri, ".")
	}
	return match + " " + uri, true
}

func compilePermissions(perms []Permission, where string, ce *configErrors) *matcher {
	m := newMatcher()
	type dupKey struct{ match, uri string }
	seen := map[dupKey]int{}
	for j := range perms {
		p := &perms[j]
		pw := fmt.Sprintf("%s.permissions[%d]", where, j)
		uri, match := p.URI, p.Match
		switch match {
		case "":
			var why string
			uri, match, why = convertStarred(p.URI)
			if why != "" {
				ce.add("%s.uri: %s", pw, why)
				continue
			}
		case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
			if strings.Contains(uri, "*") {
				ce.add("%s.uri: %q contains '*' but match %q is given (drop match to use a starred URI)", pw, uri, match)
				continue
			}
		default:
			ce.add("%s.match: %q is not exact, prefix or wildcard", pw, match)
			continue
		}
		checked := uri
		if p.Match == "" && match == wamp.MatchExact {
			// Crossbar's "com.example." without match: an exact rule no
			// valid URI equals. Kept (it grants nothing) rather than refused.
			checked = strings.TrimSuffix(uri, ".")
		}
		if !wamp.ValidURI(wamp.URI(checked), false, match) {
			why := "invalid URI"
			if match == wamp.MatchExact && strings.Contains(uri, "..") {
				why = "empty component in an exact URI (use match wildcard)"
			}
			ce.add("%s.uri: %s %q", pw, why, uri)
			continue
		}
		if match == wamp.MatchPrefix {
			// Prefixes match whole components: "a.b" and "a.b." are one rule.
			uri = strings.TrimSuffix(uri, ".")
		}
		k := dupKey{match, uri}
		if i, dup := seen[k]; dup {
			ce.add("%s.uri: %s %q duplicates permissions[%d]", pw, match, p.URI, i)
			continue
		}
		seen[k] = j
		ru := newRule(p, j)
		ru.prefix = match == wamp.MatchPrefix
		ru.uri, ru.match = uri, match
		m.add(uri, match, ru)
	}
	return m
}
