package router

import (
	"context"
	"slices"
	"sync"
	"time"
)

// connCtx is a connection's context, cancelled once when it closes. It is
// what context.WithCancel would give, except for where it keeps the
// contexts derived from it (a handshake's timeout, an authorizer call's):
// a slice that empties when they end, where a cancelCtx keeps a map that
// stays allocated at its largest for the connection's life. The context
// package uses AfterFunc for parents that have it.
type connCtx struct {
	mu    sync.Mutex
	done  chan struct{} // made by the first Done
	err   error
	funcs []afterFunc
	next  uint64
}

type afterFunc struct {
	id uint64
	f  func()
}

func (c *connCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *connCtx) Value(any) any               { return nil }

func (c *connCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

func (c *connCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc runs f on its own goroutine once c is cancelled (at once if it
// is); stop undoes that if f has not started, as context.AfterFunc's does.
func (c *connCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	c.next++
	id := c.next
	c.funcs = append(c.funcs, afterFunc{id, f})
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.IndexFunc(c.funcs, func(a afterFunc) bool { return a.id == id })
		if i < 0 {
			return false
		}
		c.funcs = slices.Delete(c.funcs, i, i+1)
		if len(c.funcs) == 0 {
			c.funcs = nil
		}
		return true
	}
}

// cancel cancels c with context.Canceled; later calls do nothing.
func (c *connCtx) cancel() {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = context.Canceled
	if c.done != nil {
		close(c.done)
	}
	funcs := c.funcs
	c.funcs = nil
	c.mu.Unlock()
	for _, a := range funcs {
		go a.f()
	}
}
