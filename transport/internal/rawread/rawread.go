// Package rawread waits until a socket has bytes before taking a buffer to
// read them into. A connection blocked in Read for its peer's next message
// (an idle session, most of its life) then holds no read buffer: the
// buffer comes from a pool once bytes arrived and goes back when they are
// consumed. It is shared by the transports.
package rawread

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"github.com/tollgate-wamp/tollgate/transport/internal/idlepoll"
)

// Reader reads one socket. Only one goroutine may use it at a time.
type Reader struct {
	rc   syscall.RawConn
	pool *sync.Pool // of *[]byte
	fn   func(fd uintptr) bool

	// One read's arguments and results, for fn.
	into []byte  // the caller's buffer; nil: one from pool
	p    *[]byte // the pooled buffer taken
	n    int
	err  error
	idle *idlepoll.Entry // non-nil: a wait may be interrupted as idle
}

// New returns a Reader of nc's socket with buffers from pool (which holds
// *[]byte), or nil if nc does not expose its socket (syscall.Conn, as
// *net.TCPConn and *net.UnixConn do; a TLS connection does not): the
// caller then reads nc as usual. Deadlines set on nc apply to the reads.
func New(nc net.Conn, pool *sync.Pool) *Reader {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	r := &Reader{rc: rc, pool: pool}
	r.fn = r.read
	return r
}

// RawConn is the socket's syscall.RawConn: the transports' non-blocking
// writes use it too (a socket's reads and writes lock separately).
func (r *Reader) RawConn() syscall.RawConn { return r.rc }

// ReadPooled waits until the socket has bytes (or EOF, an error, the
// deadline), then reads them into a buffer from the pool. It returns that
// buffer, which the caller puts back into the pool, and the bytes read
// (at least one, unless err is non-nil, when p is nil). At the end of the
// stream err is io.EOF.
func (r *Reader) ReadPooled() (p *[]byte, n int, err error) {
	r.into = nil
	n, err = r.do()
	p, r.p = r.p, nil
	return p, n, err
}

// ReadPooledIdle is ReadPooled at a message boundary of a connection
// whose idle state is e: a wait that e's sweeper interrupts returns
// idlepoll.ErrIdle, with nothing read and the socket as it was. With a
// nil e it is ReadPooled.
func (r *Reader) ReadPooledIdle(e *idlepoll.Entry) (p *[]byte, n int, err error) {
	if e == nil {
		return r.ReadPooled()
	}
	r.idle = e
	p, n, err = r.ReadPooled()
	r.idle = nil
	if e.Woke() && p == nil && idlepoll.IsTimeout(err) {
		return nil, 0, idlepoll.ErrIdle
	}
	return p, n, err
}

// Read reads into b (len(b) > 0) as io.Reader does.
func (r *Reader) Read(b []byte) (int, error) {
	r.into = b
	n, err := r.do()
	r.into = nil
	return n, err
}

func (r *Reader) do() (int, error) {
	r.n, r.err = 0, nil
	if err := r.rc.Read(r.fn); err != nil {
		r.release()
		return 0, err // closed, or the deadline passed
	}
	if r.err != nil {
		r.release()
	}
	return r.n, r.err
}

func (r *Reader) release() {
	if r.p != nil {
		r.pool.Put(r.p)
		r.p = nil
	}
}

// read is the RawConn callback: false means "no bytes yet, wait".
func (r *Reader) read(fd uintptr) bool {
	b := r.into
	if b == nil {
		r.p = r.pool.Get().(*[]byte)
		b = *r.p
	}
	for {
		n, err := syscall.Read(int(fd), b)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
			r.release() // wait for the bytes without the buffer
			if r.idle != nil {
				r.idle.Waiting()
			}
			return false
		case err != nil:
			r.err = os.NewSyscallError("read", err)
		case n == 0:
			r.err = io.EOF
		default:
			r.n = n
		}
		return true
	}
}
