package router

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
)

// The WebSocket upgrade fast path. net/http costs a WebSocket session a
// goroutine, a 4 KiB bufio.Reader and Writer, a MIME header map of every
// request header and the request's contexts (~40 allocations) before
// the upgrade hands the connection over. A plain (non-TLS) connection's
// upgrade request is read and parsed here instead, into only what the
// upgrade uses; anything this parser does not take as a plain upgrade to
// a WebSocket path it can serve (other paths, refusals, odd syntax, a
// head over 4 KiB) goes to net/http with the bytes read so far replayed,
// so that refusals and every other HTTP behaviour stay net/http's and
// websocket.Accept's.

// wsEndpoint is one WebSocket path's options and auth methods, shared by
// its net/http handler and the fast path.
type wsEndpoint struct {
	so   websocket.ServerOptions
	auth map[string]auth.Authenticator
}

func (r *Router) wsEndpoint(o WebSocketOptions) (*wsEndpoint, error) {
	so := websocket.ServerOptions{
		Serializers:           o.Serializers,
		MaxMessageSize:        o.MaxMessageSize,
		PreJoinMaxMessageSize: o.PreJoinMaxMessageSize,
		AllowedOrigins:        o.AllowedOrigins,
		PingInterval:          o.PingInterval,
		AuthHeaders:           o.AuthHeaders,
	}
	if so.AuthHeaders == nil {
		so.AuthHeaders = r.opts.AuthHeaders
	}
	if err := so.Validate(); err != nil {
		return nil, err
	}
	authenticators, err := r.authenticators(o.Auth)
	if err != nil {
		return nil, err
	}
	return &wsEndpoint{so: so, auth: authenticators}, nil
}

// upgradeRoutes tells which request paths the fast path may upgrade: the
// same choice httpMux makes (an exact WebSocket path; else, unless an
// exact non-WebSocket path or an HTTP mount holds it, the "" endpoint).
type upgradeRoutes struct {
	ws     map[string]*wsEndpoint // by path as httpMux keys it
	other  map[string]bool        // metrics and health paths
	mounts []string
}

func (u *upgradeRoutes) endpoint(path string) *wsEndpoint {
	if ep := u.ws[path]; ep != nil {
		return ep
	}
	if u.other[path] {
		return nil
	}
	for _, m := range u.mounts {
		if mounted(path, m) {
			return nil
		}
	}
	return u.ws[""]
}

// maxFastHead bounds the request head the fast path reads; a larger one
// goes to net/http, whose limits apply.
const maxFastHead = 4 << 10

var headBufs = sync.Pool{New: func() any { b := make([]byte, maxFastHead); return &b }}

// fastUpgrade reads nc's request head and serves the upgrade, or hands nc
// to net/http (through httpLn) with what it read replayed.
func (r *Router) fastUpgrade(e *edgeConn, nc net.Conn, routes *upgradeRoutes, httpLn *chanListener) {
	bp := headBufs.Get().(*[]byte)
	defer headBufs.Put(bp) // what outlives this call is copied out of it
	buf := *bp
	n, end := 0, -1
	nc.SetReadDeadline(e.deadline)
	for end < 0 && n < len(buf) {
		m, err := nc.Read(buf[n:])
		if err != nil {
			nc.Close()
			return
		}
		// the end may straddle two reads: search from 3 bytes back
		end = bytes.Index(buf[max(0, n-3):n+m], []byte("\r\n\r\n"))
		if end >= 0 {
			end += max(0, n-3) + 4
		}
		n += m
	}
	nc.SetReadDeadline(time.Time{})
	var (
		req *http.Request
		ep  *wsEndpoint
	)
	if end > 0 {
		req = parseUpgrade(string(buf[:end]))
	}
	if req != nil {
		ep = routes.endpoint(req.URL.Path)
	}
	if ep == nil {
		r.toHTTP(nc, buf[:n], httpLn)
		return
	}
	req.RemoteAddr = nc.RemoteAddr().String()
	var early []byte // frames a client sent right after its request
	if end < n {
		early = bytes.Clone(buf[end:n])
	}
	tc, err := websocket.AcceptConn(nc, req, early, ep.so)
	if errors.Is(err, websocket.ErrRefused) {
		r.toHTTP(nc, buf[:n], httpLn) // net/http and Accept word the refusal
		return
	}
	if err != nil {
		r.log.Debug("websocket upgrade failed", "remote", req.RemoteAddr, "err", err)
		return
	}
	go r.serveConn(context.WithValue(context.Background(), edgeKey{}, e), tc, ep.auth)
}

// toHTTP hands nc to net/http with head (read off nc already) replayed.
func (r *Router) toHTTP(nc net.Conn, head []byte, httpLn *chanListener) {
	pc := &peekedConn{Conn: nc}
	pc.unread = bytes.Clone(head)
	if !httpLn.push(pc) {
		nc.Close()
	}
}

// parseUpgrade parses head (a request line and headers, ending in an
// empty line) into the request websocket.AcceptConn takes, or returns nil
// for anything but a plain HTTP/1.1 GET with an origin-form target whose
// path needs no unescaping, a valid Host, and header lines net/http
// would read the same way; nil sends the request to net/http.
func parseUpgrade(head string) *http.Request {
	line, rest, _ := strings.Cut(head, "\r\n")
	target, ok := strings.CutPrefix(line, "GET ")
	if !ok {
		return nil
	}
	target, ok = strings.CutSuffix(target, " HTTP/1.1")
	if !ok || target == "" || target[0] != '/' || strings.ContainsAny(target, " %#\t") {
		return nil
	}
	path, query, _ := strings.Cut(target, "?")
	rest = strings.TrimSuffix(rest, "\r\n\r\n")
	lines := strings.Count(rest, "\r\n") + 1
	req := &http.Request{Method: http.MethodGet, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		URL: &url.URL{Path: path, RawQuery: query}, RequestURI: target, Header: make(http.Header, lines)}
	vals := make([]string, 0, lines) // every header's values, one array
	// strings.SplitSeq's lines, without the iterator's allocation
	for more := true; more; {
		var line string
		line, rest, more = strings.Cut(rest, "\r\n")
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || websocket.CheckHeaderName(k) != nil || strings.ContainsAny(v, "\r\n\x00") {
			return nil
		}
		k = http.CanonicalHeaderKey(k)
		switch k {
		case "Content-Length", "Transfer-Encoding", "Expect", "Host":
			if k != "Host" || req.Host != "" {
				return nil // a body, or a second Host: net/http's rules
			}
		}
		v = strings.Trim(v, " \t")
		if k == "Host" {
			req.Host = v
			continue // net/http moves Host out of the header map
		}
		if vs := req.Header[k]; len(vs) > 0 {
			req.Header[k] = append(vs, v) // a repeated header: its own array
			continue
		}
		vals = append(vals, v)
		req.Header[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if !validHost(req.Host) {
		return nil
	}
	return req
}

// validHost accepts the hosts the fast path serves: names, IPv4 and
// bracketed IPv6 addresses, with a port; anything else goes to net/http.
func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := range len(h) {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return false
		}
	}
	return true
}

// fastUpgradable reports whether the fast path may take nc: plain TCP
// only (a TLS connection's state and ALPN stay net/http's business).
func fastUpgradable(nc net.Conn) bool {
	_, tc := unwrap(nc)
	return tc == nil
}
