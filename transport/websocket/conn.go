package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	cws "github.com/coder/websocket"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// DefaultMaxMessageSize is the receive limit when none is configured.
const DefaultMaxMessageSize = 16 << 20

// JSON batch separators: we send Autobahn's 0x18 and accept the SPEC's 0x1E too.
const (
	batchSeparator     byte = 0x18
	batchSeparatorSpec byte = 0x1E
)

// wbufKeep caps the batch buffer kept between Writes.
const wbufKeep = 1 << 20

// Conn is an established WAMP WebSocket connection. It implements
// transport.Conn; see the package doc for its concurrency contract.
type Conn struct {
	ws      *cws.Conn
	codec   codec.Codec
	batched bool
	typ     cws.MessageType
	info    transport.Info

	pending []byte // read side: rest of the current batch
	wbuf    []byte // write side: batch assembly buffer

	done      chan struct{}
	closeOnce sync.Once
	pingDone  chan struct{} // closed when the keep-alive goroutine ends; nil without one
	pingErr   atomic.Pointer[error]
}

func newConn(ws *cws.Conn, cd codec.Codec, batched bool, maxSize int, info transport.Info) *Conn {
	if maxSize <= 0 {
		maxSize = DefaultMaxMessageSize
	}
	ws.SetReadLimit(int64(maxSize))
	typ := cws.MessageText
	if cd.Binary() {
		typ = cws.MessageBinary
	}
	info.Kind = transport.KindWebSocket
	info.Serializer = cd.Name()
	info.Protocol = codec.Subprotocol(cd, batched)
	return &Conn{ws: ws, codec: cd, batched: batched, typ: typ, info: info, done: make(chan struct{})}
}

// Codec returns the negotiated serializer.
func (c *Conn) Codec() codec.Codec { return c.codec }

// Batched reports whether a batched subprotocol was negotiated.
func (c *Conn) Batched() bool { return c.batched }

// MaxSendSize is 0: WebSocket has no negotiated limit.
func (c *Conn) MaxSendSize() int { return 0 }

// Info describes the connection.
func (c *Conn) Info() transport.Info { return c.info }

// Close closes the connection immediately, without a close handshake, and
// stops the keep-alive goroutine. It is idempotent.
func (c *Conn) Close() error {
	c.shutdown()
	if c.pingDone != nil {
		<-c.pingDone
	}
	return nil
}

func (c *Conn) shutdown() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.ws.CloseNow()
	})
}

// CloseWithStatus closes with a close handshake (code and a short reason),
// which can block for a few seconds if the peer does not answer.
func (c *Conn) CloseWithStatus(code cws.StatusCode, reason string) error {
	err := c.ws.Close(code, reason)
	c.Close()
	return err
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// fail closes the connection after a terminal error and returns what to
// report: ErrClosed if Close came first, the keep-alive failure if that
// closed it, otherwise err with transport sentinels attached.
func (c *Conn) fail(op string, err error) error {
	if p := c.pingErr.Load(); p != nil {
		c.shutdown()
		return fmt.Errorf("websocket: %s: keep-alive failed: %w", op, *p)
	}
	if c.isClosed() {
		return transport.ErrClosed
	}
	c.shutdown()
	if errors.Is(err, cws.ErrMessageTooBig) {
		return fmt.Errorf("websocket: %s: %w: %w", op, transport.ErrMessageTooBig, err)
	}
	return fmt.Errorf("websocket: %s: %w", op, err)
}

// protocolFail closes with a close code after a WAMP framing violation.
func (c *Conn) protocolFail(code cws.StatusCode, reason string, err error) error {
	c.pending = nil
	if c.isClosed() {
		return transport.ErrClosed
	}
	_ = c.ws.Close(code, reason)
	c.shutdown()
	return err
}

// Read returns the next WAMP message. Errors are terminal; a message over
// the receive limit fails with an error wrapping transport.ErrMessageTooBig.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	if len(c.pending) > 0 {
		return c.nextFromBatch()
	}
	if c.isClosed() {
		return nil, transport.ErrClosed
	}
	typ, data, err := c.ws.Read(ctx)
	if err != nil {
		return nil, c.fail("read", err)
	}
	if typ != c.typ {
		return nil, c.protocolFail(cws.StatusUnsupportedData, "wrong message type for subprotocol",
			fmt.Errorf("websocket: read: got a %v message, %s uses %v messages", typ, c.info.Protocol, c.typ))
	}
	if !c.batched {
		return data, nil
	}
	if len(data) == 0 {
		return nil, c.protocolFail(cws.StatusInvalidFramePayloadData, "empty batch",
			errors.New("websocket: read: empty batch"))
	}
	c.pending = data
	return c.nextFromBatch()
}

// nextFromBatch splits the next WAMP message off c.pending. The result has
// its capacity clipped so a caller appending to it cannot clobber the rest.
func (c *Conn) nextFromBatch() ([]byte, error) {
	p := c.pending
	if !c.codec.Binary() {
		for i, b := range p {
			if b == batchSeparator || b == batchSeparatorSpec {
				if i == 0 {
					return nil, c.protocolFail(cws.StatusInvalidFramePayloadData, "empty message in batch",
						errors.New("websocket: read: empty message in JSON batch"))
				}
				c.pending = p[i+1:]
				return p[:i:i], nil
			}
		}
		c.pending = nil // last message without separator: accepted
		return p, nil
	}
	if len(p) < 4 {
		return nil, c.protocolFail(cws.StatusInvalidFramePayloadData, "truncated batch",
			fmt.Errorf("websocket: read: batch has %d trailing bytes, too short for a length prefix", len(p)))
	}
	n := binary.BigEndian.Uint32(p)
	if n == 0 {
		return nil, c.protocolFail(cws.StatusInvalidFramePayloadData, "empty message in batch",
			errors.New("websocket: read: zero-length message in batch"))
	}
	if uint64(n) > uint64(len(p)-4) {
		return nil, c.protocolFail(cws.StatusInvalidFramePayloadData, "truncated batch",
			fmt.Errorf("websocket: read: batch message of %d bytes but only %d remain", n, len(p)-4))
	}
	end := 4 + int(n)
	c.pending = p[end:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return p[4:end:end], nil
}

// Write sends the frames: one WebSocket message per frame, or all of them
// in one message when batched. Errors are terminal.
func (c *Conn) Write(ctx context.Context, frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	if c.isClosed() {
		return transport.ErrClosed
	}
	if !c.batched {
		for _, f := range frames {
			if err := c.ws.Write(ctx, c.typ, f); err != nil {
				return c.fail("write", err)
			}
		}
		return nil
	}
	b := c.wbuf[:0]
	for _, f := range frames {
		if c.codec.Binary() {
			b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
			b = append(b, f...)
		} else {
			b = append(b, f...)
			b = append(b, batchSeparator)
		}
	}
	err := c.ws.Write(ctx, c.typ, b)
	if cap(b) <= wbufKeep {
		c.wbuf = b[:0]
	} else {
		c.wbuf = nil
	}
	if err != nil {
		return c.fail("write", err)
	}
	return nil
}

// startPing sends a WebSocket ping every interval; a pong missing for a
// whole interval closes the connection (Read then reports why).
func (c *Conn) startPing(interval time.Duration) {
	c.pingDone = make(chan struct{})
	go func() {
		defer close(c.pingDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), interval)
			err := c.ws.Ping(ctx)
			cancel()
			if err != nil {
				if !c.isClosed() {
					c.pingErr.Store(&err)
					c.shutdown()
				}
				return
			}
		}
	}()
}

var _ transport.Conn = (*Conn)(nil)
