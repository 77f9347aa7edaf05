package websocket

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/internal/trywrite"
)

// writeChunk is the size of the pooled write buffer: a Write call's frames
// go out in one write(2) up to this size, bigger ones in chunks of it.
const writeChunk = 32 << 10

// closeWait bounds the close handshake: how long we wait for the peer to
// answer our close frame (or to close the TCP connection after its own).
const closeWait = time.Second

var writeBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, writeChunk)
	return &b
}}

// frameWriter assembles frames in a pooled buffer and writes it when full
// and at the end of the call, masking payloads for a client.
type frameWriter struct {
	c   *Conn
	bp  *[]byte
	buf []byte
	key [4]byte
	pos int // mask key position
	err error
}

// start takes a buffer from the pool for one Write call.
func (w *frameWriter) start(c *Conn) {
	bp := writeBufs.Get().(*[]byte)
	*w = frameWriter{c: c, bp: bp, buf: (*bp)[:0]}
}

// header starts a frame with an n-byte payload.
func (w *frameWriter) header(fin bool, op byte, n int) {
	if cap(w.buf)-len(w.buf) < maxHeaderLen {
		w.flush()
	}
	if !w.c.client {
		w.buf = appendHeader(w.buf, fin, op, n, nil)
		return
	}
	binary.LittleEndian.PutUint32(w.key[:], uint32(w.c.rng.Uint64()))
	w.pos = 0
	w.buf = appendHeader(w.buf, fin, op, n, &w.key)
}

// payload appends p to the current frame.
func (w *frameWriter) payload(p []byte) {
	for len(p) > 0 && w.err == nil {
		if len(w.buf) == cap(w.buf) {
			w.flush()
		}
		k := min(len(p), cap(w.buf)-len(w.buf))
		start := len(w.buf)
		w.buf = append(w.buf, p[:k]...)
		if w.c.client {
			w.pos = maskBytes(w.key, w.pos, w.buf[start:])
		}
		p = p[k:]
	}
}

func (w *frameWriter) flush() {
	if w.err == nil && len(w.buf) > 0 {
		_, w.err = w.c.nc.Write(w.buf)
	}
	w.buf = (*w.bp)[:0] // w.buf may be the rest of a TryWrite
}

// finish writes what is buffered and returns the buffer to the pool.
func (w *frameWriter) finish() error {
	w.flush()
	writeBufs.Put(w.bp)
	w.bp, w.buf = nil, nil
	return w.err
}

// Write sends the frames: one WebSocket message per frame, or all of them
// in one message when batched, with one write(2) for all of them up to
// 32 KiB. Errors are terminal.
func (c *Conn) Write(ctx context.Context, frames [][]byte) error {
	if len(frames) == 0 {
		return nil
	}
	return c.writeFrames(ctx, func(w *frameWriter) { c.encode(w, frames) })
}

// encode puts frames in w as Write sends them.
func (c *Conn) encode(w *frameWriter, frames [][]byte) {
	if !c.batched {
		for _, f := range frames {
			w.header(true, c.op, len(f))
			w.payload(f)
		}
		return
	}
	n := 0
	for _, f := range frames {
		n += len(f) + 1
		if c.codec.Binary() {
			n += 3
		}
	}
	w.header(true, c.op, n)
	var sep [4]byte
	for _, f := range frames {
		if c.codec.Binary() {
			binary.BigEndian.PutUint32(sep[:], uint32(len(f)))
			w.payload(sep[:])
			w.payload(f)
		} else {
			w.payload(f)
			sep[0] = batchSeparator
			w.payload(sep[:1])
		}
	}
}

// CanTryWrite reports whether TryWrite works: a server connection whose
// socket is exposed (not TLS). It implements transport.TryWriter.
func (c *Conn) CanTryWrite() bool { return !c.client && c.fr.rr != nil }

