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
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/internal/idlepoll"
	"github.com/tollgate-wamp/tollgate/transport/internal/iowatch"
	"github.com/tollgate-wamp/tollgate/transport/internal/trywrite"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Frame types (low three bits of the first header octet).
const (
	frameMessage byte = 0
	framePing    byte = 1
	framePong    byte = 2
)

// writeBufferSize is the size of the pooled write buffers. A buffer is
// held only during a Write, so an idle connection holds none.
const writeBufferSize = 32 << 10

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}

// Conn is an established RawSocket connection. It implements
// transport.Conn; see the package doc for its concurrency contract.
type Conn struct {
	nc      net.Conn
	codec   codec.Codec
	maxRecv int // we announced it; bigger frames fail the connection
	preJoin int // receive limit until Joined (<= maxRecv)
	joined  atomic.Bool
	maxSend int // peer's announced limit, capped at 2^24-1
	info    transport.Info

	// read side, owned by the single reader
	fr     frameReader
	hdr    [4]byte
	rwait  iowatch.Lazy
	cooled bool // the read side forgot the handshake's reads (see readMessage)
	idle   idlepoll.Gate

	// write side, shared by Write, PONG replies and Ping
	wmu   sync.Mutex
	whdr  [4]byte
	werr  error // sticky: after a failed write the stream is corrupt
	wwait iowatch.Watch

	done      chan struct{}
	closeOnce sync.Once

	pings atomic.Pointer[pings] // made by the first Ping
}

// pings are the PINGs waiting for their PONG.
type pings struct {
	seq atomic.Uint64
	mu  sync.Mutex
	m   map[uint64]chan struct{}
}

