// Package trywrite writes to a socket without waiting for it: one
// write(2) that takes what the socket buffer has room for. The shared
// writers of transport.Queue use it so that a peer that does not read
// never holds one of them. It is shared by the transports.
package trywrite

import (
	"errors"
	"os"
	"sync"
	"syscall"

	"github.com/tollgate-wamp/tollgate/transport"
)

// op is one write's arguments and results; fn is its method value, made
// once per pooled op so that a write allocates nothing.
type op struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

var ops = sync.Pool{New: func() any {
	o := new(op)
	o.fn = o.write
	return o
}}

// Write writes b to the socket behind rc with one write(2), without
// waiting: n is what the socket took. A full buffer and a passed deadline
// (a Write under its context sorts that out) are transport.ErrWouldBlock
// with n 0; any other error fails the connection, as in net.Conn.Write.
func Write(rc syscall.RawConn, b []byte) (int, error) {
	o := ops.Get().(*op)
	o.b, o.n, o.err = b, 0, nil
	err := rc.Write(o.fn)
	n := o.n
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = transport.ErrWouldBlock
	case err == nil:
		err = o.err
		if err == nil && n == 0 {
			err = transport.ErrWouldBlock
		}
	}
	o.b, o.err = nil, nil
	ops.Put(o)
	return n, err
}

// write is the RawConn callback; it always returns true: never wait.
func (o *op) write(fd uintptr) bool {
	for {
		n, err := syscall.Write(int(fd), o.b)
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EAGAIN):
		case err != nil:
			o.err = os.NewSyscallError("write", err)
		default:
			o.n = n
		}
		return true
	}
}
