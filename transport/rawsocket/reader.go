package rawsocket

import (
	"io"
	"net"
	"sync"

	"github.com/tollgate-wamp/tollgate/transport/internal/idlepoll"
	"github.com/tollgate-wamp/tollgate/transport/internal/rawread"
)

// Read-side buffering. An idle connection sits in Read, so whatever it
// reads into is held for as long as the peer is silent. On a plain socket
// (rawread) the reader waits for bytes without a buffer and reads them
// into a pooled one, given back once they are consumed: an idle connection
// holds none. On other connections (TLS) a small buffer, made at the first
// read, takes reads that fit it, and a pooled buffer is used while reads
// are bigger (a burst, or the rest of a big frame) and given back at the
// first empty buffer after a read that fitted the small one; such an idle
// connection holds no pooled buffer unless its last read before going
// quiet was over 512 bytes (the price of one read per batch for peers that
// send batches of 0.5-16 KiB: releasing after every batch doubled the
// reads, BenchmarkReadPaced).
const (
	inlineReadSize = 512
	pooledReadSize = 16 << 10
	// payloadChunk is the first allocation for a payload bigger than it
	// whose bytes have not arrived yet. The buffer doubles as bytes
	// arrive, so a peer that announces 16 MiB and sends nothing costs
	// payloadChunk, not 16 MiB.
	payloadChunk = 16 << 10
)

var readBufPool = sync.Pool{New: func() any {
	b := make([]byte, pooledReadSize)
	return &b
}}

// frameReader is a bufio.Reader that holds its big buffer only while
// there is unread data in it. It is owned by the single reader.
type frameReader struct {
	src    io.Reader
	rr     *rawread.Reader // non-nil: wait for bytes before taking a buffer
	buf    []byte          // nil, small or *pooled; buf[r:w] is unread
	pooled *[]byte         // non-nil while buf is a pooled buffer
	small  []byte          // without rr: the buffer for small reads
	r, w   int
	hot    bool // without rr: the last read would not have fitted small
	// idle, set at a frame boundary by ReadOrIdle, lets the next wait
	// for bytes end in ErrIdle; the first fill clears it.
	idle *idlepoll.Entry
}

func (fr *frameReader) init(nc net.Conn) {
	fr.src = nc
	fr.rr = rawread.New(nc, &readBufPool)
}

func (fr *frameReader) buffered() int { return fr.w - fr.r }

// release gives the pooled buffer back, dropping any unread bytes; the
// reader calls it after a terminal error.
func (fr *frameReader) release() {
	if fr.pooled != nil {
		readBufPool.Put(fr.pooled)
		fr.pooled = nil
	}
	fr.buf = nil
	fr.r, fr.w = 0, 0
}

// consumed gives the pooled buffer back as soon as its bytes are read, on
// a plain socket (rr): a connection closed between messages does not take
// a buffer with it, and one waiting for the next holds none.
func (fr *frameReader) consumed() {
	if fr.rr != nil && fr.r == fr.w {
		fr.release()
	}
}

// fill reads at least one byte into the buffer, which must be empty;
// need is how many bytes the caller wants. With rr the bytes go into a
// pooled buffer taken once they arrived. Otherwise a small need after
// small reads reads into the small buffer, so a quiet connection waiting
// for its next frame holds no pooled buffer; a bigger need, or traffic
// that did not fit the small buffer last time (hot), uses a pooled
// buffer: one read per batch.
func (fr *frameReader) fill(need int) error {
	if fr.rr != nil {
		fr.release()
		e := fr.idle
		fr.idle = nil
		p, n, err := fr.rr.ReadPooledIdle(e)
		if err != nil {
			return err
		}
		fr.buf, fr.pooled, fr.w = *p, p, n
		return nil
	}
	fr.r, fr.w = 0, 0
	if fr.hot || need > inlineReadSize {
		if fr.pooled == nil {
			p := readBufPool.Get().(*[]byte)
			fr.buf, fr.pooled = *p, p
		}
	} else {
		fr.release()
		if fr.small == nil {
			fr.small = make([]byte, inlineReadSize)
		}
		fr.buf = fr.small
	}
	n, err := fr.readDirect(fr.buf)
	if n > 0 {
		fr.w = n
		fr.hot = n == len(fr.buf) || n > inlineReadSize
		return nil // an error comes back on the next read
	}
	return err
}

// readDirect reads at least one byte into p from the connection.
func (fr *frameReader) readDirect(p []byte) (int, error) {
	if fr.rr != nil {
		return fr.rr.Read(p)
	}
	for range 100 {
		n, err := fr.src.Read(p)
		if n > 0 || err != nil {
			return n, err
		}
	}
	return 0, io.ErrNoProgress
}

// readSome copies at least one byte into p (len(p) > 0). With nothing
// buffered, a big p is read into directly, as bufio does.
func (fr *frameReader) readSome(p []byte) (int, error) {
	if fr.r == fr.w {
		if len(p) >= pooledReadSize {
			fr.release()
			n, err := fr.readDirect(p)
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
		if err := fr.fill(len(p)); err != nil {
			return 0, err
		}
	}
	n := copy(p, fr.buf[fr.r:fr.w])
	fr.r += n
	return n, nil
}

// readFull reads exactly len(p) bytes with io.ReadFull's errors: io.EOF
// if none arrived, io.ErrUnexpectedEOF if some did.
func (fr *frameReader) readFull(p []byte) error {
	for n := 0; n < len(p); {
		m, err := fr.readSome(p[n:])
		n += m
		if err != nil {
			if err == io.EOF && n > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// readPayload reads an n-byte payload into a new slice the caller owns.
// Unless the bytes are already here, a big payload is read into a buffer
// that starts at payloadChunk and doubles as bytes arrive: memory follows
// what the peer sent, not what its header announced.
func (fr *frameReader) readPayload(n int) ([]byte, error) {
	var buf []byte
	if n <= payloadChunk || fr.buffered() >= n {
		buf = make([]byte, n)
		if err := fr.readFull(buf); err != nil {
			return nil, eofIsUnexpected(err)
		}
		return buf, nil
	}
	buf = make([]byte, 0, max(payloadChunk, fr.buffered()))
	for len(buf) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(2*cap(buf), n))
			copy(grown, buf)
			buf = grown
		}
		m, err := fr.readSome(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, eofIsUnexpected(err)
		}
	}
	return buf, nil
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
