// Package chaos is an adversarial WAMP client for tests: it opens real
// connections to a router (WebSocket or RawSocket) and sends what a
// well-behaved client never would, from raw bytes at the transport edge
// (huge frame headers, unfinished handshakes, slow-loris bytes) to
// well-formed WAMP that breaks the protocol's rules. docs/reliability.md
// lists the attack classes and what the router answers to each.
package chaos

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Roles is a HELLO.Details.roles value every router accepts.
var Roles = wamp.Dict{"caller": wamp.Dict{}, "callee": wamp.Dict{}, "publisher": wamp.Dict{}, "subscriber": wamp.Dict{}}

// Peer is a WAMP connection whose messages the caller writes by hand:
// any message, in any order, or raw bytes the codec would never produce.
type Peer struct {
	tc  transport.Conn
	req wamp.ID
}

// Dial connects to a ws://, tcp:// or unix:// URL with the serializer
// named ("json", "msgpack", "cbor"). maxSize (0: 16 MiB) is the receive
// limit it announces (RawSocket) and enforces.
func Dial(ctx context.Context, rawURL, serializer string, maxSize int) (*Peer, error) {
	cd, err := codec.ByName(serializer)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var tc transport.Conn
	switch u.Scheme {
	case "ws":
		tc, err = websocket.Dial(ctx, rawURL, websocket.DialOptions{Serializer: cd, MaxMessageSize: maxSize})
	case "tcp":
		tc, err = rawsocket.Dial(ctx, "tcp", u.Host, rawsocket.DialOptions{Serializer: cd, MaxMessageSize: maxSize})
	case "unix":
		tc, err = rawsocket.Dial(ctx, "unix", u.Path, rawsocket.DialOptions{Serializer: cd, MaxMessageSize: maxSize})
	default:
		return nil, fmt.Errorf("chaos: unsupported URL %q", rawURL)
	}
	if err != nil {
		return nil, err
	}
	return &Peer{tc: tc}, nil
}

// Codec is the peer's serializer.
func (p *Peer) Codec() codec.Codec { return p.tc.Codec() }

// Next returns a fresh request id.
func (p *Peer) Next() wamp.ID { p.req++; return p.req }

// Send encodes and sends messages in one write.
func (p *Peer) Send(ctx context.Context, ms ...wamp.Message) error {
	frames := make([][]byte, len(ms))
	for i, m := range ms {
		f, err := p.tc.Codec().Encode(nil, m)
		if err != nil {
			return err
		}
		frames[i] = f
	}
	return p.tc.Write(ctx, frames)
}

// SendRaw sends each frame as one WAMP message, unchecked.
func (p *Peer) SendRaw(ctx context.Context, frames ...[]byte) error {
	return p.tc.Write(ctx, frames)
}

// Recv reads and decodes one message.
func (p *Peer) Recv(ctx context.Context) (wamp.Message, error) {
	data, err := p.tc.Read(ctx)
	if err != nil {
		return nil, err
	}
	return p.tc.Codec().Decode(data)
}

// Hello sends HELLO for realm with details (roles added when missing) and
// returns the router's answer.
func (p *Peer) Hello(ctx context.Context, realm wamp.URI, details wamp.Dict) (wamp.Message, error) {
	d := wamp.Dict{"roles": Roles}
	for k, v := range details {
		d[k] = v
	}
	if err := p.Send(ctx, &wamp.Hello{Realm: realm, Details: d}); err != nil {
		return nil, err
	}
	return p.Recv(ctx)
}

// Join joins realm anonymously.
func (p *Peer) Join(ctx context.Context, realm wamp.URI) (*wamp.Welcome, error) {
	m, err := p.Hello(ctx, realm, nil)
	if err != nil {
		return nil, err
	}
	w, ok := m.(*wamp.Welcome)
	if !ok {
		return nil, fmt.Errorf("chaos: HELLO answered by %v, want WELCOME", Describe(m))
	}
	return w, nil
}

// Close closes the connection without GOODBYE.
func (p *Peer) Close() error { return p.tc.Close() }

// UntilClosed reads until the router closes the connection and returns
// the last message it sent (an ABORT or GOODBYE, or nil). An error means
// the connection was still open when ctx ended.
func (p *Peer) UntilClosed(ctx context.Context) (last wamp.Message, err error) {
	for {
		data, err := p.tc.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return last, fmt.Errorf("chaos: connection still open: %w", ctx.Err())
			}
			return last, nil
		}
		if m, err := p.tc.Codec().Decode(data); err == nil {
			last = m
		}
	}
}

// Describe names a message for test failures: its type, and the reason or
// error URI of ABORT, GOODBYE and ERROR.
func Describe(m wamp.Message) string {
	switch v := m.(type) {
	case nil:
		return "nothing"
	case *wamp.Abort:
		return "ABORT " + string(v.Reason)
	case *wamp.Goodbye:
		return "GOODBYE " + string(v.Reason)
	case *wamp.Error:
		return "ERROR " + string(v.Error)
	}
	return m.MessageType().String()
}

// Kinds of transport the edge attacks speak.
const (
	WebSocket = "ws"
	RawSocket = "tcp"
)

// Handshake connects to addr (host:port) and completes only the
// transport handshake for JSON: the RawSocket 4-byte exchange, announcing
// a 16 MiB limit, or a WebSocket upgrade on path /ws. No WAMP follows.
func Handshake(ctx context.Context, kind, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	if err := handshake(nc, kind, addr); err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}

