package config

import (
	"fmt"
	"math"
	"net/textproto"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
)

// transport reads one item of transports: websocket, rawsocket, web or
// universal.
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
	if v, vp := m.get("auth_headers"); v != nil {
		ws.Options.AuthHeaders = p.authHeaders(v, vp)
	}
	if v, vp := m.get("cookie"); v != nil {
		ws.Cookie = p.cookie(v, vp)
		p.warnf(m.keyNode("cookie"), vp, "ignored: cookie tracking is not supported yet")
	}
	m.done()
	return ws
}

// authHeaders reads an allow-list of WebSocket upgrade headers for the
// authenticator and authorizer (a websocket item's or the worker
// options' auth_headers): header names, case-insensitive, each once, or
// "*". The result is non-nil (an empty list means none).
func (p *parser) authHeaders(n *yaml.Node, path string) []string {
	items, ok := p.seq(n, path)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for i, it := range items {
		ip := index(path, i)
		s, ok := p.str(it, ip)
		if !ok {
			continue
		}
		if err := websocket.CheckHeaderName(s); err != nil {
			p.errorf(it, ip, "%v", err)
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(s)
		if seen[k] {
			p.errorf(it, ip, "header %q listed twice (names are case-insensitive)", s)
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
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
