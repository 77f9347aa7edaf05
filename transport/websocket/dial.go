package websocket

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	cws "github.com/coder/websocket"

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
func Dial(ctx context.Context, url string, o DialOptions) (transport.Conn, error) {
	cd := o.Serializer
	if cd == nil {
		cd = codec.JSON
	}
	proto := codec.Subprotocol(cd, o.Batched)

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

	ws, resp, err := cws.Dial(ctx, url, &cws.DialOptions{
		HTTPClient:   &http.Client{Transport: ht},
		HTTPHeader:   o.HTTPHeader,
		Subprotocols: []string{proto},
	})
	if err != nil {
		return nil, fmt.Errorf("websocket: dial %s: %w", url, err)
	}
	if !strings.EqualFold(ws.Subprotocol(), proto) {
		_ = ws.CloseNow()
		return nil, fmt.Errorf("websocket: dial %s: server did not agree to subprotocol %s (answered %q)", url, proto, ws.Subprotocol())
	}
	info := transport.Info{Network: "tcp"}
	mu.Lock()
	if raw != nil {
		info.Network = raw.LocalAddr().Network()
		info.LocalAddr = raw.LocalAddr().String()
		info.RemoteAddr = raw.RemoteAddr().String()
	}
	mu.Unlock()
	if resp != nil {
		info.TLS = resp.TLS
	}
	return newConn(ws, cd, o.Batched, o.MaxMessageSize, info), nil
}
