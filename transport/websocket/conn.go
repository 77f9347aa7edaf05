package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/internal/idlepoll"
	"github.com/tollgate-wamp/tollgate/transport/internal/iowatch"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// DefaultMaxMessageSize is the receive limit when none is configured.
const DefaultMaxMessageSize = 16 << 20

// JSON batch separators: we send Autobahn's 0x18 and accept the SPEC's 0x1E too.
const (
	batchSeparator     byte = 0x18
	batchSeparatorSpec byte = 0x1E
)

// Conn is an established WAMP WebSocket connection: RFC 6455 framing on
// the upgraded connection. It implements transport.Conn and
// transport.Joiner; see the package doc for its concurrency contract.
type Conn struct {
	nc      net.Conn
	client  bool // we dialed: we mask our frames and the peer must not
	codec   codec.Codec
	batched bool
	op      byte // opText or opBinary, by codec
	info    transport.Info

	// read side, owned by the single reader
	fr      frameReader
	rwait   iowatch.Lazy
	maxRecv int // current receive limit
	maxFull int // the limit after Joined
	pending []byte
	idle    idlepoll.Gate

	// write side, shared by Write, pongs, pings and close frames
	wmu       sync.Mutex
	wwait     iowatch.Watch
	fw        frameWriter   // in a field so a Write allocates nothing
	werr      error         // sticky: after a failed write the stream is corrupt
	closeSent bool          // no frames after our close frame
	rng       *rand.ChaCha8 // client mask keys

	done      chan struct{}
	closeOnce sync.Once
	ka        *keepAlive // nil without keep-alive pings
	kaErr     atomic.Pointer[error]
}

// connConfig holds what newConn needs besides the connection.
type connConfig struct {
	client   bool
	codec    codec.Codec
	batched  bool
	maxSize  int    // full receive limit; 0 means DefaultMaxMessageSize
	preJoin  int    // receive limit until Joined; 0 means no separate limit
	buffered []byte // bytes read past the handshake
	info     transport.Info
}

func newConn(nc net.Conn, cfg connConfig) *Conn {
	if cfg.maxSize <= 0 {
		cfg.maxSize = DefaultMaxMessageSize
	}
	maxRecv := cfg.maxSize
	if cfg.preJoin > 0 {
		maxRecv = min(maxRecv, cfg.preJoin)
	}
	op := opText
	if cfg.codec.Binary() {
		op = opBinary
	}
	info := cfg.info
	info.Kind = transport.KindWebSocket
	info.Serializer = cfg.codec.Name()
	info.Protocol = codec.Subprotocol(cfg.codec, cfg.batched)
	c := &Conn{
		nc:      nc,
		client:  cfg.client,
		codec:   cfg.codec,
		batched: cfg.batched,
		op:      op,
		info:    info,
		maxRecv: maxRecv,
		maxFull: cfg.maxSize,
		wwait:   iowatch.Watch{Set: iowatch.SetWrite},
		done:    make(chan struct{}),
	}
	c.fr.init(nc, cfg.buffered)
	if cfg.client {
		var seed [32]byte
		fillRandom(seed[:])
		c.rng = rand.NewChaCha8(seed)
	}
	return c
}

// Codec returns the negotiated serializer.
func (c *Conn) Codec() codec.Codec { return c.codec }

// Batched reports whether a batched subprotocol was negotiated.
func (c *Conn) Batched() bool { return c.batched }

// MaxSendSize is 0: WebSocket has no negotiated limit.
func (c *Conn) MaxSendSize() int { return 0 }

// MaxReceiveSize is the receive limit in force: the pre-join limit until
// Joined, then the configured maximum.
func (c *Conn) MaxReceiveSize() int { return c.maxRecv }

// Joined raises the receive limit to the configured maximum; the router
// calls it after WELCOME (transport.Joiner).
func (c *Conn) Joined() { c.maxRecv = c.maxFull }