func handshake(nc net.Conn, kind, addr string) error {
	switch kind {
	case RawSocket:
		if _, err := nc.Write([]byte{0x7F, 0xF0 | codec.IDJSON, 0, 0}); err != nil {
			return err
		}
		var reply [4]byte
		if _, err := io.ReadFull(nc, reply[:]); err != nil {
			return err
		}
		if reply[0] != 0x7F || reply[1]&0x0F != codec.IDJSON {
			return fmt.Errorf("chaos: RawSocket handshake refused: % x", reply)
		}
		return nil
	case WebSocket:
		if _, err := io.WriteString(nc, upgradeRequest(addr)); err != nil {
			return err
		}
		// Byte by byte: nothing after the headers may be consumed.
		var head strings.Builder
		b := make([]byte, 1)
		for !strings.HasSuffix(head.String(), "\r\n\r\n") {
			if _, err := nc.Read(b); err != nil {
				return err
			}
			head.WriteByte(b[0])
		}
		if !strings.HasPrefix(head.String(), "HTTP/1.1 101") {
			return fmt.Errorf("chaos: WebSocket upgrade refused: %q", strings.SplitN(head.String(), "\r\n", 2)[0])
		}
		return nil
	}
	return fmt.Errorf("chaos: unknown kind %q", kind)
}

func upgradeRequest(addr string) string {
	return "GET /ws HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Protocol: wamp.2.json\r\n\r\n"
}

// MaxRawSocketFrame is the largest length a RawSocket frame header can
// announce (3 bytes): 16 MiB less one byte.
const MaxRawSocketFrame = 1<<24 - 1

// AnnounceFrame writes the header of one message of n bytes on a
// connection after Handshake, then body (the first bytes of it; the rest
// never comes). WebSocket frames are masked with a zero key, so body goes
// out as is.
func AnnounceFrame(nc net.Conn, kind string, n int, body []byte) error {
	var hdr []byte
	switch kind {
	case RawSocket:
		hdr = []byte{0, byte(n >> 16), byte(n >> 8), byte(n)}
	case WebSocket:
		hdr = append([]byte{0x81, 0x80 | 127}, binary.BigEndian.AppendUint64(nil, uint64(n))...)
		hdr = append(hdr, 0, 0, 0, 0) // mask key
	default:
		return fmt.Errorf("chaos: unknown kind %q", kind)
	}
	_, err := nc.Write(append(hdr, body...))
	return err
}

// KeepAliveGET sends GET / on a new connection to addr, reads the
// response headers and leaves the connection open and idle.
func KeepAliveGET(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(nc, "GET / HTTP/1.1\r\nHost: "+addr+"\r\nConnection: keep-alive\r\n\r\n"); err != nil {
		nc.Close()
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetReadDeadline(dl)
	}
	line, err := bufio.NewReader(nc).ReadString('\n')
	nc.SetReadDeadline(time.Time{})
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 ") {
		nc.Close()
		return nil, fmt.Errorf("chaos: GET / answered %q: %v", line, err)
	}
	return nc, nil
}

// Trickle writes data one byte per interval until it is all sent or the
// connection fails (the router closed it: the slow-loris attack).
func Trickle(ctx context.Context, nc net.Conn, data []byte, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for i := range data {
		if _, err := nc.Write(data[i : i+1]); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// WaitClosed reads and discards until the peer closes nc; an error means
// it was still open when ctx ended.
func WaitClosed(ctx context.Context, nc net.Conn) error {
	if dl, ok := ctx.Deadline(); ok {
		nc.SetReadDeadline(dl)
	}
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("chaos: connection still open at the deadline")
	}
	return nil
}

// WriteFrame sends msg (JSON text) as one whole message on a connection
// after Handshake.
func WriteFrame(nc net.Conn, kind string, msg []byte) error {
	return AnnounceFrame(nc, kind, len(msg), msg)
}

// ReadFrame reads one whole message from the router on a connection after
// Handshake (RawSocket PINGs and WebSocket control frames are skipped, not
// answered).
func ReadFrame(nc net.Conn, kind string) ([]byte, error) {
	for {
		var n uint64
		var control bool
		switch kind {
		case RawSocket:
			var h [4]byte
			if _, err := io.ReadFull(nc, h[:]); err != nil {
				return nil, err
			}
			n, control = uint64(h[1])<<16|uint64(h[2])<<8|uint64(h[3]), h[0]&7 != 0
		case WebSocket:
			var h [2]byte
			if _, err := io.ReadFull(nc, h[:]); err != nil {
				return nil, err
			}
			n, control = uint64(h[1]&127), h[0]&8 != 0
			if ext := map[uint64]int{126: 2, 127: 8}[n]; ext > 0 {
				b := make([]byte, 8)
				if _, err := io.ReadFull(nc, b[8-ext:]); err != nil {
					return nil, err
				}
				n = binary.BigEndian.Uint64(b)
			}
		default:
			return nil, fmt.Errorf("chaos: unknown kind %q", kind)
		}
		if n > 1<<24 {
			return nil, fmt.Errorf("chaos: %d-byte frame", n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(nc, b); err != nil || !control {
			return b, err
		}
	}
}

// JoinRaw joins realm over a connection after Handshake, speaking JSON
// frames by hand, so that the caller can go on writing raw bytes.
func JoinRaw(nc net.Conn, kind string, realm wamp.URI) error {
	hello, err := codec.JSON.Encode(nil, &wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": Roles}})
	if err != nil {
		return err
	}
	if err := WriteFrame(nc, kind, hello); err != nil {
		return err
	}
	b, err := ReadFrame(nc, kind)
	if err != nil {
		return err
	}
	m, err := codec.JSON.Decode(b)
	if err != nil {
		return err
	}
	if _, ok := m.(*wamp.Welcome); !ok {
		return fmt.Errorf("chaos: HELLO answered by %s", Describe(m))
	}
	return nil
}
