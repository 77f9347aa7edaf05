package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// endpoint reads where a transport listens: tcp (port, interface, IP
// version, TLS) or unix (socket path).
func (p *parser) endpoint(n *yaml.Node, path string, e *Endpoint, r *refs) {
	m := p.mapping(n, path)
	if m == nil {
		return
	}
	tv, tp := m.need("type")
	if tv == nil {
		m.done()
		return
	}
	typ, ok := p.str(tv, tp)
	if !ok {
		return
	}
	switch typ {
	case "tcp":
		e.Type = "tcp"
		if v, vp := m.need("port"); v != nil {
			if port, ok := p.port(v, vp); ok {
				e.Port = port
			}
		}
		m.unsupported("portrange", "use a single port (0 picks a free one)")
		if v, vp := m.get("interface"); v != nil {
			if s, ok := p.str(v, vp); ok {
				if s == "" {
					p.errorf(v, vp, "empty interface: leave it out to listen on all interfaces")
				}
				e.Interface = s
			}
		}
		if v, vp := m.get("version"); v != nil {
			if ver, ok := p.integer(v, vp, 4, 6); ok {
				if ver == 5 {
					p.errorf(v, vp, "must be 4 or 6, got 5")
				}
				e.Version = ver
			}
		}
		if v, vp := m.get("backlog"); v != nil {
			if _, ok := p.integer(v, vp, 1, 65535); ok {
				p.warnf(v, vp, "ignored: the listen backlog is set by the operating system")
			}
		}
		if v, vp := m.get("shared"); v != nil {
			if shared, ok := p.boolean(v, vp); ok && shared {
				p.warnf(v, vp, "ignored: Tollgate runs one router process, so the port is never shared")
			}
		}
		if v, vp := m.get("user_timeout"); v != nil {
			if _, ok := p.integer(v, vp, 0, 65535); ok {
				p.warnf(v, vp, "ignored: TCP_USER_TIMEOUT is not set")
			}
		}
		if v, vp := m.get("tls"); v != nil {
			e.TLS = p.tls(v, vp)
		}
		if e.Port != 0 {
			addr := fmt.Sprintf("%s|%d", e.Interface, e.Port)
			if prev, dup := r.endpoints[addr]; dup {
				p.errorf(n, path, "port %d is already used by %s", e.Port, prev)
			} else {
				r.endpoints[addr] = path
			}
		}
	case "unix":
		e.Type = "unix"
		if v, vp := m.need("path"); v != nil {
			if s, ok := p.str(v, vp); ok {
				if s == "" {
					p.errorf(v, vp, "empty socket path")
				} else {
					e.Path = p.abs(s)
					if prev, dup := r.endpoints[e.Path]; dup {
						p.errorf(v, vp, "socket %q is already used by %s", s, prev)
					} else {
						r.endpoints[e.Path] = path
					}
				}
			}
		}
		if v, vp := m.get("backlog"); v != nil {
			if _, ok := p.integer(v, vp, 1, 65535); ok {
				p.warnf(v, vp, "ignored: the listen backlog is set by the operating system")
			}
		}
	case "twisted", "onion":
		p.errorf(tv, tp, "endpoint type %q is not supported by Tollgate (supported: tcp, unix)", typ)
		return
	default:
		p.errorf(tv, tp, "unknown endpoint type %q (supported: tcp, unix)", typ)
		return
	}
	m.done()
}

// port reads a TCP port: an integer 0-65535 or "$NAME" naming an
// environment variable that holds one.
func (p *parser) port(n *yaml.Node, path string) (int, bool) {
	n = p.resolve(n)
	if n == nil {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		if mm := envPortRef.FindStringSubmatch(n.Value); mm != nil {
			val, set := p.lookupEnv(mm[1])
			if !set {
				p.errorf(n, path, "environment variable %s is not set", mm[1])
				return 0, false
			}
			port, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || port < 0 || port > 65535 {
				p.errorf(n, path, "environment variable %s must hold an integer 0-65535, got %q", mm[1], val)
				return 0, false
			}
			return port, true
		}
	}
	return p.integer(n, path, 0, 65535)
}

func (p *parser) tls(n *yaml.Node, path string) *TLS {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	t := &TLS{}
	file := func(key string, dst *string, at *position) {
		v, vp := m.need(key)
		if v == nil {
			return
		}
		if s, ok := p.str(v, vp); ok {
			if s == "" {
				p.errorf(v, vp, "empty file name")
				return
			}
			*dst = p.abs(s)
			*at = position{v.Line, v.Column, vp}
		}
	}
	file("key", &t.Key, &t.at.key)
	file("certificate", &t.Certificate, &t.at.cert)
	files := func(key string, dst *[]string, at *[]position) {
		v, vp := m.get(key)
		if v == nil {
			return
		}
		items, ok := p.seq(v, vp)
		if !ok {
			return
		}
		for i, it := range items {
			ip := index(vp, i)
			if s, ok := p.str(it, ip); ok && s != "" {
				*dst = append(*dst, p.abs(s))
				*at = append(*at, position{it.Line, it.Column, ip})
			} else if ok {
				p.errorf(it, ip, "empty file name")
			}
		}
	}
	files("chain_certificates", &t.ChainCertificates, &t.at.chain)
	files("ca_certificates", &t.CACertificates, &t.at.ca)
	m.ignore("dhparam", "Go's TLS uses ECDHE, not DH parameters")
	m.ignore("ciphers", "Go's TLS cipher suites are used (TLS 1.2 and later)")
	m.done()
	return t
}

func (p *parser) cookie(n *yaml.Node, path string) *Cookie {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	c := &Cookie{Name: "cbtid", Length: 24, MaxAge: 604800}
	if v, vp := m.get("name"); v != nil {
		if s, ok := p.str(v, vp); ok {
			if cookieName.MatchString(s) {
				c.Name = s
			} else {
				p.errorf(v, vp, "invalid cookie name %q: must match %s", s, cookieName)
			}
		}
	}
	if v, vp := m.get("length"); v != nil {
		if l, ok := p.integer(v, vp, 6, 64); ok {
			c.Length = l
		}
	}
	if v, vp := m.get("max_age"); v != nil {
		if a, ok := p.integer(v, vp, 1, 86400*360*10); ok {
			c.MaxAge = a
		}
	}
	c.Secure = p.optBool(m, "secure")
	c.HTTPStrict = p.optBool(m, "http_strict")
	if v, vp := m.get("same_site"); v != nil {
		c.SameSite, _ = p.oneOf(v, vp, "Strict", "Lax", "None")
	}
	if v, vp := m.get("store"); v != nil {
		if sm := p.mapping(v, vp); sm != nil {
			if tv, tp := sm.need("type"); tv != nil {
				c.Store, _ = p.oneOf(tv, tp, "memory", "file", "database")
			}
			switch c.Store {
			case "file":
				if fv, fp := sm.need("filename"); fv != nil {
					p.str(fv, fp)
				}
				p.optBool(sm, "purge_on_startup")
			case "database":
				if fv, fp := sm.need("path"); fv != nil {
					p.str(fv, fp)
				}
				p.optBool(sm, "purge_on_startup")
				if mv, mp := sm.get("maxsize"); mv != nil {
					p.integer(mv, mp, 1, math.MaxInt32)
				}
				p.optBool(sm, "readonly")
				p.optBool(sm, "sync")
			}
			if c.Store != "" {
				sm.done()
			}
		}
	}
	m.done()
	return c
}