// Info describes the connection.
func (c *Conn) Info() transport.Info { return c.info }

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Read returns the next WAMP message. Pings are answered and pongs
// consumed on the way. Errors are terminal; a message over the receive
// limit fails with an error wrapping transport.ErrMessageTooBig, after
// closing with 1009, and a peer's close frame ends it with a *CloseError.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	if len(c.pending) > 0 {
		return c.nextFromBatch()
	}
	if c.isClosed() {
		return nil, c.fail("read", transport.ErrClosed) // the keep-alive's failure if it closed a parked conn
	}
	call, err := c.rwait.Begin(ctx, c.nc, iowatch.SetRead)
	if err != nil {
		return nil, c.fail("read", err)
	}
	data, err := c.readMessage()
	if err = call.End(err); err != nil {
		if err == transport.ErrIdle {
			return nil, err
		}
		return nil, c.readFailed(err)
	}
	if !c.batched {
		return data, nil
	}
	if len(data) == 0 {
		return nil, c.readFailed(protoErr(StatusInvalidFramePayloadData, "empty batch", "empty batch"))
	}
	c.pending = data
	return c.nextFromBatch()
}

// readMessage reads frames until a whole data message has arrived,
// handling control frames in between.
func (c *Conn) readMessage() ([]byte, error) {
	var (
		msg []byte
		op  byte // opcode of the message being assembled; 0 before its first frame
	)
	for {
		if op == 0 && c.idle.On() && c.fr.buffered() == 0 {
			c.fr.idle = &c.idle.Entry // the first wait for this header may idle
		}
		h, err := c.fr.header()
		if err != nil {
			return nil, err
		}
		if h.masked == c.client {
			if c.client {
				return nil, protoErr(StatusProtocolError, "masked frame", "server sent a masked frame")
			}
			return nil, protoErr(StatusProtocolError, "unmasked frame", "client sent an unmasked frame")
		}
		if h.op >= opClose {
			if err := c.control(h); err != nil {
				return nil, err
			}
			continue
		}
		switch {
		case h.op == opContinuation && op == 0:
			return nil, protoErr(StatusProtocolError, "unexpected continuation", "continuation frame without a message to continue")
		case h.op != opContinuation && op != 0:
			return nil, protoErr(StatusProtocolError, "unfinished message", "new data frame inside a fragmented message")
		case h.op != opContinuation:
			op = h.op
			if op != c.op {
				return nil, protoErr(StatusUnsupportedData, "wrong message type for subprotocol",
					"got a %s message, %s uses %s messages", msgType(op), c.info.Protocol, msgType(c.op))
			}
		}
		if h.n > int64(c.maxRecv-len(msg)) {
			return nil, &tooBigError{size: int64(len(msg)) + h.n, limit: c.maxRecv}
		}
		if msg, err = c.fr.payload(msg, h); err != nil {
			return nil, err
		}
		if h.fin {
			if op == opText && !utf8.Valid(msg) {
				return nil, protoErr(StatusInvalidFramePayloadData, "invalid UTF-8", "text message is not valid UTF-8")
			}
			c.fr.consumed()
			return msg, nil
		}
	}
}

// ReadOrIdle is Read, except that it returns transport.ErrIdle once the
// connection has waited between messages for idle (see transport.Parker).
// A connection that cannot park (TLS, not Linux) and a ctx that can end
// make it Read.
func (c *Conn) ReadOrIdle(ctx context.Context, idle time.Duration) ([]byte, error) {
	c.idle.Begin(ctx, c.nc, c.fr.rr != nil, idle)
	msg, err := c.Read(ctx)
	c.idle.End()
	c.fr.idle = nil
	return msg, err
}

// Park waits for the connection without a goroutine after ReadOrIdle
// returned transport.ErrIdle (transport.Parker).
func (c *Conn) Park(resume func()) bool { return c.idle.Park(resume) }

func msgType(op byte) string {
	if op == opText {
		return "MessageText"
	}
	return "MessageBinary"
}

// tooBigError is a message over the receive limit, detected from the
// frame header before its payload is read.
type tooBigError struct {
	size  int64
	limit int
}

func (e *tooBigError) Error() string {
	return fmt.Sprintf("%v: message of at least %d bytes over the %d-byte limit", transport.ErrMessageTooBig, e.size, e.limit)
}
func (e *tooBigError) Unwrap() error { return transport.ErrMessageTooBig }

