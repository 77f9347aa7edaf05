package config

import (
	"math"
	"path/filepath"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Crossbar's patterns for item ids, web paths and cookie names.
var (
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{2,63}$`)
	webPath       = regexp.MustCompile(`^([a-z0-9A-Z_\-]+|/)$`)
	cookieName    = regexp.MustCompile(`^[a-z][a-z0-9_]+$`)
	envPortRef    = regexp.MustCompile(`^\$([a-zA-Z_][a-zA-Z0-9_]*)$`)
	envSecretRef  = regexp.MustCompile(`^\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}$`)
	maxRawMessage = int64(16 << 20)
	maxWSMessage  = int64(64 << 20)
)

// walk state shared by the checks that look across the file.
type refs struct {
	realms    map[string]bool
	roles     map[string]bool // defined on any realm
	roleRefs  []roleRef
	realmRefs []roleRef
	endpoints map[string]string // listen address → path of the first transport using it
}

type roleRef struct {
	name string
	n    *yaml.Node
	path string
}

func (p *parser) top(n *yaml.Node, c *Config) {
	m := p.mapping(n, "")
	if m == nil {
		return
	}
	m.get("$schema") // documentation only
	const v1Note = "read as Crossbar version 1, with its permissions converted as `crossbar upgrade` converts them ({uri, publish, subscribe, call, register} → {uri, allow}); run `crossbar upgrade` to write the file as version 2"
	if v, path := m.get("version"); v == nil {
		p.v1 = true
		p.warnf(m.n, "", "no version key: "+v1Note)
	} else if ver, ok := p.integer(v, path, 0, math.MaxInt32); ok && ver != 2 {
		switch {
		case ver == 1:
			p.v1 = true
			p.warnf(v, path, "version 1: "+v1Note)
		case ver < 1:
			p.errorf(v, path, "config version %d is not a Crossbar config version (1 or 2)", ver)
		default:
			p.errorf(v, path, "config version %d is not supported: only versions 1 and 2 are", ver)
		}
	}
	m.ignore("controller", "Tollgate has no node controller")
	r := &refs{realms: map[string]bool{}, roles: map[string]bool{}, endpoints: map[string]string{}}
	p.cluster(m, c)
	v, path := m.need("workers")
	m.done()
	if v == nil {
		return
	}
	items, ok := p.seq(v, path)
	if !ok {
		return
	}
	routers := 0
	for i, it := range items {
		wp := index(path, i)
		wm := p.mapping(it, wp)
		if wm == nil {
			continue
		}
		tv, tp := wm.need("type")
		if tv == nil {
			continue
		}
		typ, ok := p.str(tv, tp)
		if !ok {
			continue
		}
		if p.workerDisabled(wm, wp) {
			continue
		}
		if typ != "router" {
			p.worker(wm, typ, tv, tp, wp, i, c)
			continue
		}
		routers++
		if routers > 1 {
			p.errorf(tv, tp, "only one router worker is supported: Tollgate runs a single router; move these realms and transports into the first router worker")
			continue
		}
		p.routerWorker(wm, c, r)
	}
	if routers == 0 {
		p.warnf(v, path, "no router worker: nothing is routed (Tollgate runs only the guest workers)")
	}
	p.crossChecks(r)
}

func (p *parser) id(m *mapping) (string, bool) {
	v, path := m.get("id")
	if v == nil {
		return "", false
	}
	s, ok := p.str(v, path)
	if !ok {
		return "", false
	}
	if !idPattern.MatchString(s) {
		p.errorf(v, path, "invalid id %q: must match %s", s, idPattern)
		return "", false
	}
	return s, true
}

// labelID reads the id of a realm or role, which only labels it (the name
// is what routes): a malformed one is warned about, as Crossbar's older
// releases accepted any string there.
func (p *parser) labelID(m *mapping) {
	v, path := m.get("id")
	if v == nil {
		return
	}
	if s, ok := p.str(v, path); ok && !idPattern.MatchString(s) {
		p.warnf(v, path, "ignored: id %q does not match %s (ids only label a realm or role)", s, idPattern)
	}
}

func (p *parser) routerWorker(m *mapping, c *Config, r *refs) {
	p.id(m)
	p.workerOptions(m, c)
	m.ignore("manhole", "Tollgate has no manhole")
	m.ignore("connections", "database connections are not supported")

	if v, path := m.get("realms"); v != nil {
		if items, ok := p.seq(v, path); ok {
			for i, it := range items {
				if realm, ok := p.realm(it, index(path, i), r); ok {
					c.Realms = append(c.Realms, realm)
				}
			}
		}
	}
	if v, path := m.get("transports"); v != nil {
		if items, ok := p.seq(v, path); ok {
			names := map[string]bool{}
			for i, it := range items {
				t, ok := p.transport(it, index(path, i), i, r)
				if !ok {
					continue
				}
				if names[t.Name] {
					p.errorf(it, index(path, i)+".id", "duplicate transport id %q", t.Name)
				}
				names[t.Name] = true
				c.Transports = append(c.Transports, t)
			}
		}
	}
	if v, path := m.get("components"); v != nil {
		if items, ok := p.seq(v, path); ok {
			for i, it := range items {
				p.component(it, index(path, i), r)
			}
		}
	}
	m.done()
	if len(c.Realms) == 0 && len(p.errs) == 0 && servesWAMP(c) {
		p.warnf(m.n, m.path, "no realms: every WAMP session will be refused (Crossbar makes realms optional for routers that only serve web content)")
	}
	if len(c.Transports) == 0 && len(p.errs) == 0 {
		p.warnf(m.n, m.path, "no transports: the router listens nowhere")
	}
	p.checkAuthTimeouts(c.Limits.HelloTimeout)
}

// servesWAMP reports whether any transport accepts WAMP connections.
func servesWAMP(c *Config) bool {
	for _, t := range c.Transports {
		if len(t.WebSocket) > 0 || t.RawSocket != nil {
			return true
		}
	}
	return false
}

// component validates an embedded (Python) component and warns that it
// is not run: Tollgate cannot host Python code.
func (p *parser) component(n *yaml.Node, path string, r *refs) {
	m := p.mapping(n, path)
	if m == nil {
		return
	}
	p.id(m)
	name := ""
	if v, vp := m.need("type"); v != nil {
		if typ, ok := p.oneOf(v, vp, "class", "function"); ok {
			key := "classname"
			if typ == "function" {
				key = "callbacks"
				m.need(key)
			} else if cv, cp := m.need(key); cv != nil {
				name, _ = p.str(cv, cp)
			}
		}
	}
	m.get("callbacks")
	m.get("classname")
	if v, vp := m.need("realm"); v != nil {
		if s, ok := p.str(v, vp); ok {
			r.realmRefs = append(r.realmRefs, roleRef{s, v, vp})
		}
	}
	if v, vp := m.get("role"); v != nil {
		if s, ok := p.str(v, vp); ok {
			r.roleRefs = append(r.roleRefs, roleRef{s, v, vp})
		}
	}
	m.get("extra")
	m.get("references")
	m.get("transport")
	m.done()
	if name != "" {
		name = " " + strconv.Quote(name)
	}
	p.warnf(m.n, path, "ignored: embedded component%s is not run (Tollgate does not host Python components); run it as a client on a transport that gives it its role", name)
}

// optBool reads an optional boolean key (absent = false).
func (p *parser) optBool(m *mapping, key string) bool {
	v, path := m.get(key)
	if v == nil {
		return false
	}
	b, _ := p.boolean(v, path)
	return b
}

// optStr reads an optional string key (absent = "").
func (p *parser) optStr(m *mapping, key string) string {
	v, path := m.get(key)
	if v == nil {
		return ""
	}
	s, _ := p.str(v, path)
	return s
}

// abs resolves a path from the config against the config's directory.
func (p *parser) abs(s string) string {
	if filepath.IsAbs(s) || p.dir == "" {
		return s
	}
	return filepath.Join(p.dir, s)
}

// crossChecks runs the checks that need the whole file: references to
// realms and roles from auth sections and components.
func (p *parser) crossChecks(r *refs) {
	for _, ref := range append(r.realmRefs, p.pendingRealms...) {
		if ref.name != "" && !r.realms[ref.name] {
			p.errorf(ref.n, ref.path, "realm %q is not defined in this config", ref.name)
		}
	}
	for _, ref := range append(r.roleRefs, p.pendingRoles...) {
		if ref.name == "" {
			p.errorf(ref.n, ref.path, "empty role name")
			continue
		}
		if ref.name != "trusted" && !r.roles[ref.name] {
			p.warnf(ref.n, ref.path, "role %q is not defined on any realm: sessions given this role will be refused", ref.name)
		}
	}
}
