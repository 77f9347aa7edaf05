package config

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/router"
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
	p.workerOptions(m, &c.Limits)
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

func (p *parser) transport(n *yaml.Node, path string, i int, r *refs) (Transport, bool) {
	t := Transport{Name: fmt.Sprintf("transport%d", i+1)}
	m := p.mapping(n, path)
	if m == nil {
		return t, false
	}
	if id, ok := p.id(m); ok {
		t.Name = id
	}
	tv, tp := m.need("type")
	if tv == nil {
		return t, false
	}
	typ, ok := p.str(tv, tp)
	if !ok {
		return t, false
	}
	t.Type = typ
	switch typ {
	case "websocket", "rawsocket", "web", "universal":
	case "mqtt", "flashpolicy", "websocket.testee", "stream.testee":
		p.errorf(tv, tp, "transport type %q is not supported by Tollgate (supported: websocket, rawsocket, web, universal)", typ)
		return t, false
	default:
		p.errorf(tv, tp, "unknown transport type %q (supported: websocket, rawsocket, web, universal)", typ)
		return t, false
	}
	before, tlsAuth := len(p.errs), len(p.tlsAuth)
	if ev, ep := m.need("endpoint"); ev != nil {
		p.endpoint(ev, ep, &t.Endpoint, r)
	}
	switch typ {
	case "websocket":
		ws := p.webSocket(m, path)
		t.WebSocket = map[string]WebSocket{"": ws}
	case "rawsocket":
		t.RawSocket = p.rawSocket(m, path)
	case "web":
		t.WebSocket = map[string]WebSocket{}
		p.webPaths(m, path, &t)
	case "universal":
		t.WebSocket = map[string]WebSocket{}
		if v, vp := m.get("rawsocket"); v != nil {
			if sm := p.mapping(v, vp); sm != nil {
				p.noEndpoint(sm)
				p.id(sm)
				t.RawSocket = p.rawSocket(sm, vp)
			}
		}
		if v, vp := m.get("websocket"); v != nil {
			if sm := p.mapping(v, vp); sm != nil {
				sm.each(func(key string, kn, val *yaml.Node, kp string) {
					if !p.webPathKey(kn, key, kp) {
						return
					}
					if wm := p.mapping(val, kp); wm != nil {
						p.noEndpoint(wm)
						p.id(wm)
						if tv, tp := wm.get("type"); tv != nil {
							p.oneOf(tv, tp, "websocket")
						}
						t.WebSocket[pathKey(key)] = p.webSocket(wm, kp)
					}
				})
			}
		}
		if v, vp := m.get("web"); v != nil {
			if wm := p.mapping(v, vp); wm != nil {
				p.noEndpoint(wm)
				p.webPaths(wm, vp, &t)
			}
		}
		m.unsupported("mqtt", "MQTT is not implemented")
		if t.RawSocket == nil && len(t.WebSocket) == 0 && len(t.Metrics) == 0 && len(t.Web) == 0 {
			p.errorf(m.n, path, "universal transport serves nothing: add rawsocket, websocket or web")
		}
	}
	p.checkTLSAuth(p.tlsAuth[tlsAuth:], &t.Endpoint)
	m.done()
	return t, len(p.errs) == before
}

// serves reports whether t already serves the HTTP path pk.
func (t *Transport) serves(pk string) bool {
	_, ws := t.WebSocket[pk]
	return ws || slices.Contains(t.Metrics, pk) || slices.ContainsFunc(t.Web, func(w WebService) bool { return w.Path == pk })
}

// pathKey maps a web path to the router.Transport WebSocket key.
func pathKey(key string) string {
	if key == "/" {
		return "/"
	}
	return "/" + key
}

func (p *parser) webPathKey(kn *yaml.Node, key, path string) bool {
	if !webPath.MatchString(key) {
		p.errorf(kn, path, "invalid web path %q: must be \"/\" or match %s (one path component)", key, webPath)
		return false
	}
	return true
}

func (p *parser) noEndpoint(m *mapping) {
	if v, vp := m.get("endpoint"); v != nil {
		p.errorf(m.keyNode("endpoint"), vp, "a universal transport's sub-items share its endpoint and must not have their own")
	}
}