// newConn wraps nc after the handshake. Frames over preJoin are refused
// until Joined; preJoin >= maxRecv means no separate pre-join limit.
func newConn(nc net.Conn, c codec.Codec, maxRecv, preJoin, maxSend int) *Conn {
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
	conn := &Conn{
		nc:      nc,
		codec:   c,
		maxRecv: maxRecv,
		preJoin: min(preJoin, maxRecv),
		maxSend: maxSend,
		info:    info,
		wwait:   iowatch.Watch{Set: iowatch.SetWrite},
		done:    make(chan struct{}),
	}
	conn.fr.init(nc)
	return conn
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

// MaxReceiveSize is the limit we announced and enforce on Read once
// Joined was called (before that, the lower pre-join limit applies).
func (c *Conn) MaxReceiveSize() int { return c.maxRecv }

// Joined raises the receive limit from the pre-join limit to
// MaxReceiveSize; the router calls it once the session has joined. It is
// safe from any goroutine and idempotent. It implements transport.Joiner.
func (c *Conn) Joined() { c.joined.Store(true) }

// recvLimit is the receive limit now, and whether it is the pre-join one.
func (c *Conn) recvLimit() (int, bool) {
	if c.preJoin < c.maxRecv && !c.joined.Load() {
		return c.preJoin, true
	}
	return c.maxRecv, false
}

// Info describes the connection.
func (c *Conn) Info() transport.Info { return c.info }

// Close closes the underlying connection. It is idempotent.
func (c *Conn) Close() error {
	err := transport.ErrClosed
	c.closeOnce.Do(func() {
		close(c.done)
		c.idle.Close() // before the descriptor can be reused
		err = c.nc.Close()
		c.rwait.Release()
		c.wwait.Release()
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
	call, err := c.rwait.Begin(ctx, c.nc, iowatch.SetRead)
	if err != nil {
		return nil, c.fail("read", err)
	}
	msg, err := c.readMessage()
	if err = call.End(err); err != nil {
		if err == transport.ErrIdle {
			return nil, err
		}
		c.fr.release()
		return nil, c.fail("read", err)
	}
	return msg, nil
}

func (c *Conn) readMessage() ([]byte, error) {
	if !c.cooled && c.joined.Load() {
		// A HELLO over 512 bytes says nothing about the session's traffic;
		// forgetting it keeps an idle session from waiting in Read with a
		// pooled 16 KiB buffer.
		c.cooled = true
		c.fr.hot = false
	}
	for {
		if c.idle.On() && c.fr.buffered() == 0 {
			c.fr.idle = &c.idle.Entry // the first wait for this header may idle
		}
		if err := c.fr.readFull(c.hdr[:]); err != nil {
			return nil, err
		}
		typ, n, err := parseFrameHeader(c.hdr)
		if err != nil {
			return nil, err
		}
		if limit, pre := c.recvLimit(); n > limit {
			what := "limit"
			if pre {
				what = "pre-join limit"
			}
			c.drainBeforeClose()
			return nil, fmt.Errorf("%w: %d-byte frame over our %d-byte %s", transport.ErrMessageTooBig, n, limit, what)
		}
		buf, err := c.fr.readPayload(n)
		if err != nil {
			return nil, err
		}
		switch typ {
		case frameMessage:
			c.fr.consumed()
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

// ReadOrIdle is Read, except that it returns transport.ErrIdle once the
// connection has waited at a frame boundary for idle (see
// transport.Parker). A connection that cannot park (TLS, not Linux) and a
// ctx that can end make it Read.
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

// After a refused frame, a bounded drain of what the peer already sent.
const (
	drainLimit = 64 << 10
	drainWait  = 20 * time.Millisecond
)

// drainBeforeClose reads and drops what the peer has already sent (at most
// drainLimit bytes, waiting at most drainWait), so that the close after a
// refused frame sends FIN rather than the RST that unread data causes,
// which can destroy data the peer has not read yet (net/http lingers for
// the same reason).
func (c *Conn) drainBeforeClose() {
	_ = c.nc.SetReadDeadline(time.Now().Add(drainWait))
	c.fr.release()
	p := readBufPool.Get().(*[]byte)
	defer readBufPool.Put(p)
	for total := 0; total < drainLimit; {
		n, err := c.nc.Read(*p)
		total += n
		if err != nil {
			return
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
	if _, err := c.sendSize(frames); err != nil {
		return err
	}
	return c.writeFrames(ctx, frameMessage, frames)
}

// sendSize returns the bytes frames take on the wire, or the error of a
// frame over MaxSendSize.
func (c *Conn) sendSize(frames [][]byte) (int, error) {
	size := 0
	for i, f := range frames {
		if len(f) > c.maxSend {
			return 0, fmt.Errorf("rawsocket: %w: frame %d is %d bytes, peer accepts %d", transport.ErrMessageTooBig, i, len(f), c.maxSend)
		}
		size += 4 + len(f)
	}
	return size, nil
}

// appendHeader appends the header of a frame of type typ and n bytes.
func appendHeader(b []byte, typ byte, n int) []byte {
	return append(b, typ, byte(n>>16), byte(n>>8), byte(n))
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
	call, err := c.wwait.Begin(ctx, c.nc)
	if err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c.nc)
	for _, f := range frames {
		if _, err = bw.Write(appendHeader(c.whdr[:0], typ, len(f))); err != nil {
			break
		}
		if _, err = bw.Write(f); err != nil {
			break
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	bw.Reset(nil) // drops unflushed bytes after an error: the stream is dead anyway
	writerPool.Put(bw)
	if err = call.End(err); err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	return nil
}

// tryBufs hold a TryWrite's frames: one non-blocking write(2) of at most
// writeBufferSize bytes.
var tryBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, writeBufferSize)
	return &b
}}

// CanTryWrite reports whether TryWrite works: the socket is exposed (not
// TLS). It implements transport.TryWriter.
func (c *Conn) CanTryWrite() bool { return c.fr.rr != nil }

// TryWrite writes frames as Write does if the socket takes them now,
// with one write(2); see transport.TryWriter. Batches over
// writeBufferSize, and a Write or PONG in progress, make it return
// ErrWouldBlock: the caller then writes as usual.
func (c *Conn) TryWrite(frames [][]byte) (func(context.Context) error, error) {
	size, err := c.sendSize(frames)
	if err != nil {
		return nil, err
	}
	if size > writeBufferSize || c.fr.rr == nil || !c.wmu.TryLock() {
		return nil, transport.ErrWouldBlock
	}
	if err := c.werr; err != nil {
		c.wmu.Unlock()
		return nil, err
	}
	if c.isClosed() {
		c.wmu.Unlock()
		return nil, transport.ErrClosed
	}
	bp := tryBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for _, f := range frames {
		b = append(appendHeader(b, frameMessage, len(f)), f...)
	}
	n, err := trywrite.Write(c.fr.rr.RawConn(), b)
	if n == len(b) || n == 0 {
		tryBufs.Put(bp)
		if err != nil && err != transport.ErrWouldBlock {
			c.werr = c.fail("write", err)
			err = c.werr
		}
		c.wmu.Unlock()
		return nil, err
	}
	// Part went out: nothing may come between it and the rest, so the
	// write lock stays held until finish wrote it.
	return func(ctx context.Context) error {
		defer c.wmu.Unlock()
		defer tryBufs.Put(bp)
		return c.writeHeld(ctx, b[n:])
	}, nil
}

// writeHeld writes the rest of a TryWrite; c.wmu is held.
func (c *Conn) writeHeld(ctx context.Context, rest []byte) error {
	call, err := c.wwait.Begin(ctx, c.nc)
	if err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	_, err = c.nc.Write(rest)
	if err = call.End(err); err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	return nil
}

// Ping sends a PING and waits for the matching PONG, which arrives through
// a concurrent Read. It returns ctx.Err() if ctx ends first and ErrClosed if
// the connection closes.
func (c *Conn) Ping(ctx context.Context) error {
	ps := c.pings.Load()
	if ps == nil {
		c.pings.CompareAndSwap(nil, &pings{m: make(map[uint64]chan struct{})})
		ps = c.pings.Load()
	}
	seq := ps.seq.Add(1)
	var payload [8]byte
	binary.BigEndian.PutUint64(payload[:], seq)
	ch := make(chan struct{})
	ps.mu.Lock()
	ps.m[seq] = ch
	ps.mu.Unlock()
	defer func() {
		ps.mu.Lock()
		delete(ps.m, seq)
		ps.mu.Unlock()
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
	ps := c.pings.Load()
	if ps == nil {
		return // we sent no PING
	}
	seq := binary.BigEndian.Uint64(p)
	ps.mu.Lock()
	ch, ok := ps.m[seq]
	if ok {
		delete(ps.m, seq)
	}
	ps.mu.Unlock()
	if ok {
		close(ch)
	}
}

var (
	_ transport.Conn      = (*Conn)(nil)
	_ transport.Joiner    = (*Conn)(nil)
	_ transport.TryWriter = (*Conn)(nil)
	_ transport.Parker    = (*Conn)(nil)
)
