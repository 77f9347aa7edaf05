package websocket

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// DialOptions configures Dial. The zero value offers wamp.2.json with a
// 16 MiB receive limit.
type DialOptions struct {
	// Serializer to offer. Default codec.JSON.
	Serializer codec.Codec
	// Batched offers the .batched variant of the subprotocol instead.
	Batched bool
	// MaxMessageSize bounds a received WebSocket message in bytes.
	// Default 16 MiB.
	MaxMessageSize int
	// TLSConfig is used for wss:// URLs; nil means the system defaults.
	TLSConfig *tls.Config
	// HTTPHeader is added to the upgrade request (e.g. Origin, cookies).
	HTTPHeader http.Header
}

// Dial opens a WAMP WebSocket connection to a ws:// or wss:// URL,
// bounded by ctx, and checks the server agreed to our subprotocol. The
// result is a *Conn.
func Dial(ctx context.Context, rawURL string, o DialOptions) (transport.Conn, error) {
	cd := o.Serializer
	if cd == nil {
		cd = codec.JSON
	}
	proto := codec.Subprotocol(cd, o.Batched)
	req, err := upgradeRequest(ctx, rawURL, o.HTTPHeader, proto)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", rawURL, err)
	}
	var (
		mu  sync.Mutex
		raw net.Conn
	)
	dialer := &net.Dialer{}
	ht := &http.Transport{
		Proxy:           http.ProxyFromEnvironment,
		TLSClientConfig: o.TLSConfig,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := dialer.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				raw = nc
				mu.Unlock()
			}
			return nc, err
		},
	}
	defer ht.CloseIdleConnections()
	resp, err := (&http.Client{Transport: ht}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", rawURL, err)
	}
	mu.Lock()
	tcp := raw
	mu.Unlock()
	rwc, err := checkUpgradeResponse(resp, req.Header.Get("Sec-WebSocket-Key"), proto)
	if err != nil || tcp == nil {
		resp.Body.Close()
		if err == nil {
			err = errors.New("no connection to the server")
		}
		return nil, fmt.Errorf("websocket: dial %s: %w", rawURL, err)
	}
	info := transport.Info{
		Network:    tcp.LocalAddr().Network(),
		LocalAddr:  tcp.LocalAddr().String(),
		RemoteAddr: tcp.RemoteAddr().String(),
		TLS:        resp.TLS,
	}
	nc := &dialedConn{Conn: tcp, rwc: rwc}
	return newConn(nc, connConfig{client: true, codec: cd, batched: o.Batched, maxSize: o.MaxMessageSize, info: info}), nil
}

// upgradeRequest builds the GET request of the opening handshake.
func upgradeRequest(ctx context.Context, rawURL string, hdr http.Header, proto string) (*http.Request, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	default:
		return nil, fmt.Errorf("unsupported URL scheme %q (ws or wss)", u.Scheme)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	var key [16]byte
	fillRandom(key[:])
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key[:]))
	req.Header.Set("Sec-WebSocket-Protocol", proto)
	return req, nil
}

var errNotUpgraded = errors.New("server did not switch protocols")

// checkUpgradeResponse checks the server switched to WebSocket with our
// subprotocol and returns the upgraded stream.
func checkUpgradeResponse(resp *http.Response, key, proto string) (io.ReadWriteCloser, error) {
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%w: HTTP %d: %s", errNotUpgraded, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if !hasToken(resp.Header, "Connection", "upgrade") || !hasToken(resp.Header, "Upgrade", "websocket") {
		return nil, fmt.Errorf("%w: 101 without the Connection and Upgrade headers", errNotUpgraded)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != acceptKey(key) {
		return nil, fmt.Errorf("%w: wrong Sec-WebSocket-Accept %q", errNotUpgraded, got)
	}
	if ext := resp.Header.Get("Sec-WebSocket-Extensions"); ext != "" {
		return nil, fmt.Errorf("server enabled extensions we did not offer: %q", ext)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); !strings.EqualFold(got, proto) {
		return nil, fmt.Errorf("server did not agree to subprotocol %s (answered %q)", proto, got)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		return nil, fmt.Errorf("%w: HTTP client gave a read-only body for the 101 response", errNotUpgraded)
	}
	return rwc, nil
}

// dialedConn is a dialed connection after the handshake: the stream the
// HTTP client hands over for I/O (TLS and buffered bytes included), the TCP
// connection under it for addresses and deadlines.
type dialedConn struct {
	net.Conn
	rwc io.ReadWriteCloser
}

func (d *dialedConn) Read(p []byte) (int, error)  { return d.rwc.Read(p) }
func (d *dialedConn) Write(p []byte) (int, error) { return d.rwc.Write(p) }

// Close closes the TCP connection first, so closing the stream on top
// (a TLS close_notify) cannot block.
func (d *dialedConn) Close() error {
	err := d.Conn.Close()
	_ = d.rwc.Close()
	return err
}