// webPaths reads a web transport's (or universal web's) paths and options
// into t.WebSocket and t.Metrics.
func (p *parser) webPaths(m *mapping, path string, t *Transport) {
	if v, vp := m.get("options"); v != nil {
		if om := p.mapping(v, vp); om != nil {
			for _, k := range []string{"access_log", "display_tracebacks", "hsts", "hsts_max_age", "client_timeout"} {
				om.ignore(k, "web transport option "+k+" is not supported")
			}
			om.done()
		}
	}
	v, vp := m.need("paths")
	if v == nil {
		return
	}
	pm := p.mapping(v, vp)
	if pm == nil {
		return
	}
	pm.each(func(key string, kn, val *yaml.Node, kp string) {
		if !p.webPathKey(kn, key, kp) {
			return
		}
		sm := p.mapping(val, kp)
		if sm == nil {
			return
		}
		tv, tp := sm.need("type")
		if tv == nil {
			return
		}
		typ, ok := p.str(tv, tp)
		if !ok {
			return
		}
		p.id(sm)
		pk := pathKey(key)
		if t.serves(pk) {
			p.errorf(kn, kp, "path %q is already served by this transport", key)
			return
		}
		if typ != "websocket" && typ != "metrics" {
			p.webService(sm, typ, tv, tp, pk, kn, kp, t)
			return
		}
		if typ == "metrics" {
			// Tollgate's extension: Prometheus metrics (docs/metrics.md).
			sm.get("type")
			sm.done()
			t.Metrics = append(t.Metrics, pk)
			return
		}
		t.WebSocket[pk] = p.webSocket(sm, kp)
	})
	if len(pm.fields) == 0 {
		p.errorf(v, vp, "no paths: add at least one path service")
	}
}

// webSocket reads a websocket transport, path service or universal
// websocket item (the keys common to all three).
func (p *parser) webSocket(m *mapping, path string) WebSocket {
	var ws WebSocket
	m.get("type") // checked by the caller
	m.ignore("url", "the URL is only used by Crossbar for its status page")
	m.ignore("debug", "use --log-level debug")
	ws.Options.Serializers = p.serializers(m, true)
	if v, vp := m.get("options"); v != nil {
		if om := p.mapping(v, vp); om != nil {
			p.webSocketOptions(om, &ws.Options)
		}
	}
	if v, vp := m.get("auth"); v != nil {
		ws.Options.Auth = p.auth(v, vp)
	}
	if v, vp := m.get("cookie"); v != nil {
		ws.Cookie = p.cookie(v, vp)
		p.warnf(m.keyNode("cookie"), vp, "ignored: cookie tracking is not supported yet")
	}
	m.done()
	return ws
}

func (p *parser) rawSocket(m *mapping, path string) *router.RawSocketOptions {
	rs := &router.RawSocketOptions{}
	m.ignore("debug", "use --log-level debug")
	rs.Serializers = p.serializers(m, false)
	if v, vp := m.get("serializer"); v != nil {
		// Crossbar's older form: one serializer, as a string.
		if s, ok := p.str(v, vp); ok {
			if rs.Serializers != nil {
				p.errorf(v, vp, "give serializers or serializer, not both")
			} else if p.serializerKnown(v, vp, s) {
				rs.Serializers = []string{s}
			}
		}
	}
	maxSize := func(sv *yaml.Node, sp string) {
		if size, ok := p.integer(sv, sp, 512, maxRawMessage); ok {
			rs.MaxMessageSize = size
		}
	}
	if sv, sp := m.get("max_message_size"); sv != nil {
		maxSize(sv, sp) // Crossbar accepts it on the transport itself too
	}
	if v, vp := m.get("options"); v != nil {
		if om := p.mapping(v, vp); om != nil {
			if sv, sp := om.get("max_message_size"); sv != nil {
				maxSize(sv, sp)
			}
			p.preJoinSize(om, maxRawMessage, &rs.PreJoinMaxMessageSize)
			om.done()
		}
	}
	if v, vp := m.get("auth"); v != nil {
		rs.Auth = p.auth(v, vp)
	}
	m.done()
	return rs
}

func (p *parser) serializers(m *mapping, ws bool) []string {
	v, path := m.get("serializers")
	if v == nil {
		return nil
	}
	items, ok := p.seq(v, path)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		p.errorf(v, path, "empty serializer list: leave it out to allow json, msgpack and cbor")
		return nil
	}
	var (
		out         []string
		unsupported []at
	)
	seen := map[string]bool{}
	for i, it := range items {
		ip := index(path, i)
		s, ok := p.str(it, ip)
		if !ok {
			continue
		}
		switch s {
		case "json", "msgpack", "cbor":
			if seen[s] {
				p.errorf(it, ip, "serializer %q listed twice", s)
				continue
			}
			seen[s] = true
			out = append(out, s)
		case "ubjson", "flatbuffers":
			unsupported = append(unsupported, at{it, ip})
		default:
			p.errorf(it, ip, "unknown serializer %q (supported: json, msgpack, cbor)", s)
		}
	}
	for _, u := range unsupported {
		if len(out) == 0 {
			p.errorf(u.n, u.path, "serializer %q is not supported by Tollgate (supported: json, msgpack, cbor)", u.n.Value)
		} else {
			p.warnf(u.n, u.path, "skipped: serializer %q is not supported by Tollgate: clients that speak only %s cannot connect (the others are served)", u.n.Value, u.n.Value)
		}
	}
	return out
}

