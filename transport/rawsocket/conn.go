package rawsocket

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Frame types (low three bits of the first header octet).
const (
	frameMessage byte = 0
	framePing    byte = 1
	framePong    byte = 2
)

const (
	readBufferSize  = 16 << 10
	writeBufferSize = 32 << 10
)

// Conn is an established RawSocket connection. It implements
// transport.Conn; see the package doc for its concurrency contract.
type Conn struct {
	nc      net.Conn
	codec   codec.Codec
	maxRecv int // we announced it; bigger frames fail the connection
	maxSend int // peer's announced limit, capped at 2^24-1
	info    transport.Info

	// read side, owned by the single reader
	br    *bufio.Reader
	hdr   [4]byte
	rwait ctxWatch

	// write side, shared by Write, PONG replies and Ping
	wmu   sync.Mutex
	bw    *bufio.Writer
	whdr  [4]byte
	werr  error // sticky: after a failed write the stream is corrupt
	wwait ctxWatch

	done      chan struct{}
	closeOnce sync.Once

	pingSeq atomic.Uint64
	pingMu  sync.Mutex
	pings   map[uint64]chan struct{}
}

func newConn(nc net.Conn, c codec.Codec, maxRecv, maxSend int) *Conn {
	info := transport.Info{
		Kind:       transport.KindRawSocket,
		Serializer: c.Name(),
	}
	if a := nc.LocalAddr(); a != nil {
		info.Network = a.Network()
		info.LocalAddr = a.String()
	}
	if a := nc.RemoteAddr(); a != nil {
		info.RemoteAddr = a.String()
	}
	if tc := findTLS(nc); tc != nil {
		st := tc.ConnectionState()
		info.TLS = &st
	}
	return &Conn{
		nc:      nc,
		codec:   c,
		maxRecv: maxRecv,
		maxSend: maxSend,
		info:    info,
		br:      bufio.NewReaderSize(nc, readBufferSize),
		bw:      bufio.NewWriterSize(nc, writeBufferSize),
		rwait:   ctxWatch{set: setReadDeadline},
		wwait:   ctxWatch{set: setWriteDeadline},
		done:    make(chan struct{}),
	}
}

// findTLS finds the *tls.Conn under nc, looking through wrappers that
// expose the wrapped connection with a NetConn method (as *tls.Conn
// itself does), e.g. a listener's peeked-bytes wrapper.
func findTLS(nc net.Conn) *tls.Conn {
	for range 8 {
		if tc, ok := nc.(*tls.Conn); ok {
			return tc
		}
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			return nil
		}
		nc = u.NetConn()
	}
	return nil
}

// Codec returns the negotiated serializer.
func (c *Conn) Codec() codec.Codec { return c.codec }

// MaxSendSize is the largest payload Write accepts: the limit the peer
// announced, capped at 2^24-1 bytes.
func (c *Conn) MaxSendSize() int { return c.maxSend }

// MaxReceiveSize is the limit we announced and enforce on Read.
func (c *Conn) MaxReceiveSize() int { return c.maxRecv }

// Info describes the connection.
func (c *Conn) Info() transport.Info { return c.info }

// Close closes the underlying connection. It is idempotent.
func (c *Conn) Close() error {
	err := transport.ErrClosed
	c.closeOnce.Do(func() {
		close(c.done)
		err = c.nc.Close()
		c.rwait.release()
		c.wwait.release()
	})
	if errors.Is(err, transport.ErrClosed) {
		return nil
	}
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

// fail closes the connection after a terminal error and returns the error
// to report: ErrClosed if Close came first.
func (c *Conn) fail(op string, err error) error {
	if c.isClosed() {
		return transport.ErrClosed
	}
	_ = c.Close()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("rawsocket: %s: connection closed by peer: %w", op, err)
	}
	return fmt.Errorf("rawsocket: %s: %w", op, err)
}

// Read returns the next WAMP message. PINGs are answered and PONGs
// consumed on the way. A frame over our limit fails with an error wrapping
// transport.ErrMessageTooBig. Errors are terminal.
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	if c.isClosed() {
		return nil, transport.ErrClosed
	}
	call, err := c.rwait.begin(ctx, c.nc)
	if err != nil {
		return nil, c.fail("read", err)
	}
	msg, err := c.readMessage()
	if err = call.end(err); err != nil {
		return nil, c.fail("read", err)
	}
	return msg, nil
}

