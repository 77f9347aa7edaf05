package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// keyGUID is the RFC 6455 constant appended to Sec-WebSocket-Key.
const keyGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Request header names in net/http's canonical spelling: a lookup with
// any other spelling allocates its canonical form, per request.
const (
	hdrKey      = "Sec-Websocket-Key"
	hdrVersion  = "Sec-Websocket-Version"
	hdrProtocol = "Sec-Websocket-Protocol"
)

// acceptKey computes Sec-WebSocket-Accept for a Sec-WebSocket-Key.
func acceptKey(key string) string { return string(appendAcceptKey(nil, key)) }

// appendAcceptKey appends Sec-WebSocket-Accept for key to dst; the hash
// input is built on the stack for a key of the RFC's size.
func appendAcceptKey(dst []byte, key string) []byte {
	var in [64]byte
	h := sha1.Sum(append(append(in[:0], strings.TrimSpace(key)...), keyGUID...))
	return base64.StdEncoding.AppendEncode(dst, h[:])
}

// hasToken reports whether the comma-separated header h lists token.
func hasToken(hdr http.Header, h, token string) bool {
	for _, v := range hdr.Values(h) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// validKey reports whether key is 16 bytes in base64 (decoded on the
// stack: a valid key is 24 characters).
func validKey(key string) bool {
	key = strings.TrimSpace(key)
	if len(key) != 24 {
		return false
	}
	var k [18]byte
	n, err := base64.StdEncoding.Decode(k[:], []byte(key))
	return err == nil && n == 16
}

// checkUpgrade checks r is a version 13 WebSocket upgrade request and
// returns the HTTP status to answer if not (and its headers in h).
func checkUpgrade(h http.Header, r *http.Request) (int, error) {
	if !r.ProtoAtLeast(1, 1) || !hasToken(r.Header, "Connection", "upgrade") || !hasToken(r.Header, "Upgrade", "websocket") {
		h.Set("Connection", "Upgrade")
		h.Set("Upgrade", "websocket")
		return http.StatusUpgradeRequired, fmt.Errorf("websocket: not a WebSocket upgrade request (%s, Connection %q, Upgrade %q)",
			r.Proto, r.Header.Get("Connection"), r.Header.Get("Upgrade"))
	}
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, fmt.Errorf("websocket: upgrade request method is %s, not GET", r.Method)
	}
	if v := r.Header.Get(hdrVersion); v != "13" {
		h.Set("Sec-WebSocket-Version", "13")
		return http.StatusBadRequest, fmt.Errorf("websocket: unsupported protocol version %q (only 13)", v)
	}
	keys := r.Header.Values(hdrKey)
	if len(keys) != 1 {
		return http.StatusBadRequest, fmt.Errorf("websocket: %d Sec-WebSocket-Key headers, want 1", len(keys))
	}
	if !validKey(keys[0]) {
		return http.StatusBadRequest, fmt.Errorf("websocket: Sec-WebSocket-Key %q is not 16 bytes in base64", keys[0])
	}
	return 0, nil
}

// checkOrigin allows a request without Origin, from the same host, or from
// an origin matching one of the patterns (see ServerOptions.AllowedOrigins).
func checkOrigin(r *http.Request, patterns []string) error {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil {
		return fmt.Errorf("websocket: bad Origin header %q: %w", origin, err)
	}
	if u.Host == "" {
		return fmt.Errorf("websocket: request Origin %q is not a URL with a host", origin)
	}
	if strings.EqualFold(r.Host, u.Host) {
		return nil
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok { // patterns are validated
			return nil
		}
	}
	return fmt.Errorf("websocket: request Origin %q is not authorized for Host %q", u.Host, r.Host)
}