// control handles a ping, pong or close frame.
func (c *Conn) control(h frameHeader) error {
	// Control frames are rare (keep-alives, close): a buffer of their
	// own rather than 125 bytes in every connection.
	var ctrl [maxControlPayload]byte
	p, err := c.fr.payload(ctrl[:0], h)
	if err != nil {
		return err
	}
	switch h.op {
	case opPing:
		if err := c.writeControl(opPong, p); err != nil {
			return fmt.Errorf("answering ping: %w", err)
		}
	case opPong:
		if c.ka != nil {
			c.ka.pong(p)
		}
	case opClose:
		ce, err := parseClose(p)
		if err != nil {
			return err
		}
		return &peerClose{ce}
	}
	return nil
}

// peerClose is a close frame from the peer.
type peerClose struct{ ce *CloseError }

func (e *peerClose) Error() string { return "closed by peer: " + e.ce.Error() }
func (e *peerClose) Unwrap() error { return e.ce }

// readFailed ends the connection after a read error, with the close
// handshake that the error calls for, and returns what to report.
func (c *Conn) readFailed(err error) error {
	c.pending = nil
	if c.isClosed() || c.kaErr.Load() != nil {
		return c.fail("read", err)
	}
	var (
		pe *protocolError
		tb *tooBigError
		pc *peerClose
	)
	switch {
	case errors.As(err, &pe):
		c.closeHandshake(pe.Code, pe.Reason)
	case errors.As(err, &tb):
		c.closeHandshake(StatusMessageTooBig, "message too big")
	case errors.As(err, &pc):
		code := pc.ce.Code
		if code == StatusNoStatusRcvd {
			code = StatusNormalClosure
		}
		c.closeHandshake(code, "")
	default:
		return c.fail("read", err)
	}
	c.shutdown()
	return fmt.Errorf("websocket: read: %w", err)
}

// fail closes the connection after a terminal error and returns what to
// report: ErrClosed if Close came first, the keep-alive failure if that
// closed it, otherwise err.
func (c *Conn) fail(op string, err error) error {
	if p := c.kaErr.Load(); p != nil {
		c.shutdown()
		return fmt.Errorf("websocket: %s: keep-alive failed: %w", op, *p)
	}
	if c.isClosed() {
		return transport.ErrClosed
	}
	c.shutdown()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("websocket: %s: connection closed by peer without a close frame: %w", op, err)
	}
	return fmt.Errorf("websocket: %s: %w", op, err)
}

// nextFromBatch splits the next WAMP message off c.pending. The result has
// its capacity clipped so a caller appending to it cannot clobber the rest.
func (c *Conn) nextFromBatch() ([]byte, error) {
	p := c.pending
	if !c.codec.Binary() {
		for i, b := range p {
			if b == batchSeparator || b == batchSeparatorSpec {
				if i == 0 {
					return nil, c.readFailed(protoErr(StatusInvalidFramePayloadData, "empty message in batch",
						"empty message in JSON batch"))
				}
				c.pending = p[i+1:]
				return p[:i:i], nil
			}
		}
		c.pending = nil // last message without separator: accepted
		return p, nil
	}
	if len(p) < 4 {
		return nil, c.readFailed(protoErr(StatusInvalidFramePayloadData, "truncated batch",
			"batch has %d trailing bytes, too short for a length prefix", len(p)))
	}
	n := binary.BigEndian.Uint32(p)
	if n == 0 {
		return nil, c.readFailed(protoErr(StatusInvalidFramePayloadData, "empty message in batch",
			"zero-length message in batch"))
	}
	if uint64(n) > uint64(len(p)-4) {
		return nil, c.readFailed(protoErr(StatusInvalidFramePayloadData, "truncated batch",
			"batch message of %d bytes but only %d remain", n, len(p)-4))
	}
	end := 4 + int(n)
	c.pending = p[end:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return p[4:end:end], nil
}

var (
	_ transport.Conn   = (*Conn)(nil)
	_ transport.Joiner = (*Conn)(nil)
	_ transport.Parker = (*Conn)(nil)
)