// serializerKnown reports whether s names a serializer Tollgate speaks,
// reporting it otherwise.
func (p *parser) serializerKnown(n *yaml.Node, path, s string) bool {
	switch s {
	case "json", "msgpack", "cbor":
		return true
	case "ubjson", "flatbuffers":
		p.errorf(n, path, "serializer %q is not supported by Tollgate (supported: json, msgpack, cbor)", s)
	default:
		p.errorf(n, path, "unknown serializer %q (supported: json, msgpack, cbor)", s)
	}
	return false
}

// Crossbar WebSocket options Tollgate accepts without honouring them, and why.
var ignoredWebSocketOptions = []struct{ key, why string }{
	{"max_frame_size", "frames are limited only through max_message_size"},
	{"auto_ping_restart_on_any_traffic", "pings are sent every auto_ping_interval whatever other traffic flows"},
	{"enable_hixie76", "only RFC 6455 is spoken"},
	{"auto_fragment_size", "outgoing messages are not fragmented"},
	{"auto_ping_timeout", "a ping not answered before the next one closes the connection"},
	{"auto_ping_size", "pings carry no payload"},
	{"allow_null_origin", "the Origin check follows allowed_origins only"},
	{"external_port", "not needed: the Origin check compares hosts"},
	{"enable_hybi10", "only RFC 6455 is spoken"},
	{"enable_rfc6455", "RFC 6455 is always on"},
	{"open_handshake_timeout", "the HELLO timeout bounds the opening phase"},
	{"close_handshake_timeout", "the close handshake has a fixed timeout"},
	{"enable_webstatus", "there is no status page"},
	{"validate_utf8", "text frames are always validated"},
	{"mask_server_frames", "server frames are never masked (RFC 6455)"},
	{"require_masked_client_frames", "client frames must always be masked (RFC 6455)"},
	{"apply_mask", "masking follows RFC 6455"},
	{"fail_by_drop", "protocol errors close the connection"},
	{"echo_close_codereason", "close codes are not echoed"},
	{"tcp_nodelay", "TCP_NODELAY is always on"},
	{"enable_flash_policy", "Flash is not supported"},
	{"flash_policy", "Flash is not supported"},
	{"compression", "permessage-deflate is not enabled"},
	{"require_websocket_subprotocol", "a WAMP subprotocol is always required"},
	{"show_server_version", "the server version is never shown"},
}

func (p *parser) webSocketOptions(m *mapping, o *router.WebSocketOptions) {
	if v, vp := m.get("max_message_size"); v != nil {
		if size, ok := p.integer(v, vp, 1, maxWSMessage); ok {
			o.MaxMessageSize = size
		}
	}
	p.preJoinSize(m, maxWSMessage, &o.PreJoinMaxMessageSize)
	if v, vp := m.get("auto_ping_interval"); v != nil {
		if ms, ok := p.millis(v, vp); ok {
			o.PingInterval = time.Duration(ms) * time.Millisecond
		}
	}
	if v, vp := m.get("allowed_origins"); v != nil {
		if origins, ok := p.strList(v, vp); ok {
			o.AllowedOrigins = origins
		}
	}
	for _, k := range []string{"open_handshake_timeout", "close_handshake_timeout", "auto_ping_timeout"} {
		if v, vp := m.get(k); v != nil {
			p.millis(v, vp)
		}
	}
	for _, ig := range ignoredWebSocketOptions {
		m.ignore(ig.key, ig.why)
	}
	m.done()
}

// millis reads a duration in milliseconds with Crossbar's rule: 0 or >= 1000.
func (p *parser) millis(n *yaml.Node, path string) (int, bool) {
	ms, ok := p.integer(n, path, 0, math.MaxInt32)
	if ok && ms != 0 && ms < 1000 {
		p.errorf(n, path, "is in milliseconds: %d is too small (use 0 or at least 1000)", ms)
		return 0, false
	}
	return ms, ok
}

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

// abs resolves a path from the config against the config's directory.
func (p *parser) abs(s string) string {
	if filepath.IsAbs(s) || p.dir == "" {
		return s
	}
	return filepath.Join(p.dir, s)
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
