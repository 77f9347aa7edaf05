// Package linger runs functions on goroutines that stay a moment after
// finishing one and take the next. Work that needs a deep stack (a
// handshake, a write) started on a fresh goroutine grows its 2 KiB stack
// each time, and every growth copies the stack; a lingering goroutine has
// grown already. Nothing is kept while there is no work: a goroutine
// leaves after Linger without any.
package linger

import "time"

// Pool is a set of lingering goroutines. Its zero value is unusable; make
// one with New.
type Pool struct {
	linger time.Duration
	idle   chan func() // unbuffered: a send succeeds only if one waits
}

// New returns a Pool whose goroutines wait linger for more work.
func New(linger time.Duration) *Pool {
	return &Pool{linger: linger, idle: make(chan func())}
}

// Go runs f on a lingering goroutine, or on a new one if none waits.
func (p *Pool) Go(f func()) {
	select {
	case p.idle <- f:
	default:
		go p.run(f)
	}
}

func (p *Pool) run(f func()) {
	t := time.NewTimer(p.linger)
	defer t.Stop()
	for {
		f()
		f = nil // not kept while waiting
		t.Reset(p.linger)
		select {
		case f = <-p.idle:
		case <-t.C:
			return
		}
	}
}