// TryWrite writes frames as Write does if the socket takes them now, with
// one write(2); see transport.TryWriter. Frames that may not fit the
// write buffer, a client connection (its masks), and a write in progress
// make it return ErrWouldBlock: the caller then writes as usual.
func (c *Conn) TryWrite(frames [][]byte) (func(context.Context) error, error) {
	size := maxHeaderLen
	for _, f := range frames {
		size += maxHeaderLen + len(f) // covers a batch's separators too
	}
	if size > writeChunk || !c.CanTryWrite() || !c.wmu.TryLock() {
		return nil, transport.ErrWouldBlock
	}
	if err := c.werr; err != nil {
		c.wmu.Unlock()
		return nil, err
	}
	if c.isClosed() || c.closeSent {
		c.wmu.Unlock()
		return nil, transport.ErrClosed
	}
	w := &c.fw
	w.start(c)
	c.encode(w, frames) // no flush: it fits
	n, err := trywrite.Write(c.fr.rr.RawConn(), w.buf)
	if n == len(w.buf) || n == 0 {
		w.buf = w.buf[:0]
		w.finish()
		if err != nil && err != transport.ErrWouldBlock {
			c.werr = c.fail("write", err)
			err = c.werr
		}
		c.wmu.Unlock()
		return nil, err
	}
	// Part went out: nothing may come between it and the rest, so the
	// write lock stays held until finish wrote it.
	w.buf = w.buf[n:]
	return func(ctx context.Context) error {
		defer c.wmu.Unlock()
		return c.writeHeld(ctx)
	}, nil
}

// writeHeld writes the rest of a TryWrite, left in c.fw; c.wmu is held.
func (c *Conn) writeHeld(ctx context.Context) error {
	call, err := c.wwait.Begin(ctx, c.nc)
	if err != nil {
		c.fw.buf = c.fw.buf[:0]
		c.fw.finish()
		c.werr = c.fail("write", err)
		return c.werr
	}
	if err = call.End(c.fw.finish()); err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	return nil
}

// writeControl sends one control frame, bounded by closeWait when the
// peer does not read.
func (c *Conn) writeControl(op byte, p []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	return c.writeFrames(ctx, func(w *frameWriter) {
		w.header(true, op, len(p))
		w.payload(p)
	})
}

// writeFrames runs fill under the write lock and the context, then
// writes what it buffered. After a close frame nothing more is sent.
func (c *Conn) writeFrames(ctx context.Context, fill func(*frameWriter)) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.isClosed() || c.closeSent {
		return transport.ErrClosed
	}
	call, err := c.wwait.Begin(ctx, c.nc)
	if err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	w := &c.fw
	w.start(c)
	fill(w)
	if err = call.End(w.finish()); err != nil {
		c.werr = c.fail("write", err)
		return c.werr
	}
	return nil
}

// sendClose sends a close frame, once; later frames are refused.
func (c *Conn) sendClose(code StatusCode, reason string) error {
	var p [maxControlPayload]byte
	err := c.writeControl(opClose, closePayload(p[:0], code, reason))
	c.wmu.Lock()
	c.closeSent = true
	c.wmu.Unlock()
	return err
}

// closeHandshake sends our close frame (or answers the peer's), stops
// writing and waits up to closeWait for the peer to close its side, so the
// close frame is not lost to a TCP reset. The caller then shuts down.
func (c *Conn) closeHandshake(code StatusCode, reason string) {
	if err := c.sendClose(code, reason); err != nil {
		return
	}
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = c.nc.SetReadDeadline(time.Now().Add(closeWait))
	_, _ = io.Copy(io.Discard, c.nc) // until EOF, the deadline or Close
}

// Close closes the connection immediately, without a close handshake, and
// stops the keep-alive pings. It is idempotent.
func (c *Conn) Close() error {
	c.shutdown()
	if c.ka != nil {
		c.ka.stop()
	}
	return nil
}

func (c *Conn) shutdown() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.idle.Close() // before the descriptor can be reused
		_ = c.nc.Close()
		c.rwait.Release()
		c.wwait.Release()
	})
}

// CloseWithStatus closes with a close handshake: it sends code and a short
// reason, then waits up to a second for the peer's close frame, which a
// concurrent Read receives, before closing the connection.
func (c *Conn) CloseWithStatus(code StatusCode, reason string) error {
	err := c.sendClose(code, reason)
	if err == nil {
		t := time.NewTimer(closeWait)
		select {
		case <-c.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.Close()
	if err != nil {
		return fmt.Errorf("websocket: close: %w", err)
	}
	return nil
}

// fillRandom fills b from the system's secure random source.
func fillRandom(b []byte) {
	_, _ = rand.Read(b) // never fails (crypto/rand documents it)
}

var _ transport.TryWriter = (*Conn)(nil)
