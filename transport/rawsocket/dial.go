package rawsocket

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// DialOptions configures Dial and Client. The zero value asks for JSON
// with a 16 MiB receive limit, without TLS.
type DialOptions struct {
	// Serializer to request. Default codec.JSON.
	Serializer codec.Codec
	// MaxMessageSize bounds a received message in bytes, rounded down to a
	// power of two and clamped to 512 B..16 MiB, announced in the
	// handshake and enforced. Default 16 MiB.
	MaxMessageSize int
	// TLSConfig, if non-nil, makes Dial use TLS (network "tcp" only). If
	// its ServerName is empty, the host of address is used.
	TLSConfig *tls.Config
}

// Dial connects to a RawSocket router at address on network "tcp" or
// "unix" and performs the handshake, all bounded by ctx. A refusal by the
// router is returned as a *HandshakeError. The result is a *Conn.
func Dial(ctx context.Context, network, address string, o DialOptions) (transport.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix":
	default:
		return nil, fmt.Errorf("rawsocket: unsupported network %q (want tcp or unix)", network)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, fmt.Errorf("rawsocket: %w", err)
	}
	if o.TLSConfig != nil {
		cfg := o.TLSConfig
		if cfg.ServerName == "" && network != "unix" {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				host = address
			}
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("rawsocket: TLS handshake: %w", err)
		}
		nc = tc
	}
	return Client(ctx, nc, o)
}

// Client performs the client side of the handshake on an established
// connection (bounded by ctx). On error c is closed. The result is a *Conn.
func Client(ctx context.Context, c net.Conn, o DialOptions) (_ transport.Conn, err error) {
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	cd := o.Serializer
	if cd == nil {
		cd = codec.JSON
	}
	id := cd.SerializerID()
	if id == 0 || id > 15 {
		return nil, fmt.Errorf("rawsocket: codec %q has no RawSocket serializer id", cd.Name())
	}
	ourL := lengthExponent(o.MaxMessageSize)
	stop := withCtx(ctx, c)
	_, werr := c.Write([]byte{Magic, ourL<<4 | id, 0, 0})
	var b [4]byte
	var rerr error
	if werr == nil {
		_, rerr = io.ReadFull(c, b[:])
	}
	if cerr := stop(); cerr != nil && (werr != nil || rerr != nil) {
		return nil, fmt.Errorf("rawsocket: handshake: %w", cerr)
	}
	switch {
	case werr != nil:
		return nil, fmt.Errorf("rawsocket: writing handshake: %w", werr)
	case rerr != nil:
		return nil, fmt.Errorf("rawsocket: reading handshake reply: %w", rerr)
	}
	peerL, err := parseServerReply(b, cd)
	if err != nil {
		return nil, err
	}
	// A client trusts its router: no pre-join limit, Joined is a no-op.
	limit := limitOf(ourL)
	return newConn(c, cd, limit, limit, sendLimit(peerL)), nil
}
