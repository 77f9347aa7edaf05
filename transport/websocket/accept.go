package websocket

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// ServerOptions configures Accept. The zero value accepts every codec,
// batched or not, from any origin, with a 16 MiB receive limit and no
// keep-alive pings.
type ServerOptions struct {
	// Serializers allowed, by codec name ("json", "msgpack", "cbor");
	// empty means all. Each allows wamp.2.<name> and wamp.2.<name>.batched.
	Serializers []string
	// MaxMessageSize bounds a received WebSocket message (a whole batch
	// when batched) in bytes once the session has joined. Default 16 MiB.
	MaxMessageSize int
	// PreJoinMaxMessageSize bounds a received message until the router
	// calls Conn.Joined (after WELCOME); the limit in force is the smaller
	// of the two. Default transport.DefaultPreJoinMaxMessageSize (64 KiB).
	PreJoinMaxMessageSize int
	// AllowedOrigins are host patterns (path.Match syntax, matched case
	// insensitively against the Origin header's host, or against
	// "scheme://host" if the pattern contains "://"). Empty allows any
	// origin; a request from the same host is always allowed.
	AllowedOrigins []string
	// PingInterval sends a WebSocket ping this often and closes the
	// connection if its pong does not come back within the next interval.
	// 0 disables pings.
	PingInterval time.Duration
	// AuthHeaders names the upgrade request headers kept in
	// transport.Info.HTTPHeaders, which dynamic authenticators and
	// authorizers receive (case-insensitive). Empty keeps none: headers
	// are client-chosen and carry cookies and credentials. "*" keeps all
	// but Cookie, Authorization and Proxy-Authorization, which are kept
	// only when listed by name.
	AuthHeaders []string
}

// Validate reports unknown serializer names and malformed origin patterns.
// Accept checks this too; call it at startup to fail early.
func (o ServerOptions) Validate() error {
	if _, err := allowedCodecs(o.Serializers); err != nil {
		return err
	}
	for _, p := range o.AllowedOrigins {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("websocket: bad origin pattern %q: %w", p, err)
		}
	}
	if o.MaxMessageSize < 0 || o.PreJoinMaxMessageSize < 0 {
		return fmt.Errorf("websocket: negative message size limit (%d, pre-join %d)", o.MaxMessageSize, o.PreJoinMaxMessageSize)
	}
	if o.PingInterval < 0 {
		return fmt.Errorf("websocket: negative ping interval %v", o.PingInterval)
	}
	for _, h := range o.AuthHeaders {
		if err := CheckHeaderName(h); err != nil {
			return fmt.Errorf("websocket: auth headers: %w", err)
		}
	}
	return nil
}

// CheckHeaderName reports whether name may be listed in
// ServerOptions.AuthHeaders: "*" or an HTTP field name (an RFC 9110
// token).
func CheckHeaderName(name string) error {
	if name == "*" {
		return nil
	}
	if name == "" {
		return errors.New("empty header name")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("header name %q: character %q is not allowed in an HTTP header name", name, name[i])
		}
	}
	return nil
}

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// credentialHeaders are left out by "*": they pass only when named.
var credentialHeaders = []string{"Cookie", "Authorization", "Proxy-Authorization"}

// pickHeaders returns the headers of h that allow names (never nil, so
// that a WebSocket connection's details say {} rather than null).
func pickHeaders(h http.Header, allow []string) http.Header {
	out := http.Header{}
	all := false
	for _, name := range allow {
		if name == "*" {
			all = true
			continue
		}
		k := textproto.CanonicalMIMEHeaderKey(name)
		if vs, ok := h[k]; ok {
			out[k] = slices.Clone(vs)
		}
	}
	if all {
		for k, vs := range h {
			if _, named := out[k]; !named && !slices.Contains(credentialHeaders, textproto.CanonicalMIMEHeaderKey(k)) {
				out[k] = slices.Clone(vs)
			}
		}
	}
	return out
}

// allCodecs is codec.All() made once (every upgrade looks it up); never
// modified.
var allCodecs = codec.All()

