package websocket

import (
	"io"
	"net"
	"sync"

	"github.com/tollgate-wamp/tollgate/transport/internal/idlepoll"
	"github.com/tollgate-wamp/tollgate/transport/internal/rawread"
)

// Read buffer bounds. On a plain socket (rawread) the reader waits for
// bytes without a buffer and reads them into a pooled one of
// pooledReadBuffer bytes, given back once they are consumed: an idle
// connection holds none. Otherwise (TLS) a connection starts small,
// doubles while reads fill the buffer, up to the maximum, and halves again
// after a run of reads that used little of it.
const (
	minReadBuffer    = 2 << 10
	maxReadBuffer    = 64 << 10
	pooledReadBuffer = 32 << 10
)

var readBufs = sync.Pool{New: func() any {
	b := make([]byte, pooledReadBuffer)
	return &b
}}

// frameReader is a buffered reader of WebSocket frames. Payloads are
// copied out as bytes arrive, so a header announcing a huge frame reserves
// nothing; the buffer itself is bounded by maxReadBuffer.
type frameReader struct {
	r          io.Reader
	rr         *rawread.Reader // non-nil: wait for bytes before taking a buffer
	buf        []byte
	pooled     *[]byte // non-nil while buf is from readBufs
	start, end int     // buffered bytes are buf[start:end]
	err        error   // sticky read error, reported once the buffer is drained
	small      int     // consecutive reads that filled under a quarter of buf
	// idle, set between messages by ReadOrIdle, lets the next wait for
	// bytes end in ErrIdle (not sticky); the next fill clears it.
	idle *idlepoll.Entry
}

// shrinkAfter is how many small reads in a row halve the buffer.
const shrinkAfter = 16

func newFrameReader(nc net.Conn, buffered []byte) *frameReader {
	fr := new(frameReader)
	fr.init(nc, buffered)
	return fr
}

// init readies fr in place (a Conn holds its reader, not a pointer to one).
func (fr *frameReader) init(nc net.Conn, buffered []byte) {
	*fr = frameReader{r: nc, rr: rawread.New(nc, &readBufs)}
	if len(buffered) > 0 { // bytes the HTTP server read past the upgrade request
		fr.buf = make([]byte, max(minReadBuffer, len(buffered)))
		fr.end = copy(fr.buf, buffered)
	}
}

func (fr *frameReader) buffered() int { return fr.end - fr.start }

// setBuf replaces the buffer, giving a pooled one back.
func (fr *frameReader) setBuf(b []byte, pooled *[]byte) {
	if fr.pooled != nil {
		readBufs.Put(fr.pooled)
	}
	fr.buf, fr.pooled = b, pooled
}

// consumed gives a pooled buffer back as soon as its bytes are read: a
// connection closed between messages does not take a buffer with it, and
// one waiting for the next holds none.
func (fr *frameReader) consumed() {
	if fr.pooled != nil && fr.start == fr.end {
		fr.setBuf(nil, nil)
		fr.start, fr.end = 0, 0
	}
}

// fill reads at least one more byte into the buffer, making room first.
func (fr *frameReader) fill() error {
	if fr.err != nil {
		return fr.err
	}
	e := fr.idle
	fr.idle = nil
	if fr.rr != nil && fr.start == fr.end {
		fr.setBuf(nil, nil) // wait for the bytes without a buffer
		fr.start, fr.end = 0, 0
		p, n, err := fr.rr.ReadPooledIdle(e)
		if err == idlepoll.ErrIdle {
			return err // the connection goes on after Park
		}
		if err != nil {
			fr.err = err
			return err
		}
		fr.setBuf(*p, p)
		fr.end = n
		return nil
	}
	switch {
	case fr.buf == nil:
		fr.buf = make([]byte, minReadBuffer)
	case fr.start == fr.end:
		fr.start, fr.end = 0, 0
		if fr.small >= shrinkAfter && len(fr.buf) > minReadBuffer {
			fr.buf = make([]byte, len(fr.buf)/2)
			fr.small = 0
		}
	case fr.end == len(fr.buf):
		fr.end = copy(fr.buf, fr.buf[fr.start:fr.end])
		fr.start = 0
	}
	if fr.end == len(fr.buf) { // only when a header straddles a tiny buffer
		fr.grow()
	}
	for range 100 {
		free := len(fr.buf) - fr.end
		n, err := fr.read(fr.buf[fr.end:])
		fr.end += n
		if err != nil {
			if err == io.EOF && fr.buffered() > 0 {
				err = io.ErrUnexpectedEOF // inside a frame
			}
			fr.err = err
		}
		if n > 0 {
			switch {
			case n == free && len(fr.buf) < maxReadBuffer && fr.rr == nil:
				fr.grow() // the peer sends faster than we read: read more at once
				fr.small = 0
			case n < len(fr.buf)/4:
				fr.small++
			default:
				fr.small = 0
			}
			return nil
		}
		if err != nil {
			return err
		}
	}
	fr.err = io.ErrNoProgress
	return fr.err
}

func (fr *frameReader) read(b []byte) (int, error) {
	if fr.rr != nil {
		return fr.rr.Read(b)
	}
	return fr.r.Read(b)
}

// grow doubles the buffer, keeping the buffered bytes.
func (fr *frameReader) grow() {
	nb := make([]byte, min(2*len(fr.buf), maxReadBuffer))
	fr.end = copy(nb, fr.buf[fr.start:fr.end])
	fr.start = 0
	fr.setBuf(nb, nil)
}

// header reads the next frame header.
func (fr *frameReader) header() (frameHeader, error) {
	for {
		h, n, err := parseHeader(fr.buf[fr.start:fr.end])
		if err != nil {
			return h, err
		}
		if n > 0 {
			fr.start += n
			return h, nil
		}
		if err := fr.fill(); err != nil {
			if err == io.ErrUnexpectedEOF && fr.buffered() == 0 {
				err = io.EOF
			}
			return h, err
		}
	}
}

// payload appends the frame's n payload bytes to dst, unmasked. dst grows
// only as bytes arrive.
func (fr *frameReader) payload(dst []byte, h frameHeader) ([]byte, error) {
	start := len(dst)
	n := int(h.n)
	if fr.buffered() >= n && cap(dst)-len(dst) < n && start == 0 {
		dst = make([]byte, 0, n) // the common case: one allocation, exact size
	}
	for n > 0 {
		if fr.buffered() == 0 {
			if err := fr.fill(); err != nil {
				if err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return dst, err
			}
		}
		k := min(n, fr.buffered())
		dst = append(dst, fr.buf[fr.start:fr.start+k]...)
		fr.start += k
		n -= k
	}
	if h.masked {
		maskBytes(h.key, 0, dst[start:])
	}
	return dst, nil
}
