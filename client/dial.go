package client

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
)

// checkURL validates a router URL without connecting.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("client: bad router URL: %w", err)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "tcp", "tls":
		if u.Host == "" || u.Port() == "" {
			return nil, fmt.Errorf("client: %s URL %q needs host:port", u.Scheme, raw)
		}
	case "unix":
		if u.Path == "" {
			return nil, fmt.Errorf("client: unix URL %q needs a socket path (unix:///path/to.sock)", raw)
		}
	default:
		return nil, fmt.Errorf("client: unsupported URL scheme %q (want ws, wss, tcp, tls or unix)", u.Scheme)
	}
	return u, nil
}

// dialTransport opens the transport connection for u.
func dialTransport(ctx context.Context, raw string, u *url.URL, c *Config) (transport.Conn, error) {
	switch u.Scheme {
	case "ws", "wss":
		return websocket.Dial(ctx, raw, websocket.DialOptions{
			Serializer: c.Codec, Batched: c.Batched, MaxMessageSize: c.MaxMessageSize,
			TLSConfig: c.TLSConfig, HTTPHeader: c.HTTPHeader,
		})
	case "tcp":
		return rawsocket.Dial(ctx, "tcp", u.Host, rawsocket.DialOptions{Serializer: c.Codec, MaxMessageSize: c.MaxMessageSize})
	case "tls":
		tc := c.TLSConfig
		if tc == nil {
			tc = &tls.Config{}
		}
		return rawsocket.Dial(ctx, "tcp", u.Host, rawsocket.DialOptions{Serializer: c.Codec, MaxMessageSize: c.MaxMessageSize, TLSConfig: tc})
	case "unix":
		return rawsocket.Dial(ctx, "unix", u.Path, rawsocket.DialOptions{Serializer: c.Codec, MaxMessageSize: c.MaxMessageSize})
	}
	return nil, fmt.Errorf("client: unsupported URL scheme %q", u.Scheme)
}
