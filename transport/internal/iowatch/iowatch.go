// Package iowatch makes blocking I/O on a net.Conn honour a context without
// registering anything per call. It is shared by the transports.
package iowatch

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Watch makes blocking I/O in one direction of a connection honour a
// context, and keeps its context.AfterFunc registration across calls that
// pass the same context. A read or write loop uses one
// context for its whole life, so steady-state I/O registers nothing and
// allocates nothing.
//
// The registration outlives the calls, so the callback only acts while an
// I/O call under its context is in progress: it then sets the direction's
// deadline in the past, which the call's end (or the next call) undoes.
type Watch struct {
	Set func(net.Conn, time.Time) error // SetRead or SetWrite

	mu      sync.Mutex
	watched context.Context // context with a live AfterFunc registration
	stop    func() bool
	active  context.Context // context of the I/O call in progress, if any
	tripped bool            // the callback set a past deadline still in place
}

// Begin prepares one I/O call under ctx. It returns ctx's error if ctx has
// already ended; otherwise a Call whose End must be called when the
// I/O returns. The call is a value, so Begin and End allocate nothing.
func (w *Watch) Begin(ctx context.Context, nc net.Conn) (Call, error) {
	if err := ctx.Err(); err != nil {
		return Call{}, err
	}
	w.mu.Lock()
	if w.tripped {
		_ = w.Set(nc, time.Time{})
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
	call := Call{w: w, ctx: ctx, nc: nc}
	call.dl, call.hasDL = ctx.Deadline()
	if call.hasDL {
		_ = w.Set(nc, call.dl)
	}
	return call, nil
}

// Release drops the context registration, so a closed connection is not
// kept alive by a long-lived context it was once read or written under.
func (w *Watch) Release() {
	w.mu.Lock()
	if w.stop != nil {
		w.stop()
		w.stop, w.watched = nil, nil
	}
	w.mu.Unlock()
}

// Call is one I/O call in progress under a Watch.
type Call struct {
	w     *Watch
	ctx   context.Context
	nc    net.Conn
	dl    time.Time
	hasDL bool
}

// End finishes the call: it clears deadlines and maps an I/O error caused
// by the context to the context's error.
func (c Call) End(ioErr error) error {
	w := c.w
	if w == nil { // Lazy.Begin without a watch
		return ioErr
	}
	w.mu.Lock()
	w.active = nil
	if c.hasDL || w.tripped {
		_ = w.Set(c.nc, time.Time{})
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
func (w *Watch) fire(ctx context.Context, nc net.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.active == ctx {
		_ = w.Set(nc, time.Unix(1, 0))
		w.tripped = true
	}
}

// SetRead sets nc's read deadline.
func SetRead(nc net.Conn, t time.Time) error { return nc.SetReadDeadline(t) }

// SetWrite sets nc's write deadline.
func SetWrite(nc net.Conn, t time.Time) error { return nc.SetWriteDeadline(t) }

// Lazy is a Watch made at the first Begin under a context that can end.
// I/O under one that cannot (context.Background: the router's) needs no
// watch, so such a connection pays a pointer instead of a Watch. As with
// Watch, a Begin after Release registers again.
type Lazy struct{ p atomic.Pointer[Watch] }

// Begin is Watch.Begin on the watch that set (SetRead or SetWrite) makes.
func (l *Lazy) Begin(ctx context.Context, nc net.Conn, set func(net.Conn, time.Time) error) (Call, error) {
	if ctx.Done() == nil {
		return Call{}, nil // nothing to watch: End returns the I/O error
	}
	w := l.p.Load()
	if w == nil {
		w = &Watch{Set: set}
		if !l.p.CompareAndSwap(nil, w) {
			w = l.p.Load()
		}
	}
	return w.Begin(ctx, nc)
}

// Release is Watch.Release, if a watch was made.
func (l *Lazy) Release() {
	if w := l.p.Load(); w != nil {
		w.Release()
	}
}
