package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func (p *parser) realm(n *yaml.Node, path string, r *refs) (router.RealmOptions, bool) {
	var realm router.RealmOptions
	m := p.mapping(n, path)
	if m == nil {
		return realm, false
	}
	p.labelID(m)
	ok := true
	if v, vp := m.need("name"); v != nil {
		if s, good := p.str(v, vp); good {
			switch {
			case s == "":
				p.errorf(v, vp, "empty realm name")
				ok = false
			case !wamp.ValidURI(wamp.URI(s), false, wamp.MatchExact):
				p.errorf(v, vp, "invalid realm name %q: must be a URI (dot-separated, non-empty components without whitespace or '#')", s)
				ok = false
			case r.realms[s]:
				p.errorf(v, vp, "duplicate realm name %q", s)
				ok = false
			default:
				r.realms[s] = true
				realm.Name = wamp.URI(s)
			}
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	realm.URICheck = "strict"
	if v, vp := m.get("options"); v != nil {
		if om := p.mapping(v, vp); om != nil {
			p.realmOptions(om, &realm)
		}
	}
	var history []historyAt
	if v, vp := m.get("store"); v != nil {
		history = p.store(v, vp, &realm)
	}
	for _, k := range []string{"inventory", "stats", "rlinks"} {
		m.ignore(k, "realm "+k+" is not supported")
	}
	// A realm without roles is closed, as in Crossbar: the router's open
	// realm (Roles nil) is for embedding and tests, never what a config
	// file gets by leaving a key out.
	realm.Roles = []authz.RoleConfig{}
	v, vp := m.get("roles")
	if v == nil && ok {
		p.warnf(m.n, path, "realm %q defines no roles: only trusted sessions may join it, every other session is refused (as in Crossbar); add roles to let clients in", realm.Name)
	}
	if v != nil {
		if items, good := p.seq(v, vp); good {
			names := map[string]bool{}
			ps := positions{}
			var permIndex [][]int // by role: file index of each kept permission
			for i, it := range items {
				ip := index(vp, i)
				role, rps, perms, good := p.role(it, ip)
				if role.Name != "" {
					if names[role.Name] {
						p.errorf(it, ip+".name", "duplicate role name %q in this realm", role.Name)
						continue
					}
					names[role.Name] = true
					r.roles[role.Name] = true
				}
				if good {
					ps.nest(fmt.Sprintf("roles[%d]", len(realm.Roles)), it, ip, rps)
					realm.Roles = append(realm.Roles, role)
					permIndex = append(permIndex, perms)
				}
			}
			if ok {
				p.validateRoles(realm, ps, permIndex, at{m.keyNode("roles"), vp})
			}
		}
	}
	if ok {
		p.validateHistory(realm, history, at{m.keyNode("store"), join(path, "store")})
	}
	m.doneLenient("realm")
	return realm, ok
}

func (p *parser) realmOptions(om *mapping, realm *router.RealmOptions) {
	if uv, up := om.get("uri_check"); uv != nil {
		if s, good := p.oneOf(uv, up, "strict", "loose"); good {
			realm.URICheck = s
		}
	}
	if bv, bp := om.get("enable_meta_api"); bv != nil {
		if on, good := p.boolean(bv, bp); good && !on {
			p.warnf(bv, bp, "ignored: the meta API cannot be disabled")
		}
	}
	if bv, bp := om.get("bridge_meta_api"); bv != nil {
		if on, good := p.boolean(bv, bp); good && on {
			p.warnf(bv, bp, "ignored: there are no router-to-router links to bridge to")
		}
	}
	if cv, cp := om.get("event_dispatching_chunk_size"); cv != nil {
		if _, good := p.integer(cv, cp, 1, math.MaxInt32); good {
			p.warnf(cv, cp, "ignored: Tollgate does not dispatch events in chunks")
		}
	}
	if cv, cp := om.get("authz_cache_size"); cv != nil {
		if size, good := p.integer(cv, cp, 0, math.MaxInt32); good {
			realm.AuthzCacheSize = size
			if size == 0 {
				realm.AuthzCacheSize = -1 // the router's "no cache"
			}
		}
	}
	if tv, tp := om.get("authz_cache_ttl"); tv != nil {
		realm.AuthzCacheTTL, _ = p.duration(tv, tp, time.Second, "seconds")
	}
	if rv, rp := om.get("credential_refresh"); rv != nil {
		if proc, good := p.str(rv, rp); good {
			realm.CredentialRefresh = wamp.URI(proc)
		}
	}
	if rv, rp := om.get("retained_events"); rv != nil {
		realm.RetainedEvents, _ = p.retainedEvents(rv, rp)
	}
	p.realmEdgeOptions(om, realm)
	p.realmBounds(om, realm)
	p.opsRealmOptions(om, realm) // ops.go
	om.done()
}

// authzRolePrefix matches the `roles[0] ("name")` that starts authz's
// messages; the name is dropped so the position table can be keyed by index.
var (
	authzRolePrefix = regexp.MustCompile(`^roles\[(\d+)\] \("(?:[^"\\]|\\.)*"\)`)
	authzRoleIndex  = regexp.MustCompile(`^roles\[(\d+)\]`)
	authzPermRef    = regexp.MustCompile(`permissions\[(\d+)\]`)
)

// validateRoles compiles the realm's roles with authz.NewRealm, exactly as
// the router will, and reports its errors at the fields they name.
// permIndex maps each role's permission indices (as authz saw them: items
// with parse errors were left out) to the file's, for messages that refer
// to another permission ("duplicates permissions[0]").
func (p *parser) validateRoles(realm router.RealmOptions, ps positions, permIndex [][]int, fallback at) {
	_, err := authz.NewRealm(realm.Name, realm.Roles, authz.Options{Caller: noCaller{}, CacheSize: -1})
	if err == nil {
		return
	}
	prefix := fmt.Sprintf("%s: realm %q: ", authz.ErrConfig.Error(), realm.Name)
	for _, e := range unjoin(err) {
		msg := strings.TrimPrefix(e.Error(), prefix)
		msg = authzRolePrefix.ReplaceAllString(msg, "roles[$1]")
		where, rest := locate(msg, ps, fallback)
		if mm := authzRoleIndex.FindStringSubmatch(msg); mm != nil {
			if k, err := strconv.Atoi(mm[1]); err == nil && k < len(permIndex) {
				rest = authzPermRef.ReplaceAllStringFunc(rest, func(ref string) string {
					j, _ := strconv.Atoi(authzPermRef.FindStringSubmatch(ref)[1])
					if j < len(permIndex[k]) {
						return index("permissions", permIndex[k][j])
					}
					return ref
				})
			}
		}
		p.errorf(where.n, where.path, "%s", rest)
	}
}

// role reads one role. The positions it returns are keyed like authz's
// messages without the "roles[i]." prefix ("name", "permissions[0].uri").
func (p *parser) role(n *yaml.Node, path string) (authz.RoleConfig, positions, []int, bool) {
	var role authz.RoleConfig
	var permIndex []int
	ps := positions{}
	m := p.mapping(n, path)
	if m == nil {
		return role, ps, nil, false
	}
	for _, f := range m.fields {
		ps.set(f.name, f.val, join(path, f.name))
	}
	p.labelID(m)
	ok := true
	if v, vp := m.need("name"); v != nil {
		if s, good := p.str(v, vp); good {
			switch {
			case s == "":
				p.errorf(v, vp, "empty role name")
				ok = false
			case s == authz.RoleTrusted:
				p.errorf(v, vp, `role name "trusted" is reserved: the trusted role always exists and may do everything`)
				ok = false
			case !wamp.ValidURI(wamp.URI(s), false, wamp.MatchExact):
				p.errorf(v, vp, "invalid role name %q: no whitespace or '#', no empty components", s)
				ok = false
			default:
				role.Name = s
			}
		} else {
			ok = false
		}
	} else {
		ok = false
	}
	hasPerms, hasAuthz := m.has("permissions"), m.has("authorizer")
	if hasPerms && hasAuthz {
		p.errorf(m.keyNode("authorizer"), path, "a role has either permissions or an authorizer, not both")
		ok = false
	}
	if !p.roleAuthorizer(m, &role, hasAuthz) {
		ok = false
	}
	if v, vp := m.get("permissions"); v != nil {
		if items, good := p.seq(v, vp); good {
			role.Permissions = []authz.Permission{}
			var kept []keptPermission
			for i, it := range items {
				ip := index(vp, i)
				perm, pps, good := p.permission(it, ip)
				if !good {
					continue
				}
				kept = append(kept, keptPermission{perm, pps, it, ip, i})
			}
			for _, k := range p.dropShadowed(kept) {
				ps.nest(fmt.Sprintf("permissions[%d]", len(role.Permissions)), k.n, k.path, k.ps)
				role.Permissions = append(role.Permissions, k.perm)
				permIndex = append(permIndex, k.file)
			}
		}
	}
	if v, vp := m.get("allow-by-default"); v != nil {
		if allow, good := p.boolean(v, vp); good {
			switch {
			case hasPerms || hasAuthz:
				p.warnf(v, vp, "ignored: allow-by-default only applies to a role without permissions or authorizer")
			case allow:
				// Same meaning as Crossbar: every action on every URI.
				role.Permissions = []authz.Permission{{URI: "", Match: wamp.MatchPrefix,
					Allow: authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}}}
				ps.set("permissions[0]", v, vp)
				permIndex = []int{0}
			}
		}
	}
	m.doneLenient("role")
	return role, ps, permIndex, ok
}

// roleAuthorizer reads a role's authorizer keys: the procedure, its realm,
// arity, timeout, cache TTL and the guard on the path to it. It reports
// false when the authorizer URI is invalid.
func (p *parser) roleAuthorizer(m *mapping, role *authz.RoleConfig, hasAuthz bool) bool {
	ok := true
	if v, vp := m.get("authorizer"); v != nil {
		if s, good := p.str(v, vp); good {
			if !wamp.ValidURI(wamp.URI(s), true, wamp.MatchExact) {
				p.errorf(v, vp, "invalid authorizer URI %q: must be a strict URI (components of a-z, 0-9 and _)", s)
				ok = false
			} else {
				role.Authorizer = wamp.URI(s)
			}
		}
	}
	if v, vp := m.get("authorizer-realm"); v != nil {
		if s, good := p.str(v, vp); good {
			role.AuthorizerRealm = wamp.URI(s)
			p.realmRef(s, v, vp)
		}
	}
	if v, vp := m.get("authorizer-args"); v != nil {
		// Tollgate: how many arguments authorize() takes (authz.RoleConfig).
		if n, good := p.integer(v, vp, 3, 4); good {
			if hasAuthz {
				role.AuthorizerArgs = n
			} else {
				p.warnf(m.keyNode("authorizer-args"), vp, "ignored: authorizer-args only applies to a role with an authorizer")
			}
		}
	}
	for _, d := range []struct {
		key      string
		dst      *time.Duration
		unit     time.Duration
		unitName string
	}{{"timeout", &role.Timeout, time.Millisecond, "milliseconds"}, {"cache-ttl", &role.CacheTTL, time.Second, "seconds"}} {
		v, vp := m.get(d.key)
		if v == nil {
			continue
		}
		if dur, good := p.duration(v, vp, d.unit, d.unitName); good {
			*d.dst = dur
			if !hasAuthz {
				p.warnf(m.keyNode(d.key), vp, "ignored: %s only applies to a role with an authorizer", d.key)
			}
		}
	}
	ignored := ""
	if !hasAuthz {
		ignored = "only applies to a role with an authorizer"
	}
	g := p.backendGuard(m, "authorizer", ignored)
	role.MaxInFlight, role.MaxQueued, role.BreakerThreshold, role.BreakerCooldown = g.maxInFlight, g.maxQueued, g.threshold, g.cooldown
	return ok
}

// keptPermission is one parsed permission of a role and where it is.
type keptPermission struct {
	perm authz.Permission
	ps   positions
	n    *yaml.Node
	path string
	file int // index in the file's permission list
}

// dropShadowed removes every permission that a later one of the same role
// replaces (same match and URI): Crossbar keeps the last, and so does
// Tollgate, with a warning at the one that no longer counts.
func (p *parser) dropShadowed(perms []keptPermission) []keptPermission {
	keys := make([]string, len(perms)) // "" for a permission that does not compile
	last := map[string]int{}
	for i, k := range perms {
		if key, ok := authz.PermissionKey(k.perm); ok {
			keys[i], last[key] = key, i
		}
	}
	var out []keptPermission
	for i, k := range perms {
		if key := keys[i]; key != "" && last[key] != i {
			later := perms[last[key]]
			p.warnf(k.n, k.path, "ignored: permission for %q is given again at %s, which replaces it (Crossbar keeps the last one too)", k.perm.URI, later.path)
			continue
		}
		out = append(out, k)
	}
	return out
}

// permission reads one static permission. The URI and match are kept as
// written: authz applies Crossbar's starred-URI rule when match is absent
// and checks the URI (validateRoles reports its verdict here).
func (p *parser) permission(n *yaml.Node, path string) (authz.Permission, positions, bool) {
	var perm authz.Permission
	ps := positions{}
	m := p.mapping(n, path)
	if m == nil {
		return perm, ps, false
	}
	for _, f := range m.fields {
		ps.set(f.name, f.val, join(path, f.name))
	}
	ok := true
	if uv, up := m.need("uri"); uv != nil {
		perm.URI, ok = p.str(uv, up)
	} else {
		ok = false
	}
	if v, vp := m.get("match"); v != nil {
		if s, good := p.oneOf(v, vp, wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard); good {
			perm.Match = s
		} else {
			ok = false
		}
	} else if ok && strings.HasSuffix(perm.URI, ".") && !strings.Contains(perm.URI, "*") {
		uv, up := m.get("uri")
		p.warnf(uv, up, "%q without match is an exact URI (as in Crossbar), which no URI equals: this permission grants nothing; for every URI under it write match: prefix or %q", perm.URI, perm.URI+"*")
	}
	if p.v1 {
		// Version 1: the four actions are keys of the permission itself.
		for _, a := range []struct {
			key string
			dst *bool
		}{{"call", &perm.Allow.Call}, {"register", &perm.Allow.Register}, {"publish", &perm.Allow.Publish}, {"subscribe", &perm.Allow.Subscribe}} {
			if m.has(a.key) {
				*a.dst = p.optBool(m, a.key)
			}
		}
	}
	if u, up := m.get("uri"); perm.Match == wamp.MatchPrefix && perm.URI != "" && !strings.HasSuffix(perm.URI, ".") {
		// Crossbar's permission prefixes match characters, ours components.
		p.warnf(u, up, "prefix %q matches whole components here but characters in Crossbar, which would also allow %q; end it with \".\" to mean the same in both", perm.URI, perm.URI+"-x")
	}
	if v, vp := m.get("allow"); v != nil {
		if am := p.mapping(v, vp); am != nil {
			perm.Allow.Call = p.optBool(am, "call")
			perm.Allow.Register = p.optBool(am, "register")
			perm.Allow.Publish = p.optBool(am, "publish")
			perm.Allow.Subscribe = p.optBool(am, "subscribe")
			am.done()
		}
	}
	if v, vp := m.get("disclose"); v != nil {
		if dm := p.mapping(v, vp); dm != nil {
			perm.Disclose.Caller = p.optBool(dm, "caller")
			perm.Disclose.Publisher = p.optBool(dm, "publisher")
			dm.done()
		}
	}
	perm.Cache = p.optBool(m, "cache")
	m.ignore("validate", "payload validation is not supported")
	m.done()
	return perm, ps, ok
}

// backendLimits are the guard keys of a dynamic authenticator or a role's
// authorizer, in the library's terms (0: the default; negative: none).
type backendLimits struct {
	maxInFlight, maxQueued, threshold int
	cooldown                          time.Duration
}

// maxBackendLimit bounds the integer guard keys.
const maxBackendLimit = 1_000_000

// backendGuard reads PREFIX-max-in-flight, PREFIX-max-queued and
// PREFIX-breaker: {threshold, cooldown} (PREFIX: authenticator or
// authorizer). In the file 0 means no bound (max-in-flight) or no queue
// (max-queued); absent keys keep the defaults (64, 4 × max-in-flight, no
// breaker, cooldown 5 s). ignored, when set, is why the keys do nothing
// here: each given is then a warning.
func (p *parser) backendGuard(m *mapping, prefix, ignored string) backendLimits {
	var l backendLimits
	for _, k := range []struct {
		key string
		dst *int
	}{{prefix + "-max-in-flight", &l.maxInFlight}, {prefix + "-max-queued", &l.maxQueued}} {
		v, vp := m.get(k.key)
		if v == nil {
			continue
		}
		if n, good := p.integer(v, vp, 0, maxBackendLimit); good {
			*k.dst = n
			if n == 0 {
				*k.dst = -1
			}
			if ignored != "" {
				p.warnf(m.keyNode(k.key), vp, "ignored: %s %s", k.key, ignored)
			}
		}
	}
	key := prefix + "-breaker"
	v, vp := m.get(key)
	if v == nil {
		return l
	}
	bm := p.mapping(v, vp)
	if bm == nil {
		return l
	}
	if tv, tp := bm.need("threshold"); tv != nil {
		l.threshold, _ = p.integer(tv, tp, 1, maxBackendLimit)
	}
	if cv, cp := bm.get("cooldown"); cv != nil {
		l.cooldown, _ = p.duration(cv, cp, time.Millisecond, "milliseconds")
	}
	bm.done()
	if ignored != "" {
		p.warnf(m.keyNode(key), vp, "ignored: %s %s", key, ignored)
	}
	return l
}