func (c *Conn) readMessage() ([]byte, error) {
	for {
		if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
			return nil, err
		}
		typ, n, err := parseFrameHeader(c.hdr)
		if err != nil {
			return nil, err
		}
		if n > c.maxRecv {
			return nil, fmt.Errorf("%w: %d-byte frame over our %d-byte limit", transport.ErrMessageTooBig, n, c.maxRecv)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch typ {
		case frameMessage:
			return buf, nil
		case framePing:
			if err := c.writeFrames(context.Background(), framePong, [][]byte{buf}); err != nil {
				return nil, fmt.Errorf("answering PING: %w", err)
			}
		case framePong:
			c.gotPong(buf)
		}
	}
}

// parseFrameHeader decodes RRRR X TTT + 24-bit length.
func parseFrameHeader(h [4]byte) (typ byte, n int, err error) {
	if h[0]&0xF0 != 0 {
		return 0, 0, fmt.Errorf("reserved bits set in frame header octet 0x%02X", h[0])
	}
	typ = h[0] & 0x07
	if typ > framePong {
		return 0, 0, fmt.Errorf("reserved frame type %d", typ)
	}
	n = int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if h[0]&0x08 != 0 {
		if n != 0 {
			return 0, 0, fmt.Errorf("frame length bit 25 set with nonzero low bits (0x%06X)", n)
		}
		n = 1 << 24
	}
	return typ, n, nil
}

// Write sends each frame as one WAMP message with one flush. If any frame
// is over MaxSendSize nothing is written, the error wraps
// transport.ErrMessageTooBig and the connection stays usable; other errors
// are terminal.
func (c *Conn) Write(ctx context.Context, frames [][]byte) error {
	for i, f := range frames {
		if len(f) > c.maxSend {
			return fmt.Errorf("rawsocket: %w: frame %d is %d bytes, peer accepts %d", transport.ErrMessageTooBig, i, len(f), c.maxSend)
		}
	}
	return c.writeFrames(ctx, frameMessage, frames)
}

func (c *Conn) writeFrames(ctx context.Context, typ byte, frames [][]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.isClosed() {
		return transport.ErrClosed
	}
	call, err := c.wwait.begin(ctx, c.nc)
	if err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	for _, f := range frames {
		c.whdr[0] = typ
		c.whdr[1] = byte(len(f) >> 16)
		c.whdr[2] = byte(len(f) >> 8)
		c.whdr[3] = byte(len(f))
		if _, err = c.bw.Write(c.whdr[:]); err != nil {
			break
		}
		if _, err = c.bw.Write(f); err != nil {
			break
		}
	}
	if err == nil {
		err = c.bw.Flush()
	}
	if err = call.end(err); err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	return nil
}

// Ping sends a PING and waits for the matching PONG, which arrives through
// a concurrent Read. It returns ctx.Err() if ctx ends first and ErrClosed if
// the connection closes.
func (c *Conn) Ping(ctx context.Context) error {
	seq := c.pingSeq.Add(1)
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], seq)
	ch := make(chan struct{})
	c.pingMu.Lock()
	if c.pings == nil {
		c.pings = make(map[uint64]chan struct{})
	}
	c.pings[seq] = ch
	c.pingMu.Unlock()
	defer func() {
		c.pingMu.Lock()
		delete(c.pings, seq)
		c.pingMu.Unlock()
	}()
	if err := c.writeFrames(ctx, framePing, [][]byte{payload[:]}); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rawsocket: waiting for PONG: %w", ctx.Err())
	case <-c.done:
		return transport.ErrClosed
	}
}

func (c *Conn) gotPong(p []byte) {
	if len(p) != 8 {
		return // not ours: peers may PONG unsolicited
	}
	seq := binary.BigEndian.Uint64(p)
	c.pingMu.Lock()
	ch, ok := c.pings[seq]
	if ok {
		delete(c.pings, seq)
	}
	c.pingMu.Unlock()
	if ok {
		close(ch)
	}
}

var _ transport.Conn = (*Conn)(nil)