func allowedCodecs(names []string) ([]codec.Codec, error) {
	if len(names) == 0 {
		return allCodecs, nil
	}
	out := make([]codec.Codec, 0, len(names))
	for _, n := range names {
		c, err := codec.ByName(n)
		if err != nil {
			return nil, fmt.Errorf("websocket: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// selectSubprotocol returns the client's first offered subprotocol that
// names an allowed codec, as the client spelled it; offered (for the
// refusal's message) only when there is none.
func selectSubprotocol(r *http.Request, allowed []codec.Codec) (token string, cd codec.Codec, batched bool, offered []string) {
	vs := r.Header.Values(hdrProtocol)
	for _, v := range vs {
		for more := true; more; { // strings.SplitSeq, without its allocation
			var t string
			t, v, more = strings.Cut(v, ",")
			c, b, ok := codec.BySubprotocol(strings.ToLower(strings.TrimSpace(t)))
			if ok && slices.ContainsFunc(allowed, func(a codec.Codec) bool { return a.Name() == c.Name() }) {
				return strings.TrimSpace(t), c, b, nil
			}
		}
	}
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				offered = append(offered, t)
			}
		}
	}
	return "", nil, false, offered
}

// Accept upgrades r to a WAMP WebSocket connection. It picks the first
// subprotocol in the client's list that names an allowed codec; without
// one it answers HTTP 400 and returns an error, as it does (403) for a
// refused origin and (426) for a request that is no WebSocket upgrade. On
// every error a response has been written to w. The result is a *Conn.
func Accept(w http.ResponseWriter, r *http.Request, o ServerOptions) (transport.Conn, error) {
	if err := o.Validate(); err != nil {
		http.Error(w, "server misconfigured", http.StatusInternalServerError)
		return nil, err
	}
	sel, status, err := checkRequest(w.Header(), r, o)
	if err != nil {
		http.Error(w, err.Error(), status)
		return nil, err
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, http.StatusText(http.StatusNotImplemented), http.StatusNotImplemented)
		return nil, errors.New("websocket: http.ResponseWriter does not implement http.Hijacker")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return nil, fmt.Errorf("websocket: hijack: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered()) // a client may send frames right after its request
	info := transport.Info{Network: "tcp"}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && a != nil {
		info.Network = a.Network()
		info.LocalAddr = a.String()
	}
	return upgrade(nc, r, buffered, sel, info, o)
}

// ErrRefused is wrapped by AcceptConn's error for a request that Accept
// would answer with an HTTP error.
var ErrRefused = errors.New("websocket: upgrade refused")

// AcceptConn upgrades nc, from which the caller read the upgrade request r
// itself (buffered: bytes read after the request's head), when Accept
// would. Otherwise it writes nothing and returns an error wrapping
// ErrRefused: the caller then hands the request to Accept behind net/http
// for the refusal, so there is one place that words refusals. local is
// nc's local address as Accept takes it from the request's context.
func AcceptConn(nc net.Conn, r *http.Request, buffered []byte, o ServerOptions) (transport.Conn, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	sel, _, err := checkRequest(http.Header{}, r, o)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	info := transport.Info{Network: "tcp"}
	if a := nc.LocalAddr(); a != nil {
		info.Network, info.LocalAddr = a.Network(), a.String()
	}
	return upgrade(nc, r, buffered, sel, info, o)
}

// selection is the subprotocol Accept chose.
type selection struct {
	token   string
	cd      codec.Codec
	batched bool
}

// checkRequest checks that r is an upgrade Accept takes and picks its
// subprotocol, or returns the HTTP status to refuse it with (response
// headers for the refusal go to h).
func checkRequest(h http.Header, r *http.Request, o ServerOptions) (selection, int, error) {
	if status, err := checkUpgrade(h, r); err != nil {
		return selection{}, status, err
	}
	if len(o.AllowedOrigins) > 0 {
		if err := checkOrigin(r, o.AllowedOrigins); err != nil {
			return selection{}, http.StatusForbidden, err
		}
	}
	allowed, _ := allowedCodecs(o.Serializers)
	token, cd, batched, offered := selectSubprotocol(r, allowed)
	if cd == nil {
		var ours []string
		for _, c := range allowed {
			ours = append(ours, codec.Subprotocol(c, false), codec.Subprotocol(c, true))
		}
		return selection{}, http.StatusBadRequest,
			fmt.Errorf("websocket: no common WAMP subprotocol: client offered %q, server supports %q", offered, ours)
	}
	return selection{token, cd, batched}, 0, nil
}

// upgrade writes the 101 response on nc and makes the connection.
func upgrade(nc net.Conn, r *http.Request, buffered []byte, sel selection, info transport.Info, o ServerOptions) (transport.Conn, error) {
	// Built in one buffer, sized for the usual token, and written at once.
	var buf [256]byte
	resp := append(buf[:0], "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Accept: "...)
	resp = appendAcceptKey(resp, r.Header.Get(hdrKey))
	resp = append(append(append(resp, "\r\nSec-WebSocket-Protocol: "...), sel.token...), "\r\n\r\n"...)
	if _, err := nc.Write(resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("websocket: writing the upgrade response: %w", err)
	}
	info.RemoteAddr = r.RemoteAddr
	info.TLS = r.TLS
	info.HTTPHeaders = pickHeaders(r.Header, o.AuthHeaders)
	info.Path = r.URL.Path
	preJoin := o.PreJoinMaxMessageSize
	if preJoin == 0 {
		preJoin = transport.DefaultPreJoinMaxMessageSize
	}
	c := newConn(nc, connConfig{
		codec: sel.cd, batched: sel.batched, maxSize: o.MaxMessageSize, preJoin: preJoin,
		buffered: buffered, info: info,
	})
	if o.PingInterval > 0 {
		c.startPing(o.PingInterval)
	}
	return c, nil
}
