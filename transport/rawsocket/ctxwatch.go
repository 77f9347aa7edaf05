package rawsocket

import (
	"context"
	"net"
	"sync"
	"time"
)

// ctxWatch makes blocking I/O in one direction of a connection honour a
// context, like withCtx, but keeps its context.AfterFunc registration
// across calls that pass the same context. A read or write loop uses one
// context for its whole life, so steady-state I/O registers nothing and
// allocates nothing.
//
// The registration outlives the calls, so the callback only acts while an
// I/O call under its context is in progress: it then sets the direction's
// deadline in the past, which the call's end (or the next call) undoes.
type ctxWatch struct {
	set func(net.Conn, time.Time) error

	mu      sync.Mutex
	watched context.Context // context with a live AfterFunc registration
	stop    func() bool
	active  context.Context // context of the I/O call in progress, if any
	tripped bool            // the callback set a past deadline still in place
}

// begin prepares one I/O call under ctx. It returns ctx's error if ctx has
// already ended; otherwise a watchedCall whose end must be called when the
// I/O returns. The call is a value, so begin and end allocate nothing.
func (w *ctxWatch) begin(ctx context.Context, nc net.Conn) (watchedCall, error) {
	if err := ctx.Err(); err != nil {
		return watchedCall{}, err
	}
	w.mu.Lock()
	if w.tripped {
		_ = w.set(nc, time.Time{})
		w.tripped = false
	}
	if ctx.Done() != nil {
		if ctx != w.watched {
			if w.stop != nil {
				w.stop()
			}
			w.watched = ctx
			w.stop = context.AfterFunc(ctx, func() { w.fire(ctx, nc) })
		}
		w.active = ctx
	}
	w.mu.Unlock()
	call := watchedCall{w: w, ctx: ctx, nc: nc}
	call.dl, call.hasDL = ctx.Deadline()
	if call.hasDL {
		_ = w.set(nc, call.dl)
	}
	return call, nil
}

// release drops the context registration, so a closed connection is not
// kept alive by a long-lived context it was once read or written under.
func (w *ctxWatch) release() {
	w.mu.Lock()
	if w.stop != nil {
		w.stop()
		w.stop, w.watched = nil, nil
	}
	w.mu.Unlock()
}

// watchedCall is one I/O call in progress under a ctxWatch.
type watchedCall struct {
	w     *ctxWatch
	ctx   context.Context
	nc    net.Conn
	dl    time.Time
	hasDL bool
}

// end finishes the call: it clears deadlines and maps an I/O error caused
// by the context to the context's error.
func (c watchedCall) end(ioErr error) error {
	w := c.w
	w.mu.Lock()
	w.active = nil
	if c.hasDL || w.tripped {
		_ = w.set(c.nc, time.Time{})
		w.tripped = false
	}
	w.mu.Unlock()
	if ioErr == nil {
		return nil
	}
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if c.hasDL && !time.Now().Before(c.dl) {
		// The socket deadline can fire before ctx's own timer.
		return context.DeadlineExceeded
	}
	return ioErr
}

// fire interrupts the I/O call in progress if it runs under ctx.
func (w *ctxWatch) fire(ctx context.Context, nc net.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active == ctx {
		_ = w.set(nc, time.Unix(1, 0))
		w.tripped = true
	}
}
