package router

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Contexts derived from a connection's end with it, and those that ended
// first leave nothing registered on it.
func TestConnCtx(t *testing.T) {
	c := &connCtx{}
	timeout, cancelTimeout := context.WithTimeout(c, time.Hour)
	child, cancelChild := context.WithCancel(c)
	ran := make(chan struct{})
	context.AfterFunc(c, func() { close(ran) })
	cancelTimeout()
	c.mu.Lock()
	n := len(c.funcs)
	c.mu.Unlock()
	if n != 2 {
		t.Fatalf("%d registrations after one child ended, want 2", n)
	}
	c.cancel()
	c.cancel() // idempotent
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a child did not end with the connection's context")
	}
	<-ran
	if !errors.Is(child.Err(), context.Canceled) || !errors.Is(c.Err(), context.Canceled) || !errors.Is(timeout.Err(), context.Canceled) {
		t.Fatalf("errors %v, %v, %v", child.Err(), c.Err(), timeout.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed after cancel")
	}
	cancelChild()
	late, cancelLate := context.WithCancel(c)
	defer cancelLate()
	if late.Err() == nil {
		t.Fatal("a context derived after cancel is not done")
	}
}
