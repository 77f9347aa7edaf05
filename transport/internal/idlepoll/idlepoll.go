// Package idlepoll lets a connection wait for its peer's next message
// without a goroutine. A read loop blocked for its next message holds its
// goroutine (a stack of 4 KiB or more) for as long as the peer is silent,
// which for an idle session is most of its life. Instead, a connection
// whose reader has waited a while at a message boundary is interrupted
// (the read returns transport.ErrIdle), its reader's goroutine returns,
// and the connection is parked: registered in a process-wide epoll set
// that one goroutine waits on. When the socket becomes readable (or is
// closed) the connection's resume function runs and the read loop goes on.
//
// The same goroutine sweeps the enrolled connections: a reader waiting
// at a boundary is marked at one sweep and interrupted, by a read
// deadline in the past, once it has stayed marked for the idle time.
// The hot path pays two atomic operations per read that waits; nothing
// is reset per read. The goroutine runs only while connections are
// enrolled.
package idlepoll

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
)

// Reader states (Entry.state).
const (
	stIdle    uint32 = iota // not waiting (reading, working, or not asked to idle)
	stWaiting               // waiting at a message boundary
	stSeen                  // waiting, and a sweep has seen it
	stWaking                // the sweeper set a past read deadline to interrupt the wait
	stParked                // no reader: registered for readiness
)

// Entry is one connection's idle state. Its zero value is not enrolled;
// a connection embeds one and calls Enroll before its first idle read.
// It is small (48 bytes): what only the poller needs is in its table.
type Entry struct {
	state atomic.Uint32
	slot  int32 // index in poller.slots + 1; 0: not enrolled (poller.mu)

	// mu orders the sweeper's past deadline before the reader's clearing
	// of it, and Park against Close and wake.
	mu     sync.Mutex
	nc     net.Conn
	resume func() // while parked
	armed  bool   // registered in the epoll set (one-shot, possibly fired)
	closed bool
}

// Enroll makes e the idle state of nc, with idle as the time a reader
// waits at a boundary before it is interrupted. It reports false, leaving
// e unenrolled, if parking is not supported, nc does not expose its
// socket (syscall.Conn) or e was closed.
func (e *Entry) Enroll(nc net.Conn, idle time.Duration) bool {
	if _, ok := nc.(syscall.Conn); !ok || !supported || idle <= 0 {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	if e.slot != 0 {
		return true
	}
	e.nc = nc
	return thePoller.enroll(e, idle)
}

// Waiting notes that the reader is about to wait for bytes at a message
// boundary. Called on every wait; a wait already marked stays marked.
func (e *Entry) Waiting() { e.state.CompareAndSwap(stIdle, stWaiting) }

// Woke ends a wait that Waiting began and reports whether the sweeper
// interrupted it, after undoing the interrupt's deadline: a read error
// that is a timeout then means "idle", not a failure.
func (e *Entry) Woke() (interrupted bool) {
	if e.state.Swap(stIdle) != stWaking {
		return false
	}
	e.mu.Lock() // the sweeper's SetReadDeadline has returned
	_ = e.nc.SetReadDeadline(time.Time{})
	e.mu.Unlock()
	return true
}

// IsTimeout reports whether err is a read deadline's error.
func IsTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Park registers e for readiness and leaves it without a reader: resume
// runs (once, on the poller's goroutine or the closer's) when the socket
// has bytes, reaches EOF or errors, or when e is closed. The caller's
// reader must not touch the connection after Park returned true. It
// returns false, and does not call resume, if e is closed or could not be
// registered: the caller then reads as usual.
func (e *Entry) Park(resume func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || e.slot == 0 {
		return false
	}
	e.resume = resume
	e.state.Store(stParked)
	if err := thePoller.arm(e); err != nil {
		e.state.Store(stIdle)
		e.resume = nil
		return false
	}
	e.armed = true
	return true
}

// wake resumes a parked e once; the first of readiness and Close wins.
func (e *Entry) wake() {
	e.mu.Lock()
	if !e.state.CompareAndSwap(stParked, stIdle) {
		e.mu.Unlock()
		return
	}
	f := e.resume
	e.resume = nil
	e.mu.Unlock()
	f()
}

// Close deregisters e before its connection closes the socket (so that
// a reused descriptor is never watched for it) and resumes a parked
// reader, which then finds the connection closed. Idempotent.
func (e *Entry) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	if e.armed {
		thePoller.disarm(e)
		e.armed = false
	}
	var f func()
	if e.state.CompareAndSwap(stParked, stIdle) {
		f, e.resume = e.resume, nil
	}
	enrolled := e.slot != 0
	e.mu.Unlock()
	if enrolled {
		thePoller.unenroll(e)
	}
	if f != nil {
		f()
	}
}

// ErrIdle is what a reader interrupted at a boundary returns.
var ErrIdle = transport.ErrIdle

// Gate is a connection's ReadOrIdle state, owned by its single reader:
// its Entry, whether it enrolled, and whether the read in progress may
// idle.
type Gate struct {
	Entry
	enrolled int8 // 0 not tried, 1 enrolled, -1 cannot park
	on       bool // in ReadOrIdle on an enrolled connection
}

// Begin starts a ReadOrIdle read. The first enrols nc if canPark (the
// connection exposes its socket); the read may idle if nc enrolled and
// ctx cannot end.
func (g *Gate) Begin(ctx context.Context, nc net.Conn, canPark bool, idle time.Duration) {
	if g.enrolled == 0 {
		g.enrolled = -1
		if canPark && g.Enroll(nc, idle) {
			g.enrolled = 1
		}
	}
	g.on = g.enrolled > 0 && ctx.Done() == nil
}

// End ends the read Begin started.
func (g *Gate) End() { g.on = false }

// On reports whether the read in progress may idle.
func (g *Gate) On() bool { return g.on }
