package authz

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Rules are per-session grants compiled once (at join, or by revoke):
// permissions in exactly the static role shape, enforced before the role's
// own rules. Immutable, so safe for concurrent use.
//
// The governing rule (the same precedence as a static role: exact >
// wildcard > longest prefix) decides every action its allow dict names,
// true or false; an action it does not name, or a URI no rule matches,
// falls to the role.
type Rules struct {
	m *matcher
	n int
}

// Len is the number of permissions.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

// Grants is a session's current Rules, replaceable while the session
// lives (revoke with permissions). The zero value holds none.
type Grants struct{ p atomic.Pointer[Rules] }

// Set replaces the grants (nil: none).
func (g *Grants) Set(r *Rules) { g.p.Store(r) }

// Rules returns the current grants, or nil.
func (g *Grants) Rules() *Rules {
	if g == nil {
		return nil
	}
	return g.p.Load()
}

// decide is the grants' decision on (uri, ai), or covered false when the
// role must decide.
func (r *Rules) decide(uri wamp.URI, ai int, options wamp.Dict) (d Decision, covered bool) {
	ru := r.m.lookup(string(uri))
	if ru == nil || !ru.named[ai] {
		return Decision{}, false
	}
	return ruleDecision(ru, uri, ai, options), true
}

// CompileGrants reads v, a list of permission dicts as a static role's
// permissions are written ({uri, match, allow: {call, register, publish,
// subscribe}, disclose: {caller, publisher}, cache}), and compiles it.
// Every problem is reported at once, each naming its index. An empty list
// compiles to nil (no grants).
func CompileGrants(v any) (*Rules, error) {
	list, ok := v.(wamp.List)
	if !ok {
		return nil, fmt.Errorf("%w: permissions: %s, want a list", ErrConfig, describe(v))
	}
	if len(list) == 0 {
		return nil, nil
	}
	var errs []error
	perms := make([]Permission, 0, len(list))
	named := make([][numActions]bool, 0, len(list))
	for i, pv := range list {
		p, nm, err := grantPermission(pv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: permissions[%d]: %s", ErrConfig, i, err))
			continue
		}
		perms = append(perms, p)
		named = append(named, nm)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ce := configErrors{realm: "(session grants)"}
	m := compilePermissions(perms, "grants", &ce)
	if len(ce.errs) > 0 {
		return nil, errors.Join(ce.errs...)
	}
	m.each(func(ru *rule) { ru.named = named[ru.index] })
	return &Rules{m: m, n: len(perms)}, nil
}

var grantActions = [numActions]string{aCall: "call", aRegister: "register", aPublish: "publish", aSubscribe: "subscribe"}

// grantPermission reads one permission dict and which actions it names.
func grantPermission(v any) (p Permission, named [numActions]bool, err error) {
	d, ok := v.(wamp.Dict)
	if !ok {
		return p, named, fmt.Errorf("%s, want a dict", describe(v))
	}
	for k, x := range d {
		switch k {
		case "uri", "match":
			s, ok := x.(string)
			if !ok {
				return p, named, fmt.Errorf("%s: %s, want a string", k, describe(x))
			}
			if k == "uri" {
				p.URI = s
			} else {
				p.Match = s
			}
		case "allow":
			a, ok := x.(wamp.Dict)
			if !ok {
				return p, named, fmt.Errorf("allow: %s, want a dict", describe(x))
			}
			var allow [numActions]bool
			if named, allow, err = boolKeys("allow", a, grantActions[:]); err != nil {
				return p, named, err
			}
			p.Allow = Actions{Call: allow[aCall], Register: allow[aRegister], Publish: allow[aPublish], Subscribe: allow[aSubscribe]}
		case "disclose":
			a, ok := x.(wamp.Dict)
			if !ok {
				return p, named, fmt.Errorf("disclose: %s, want a dict", describe(x))
			}
			_, dis, err := boolKeys("disclose", a, []string{"caller", "publisher"})
			if err != nil {
				return p, named, err
			}
			p.Disclose = Disclose{Caller: dis[0], Publisher: dis[1]}
		case "cache":
			if p.Cache, ok = x.(bool); !ok {
				return p, named, fmt.Errorf("cache: %s, want a bool", describe(x))
			}
		default:
			return p, named, fmt.Errorf("unknown key %q (want uri, match, allow, disclose, cache)", k)
		}
	}
	if _, ok := d["uri"]; !ok {
		return p, named, errors.New("no uri")
	}
	return p, named, nil
}

// boolKeys reads a dict of booleans whose keys are among keys.
func boolKeys(what string, d wamp.Dict, keys []string) (named, val [numActions]bool, err error) {
	for k, x := range d {
		i := -1
		for j, name := range keys {
			if k == name {
				i = j
			}
		}
		if i < 0 {
			return named, val, fmt.Errorf("%s: unknown key %q", what, k)
		}
		b, ok := x.(bool)
		if !ok {
			return named, val, fmt.Errorf("%s.%s: %s, want true or false", what, k, describe(x))
		}
		named[i], val[i] = true, b
	}
	return named, val, nil
}

// each calls f for every rule of m.
func (m *matcher) each(f func(*rule)) {
	var walk func(n *node)
	walk = func(n *node) {
		for _, ru := range []*rule{n.exact, n.prefix, n.wild} {
			if ru != nil {
				f(ru)
			}
		}
		for _, c := range n.children {
			walk(c)
		}
		if n.any != nil {
			walk(n.any)
		}
	}
	walk(&m.lit)
	walk(&m.wild)
}
