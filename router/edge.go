package router

import (
	"context"
	"crypto/tls"
	"errors"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The connection edge: what happens between accept() and the first
// WELCOME. Every accepted connection is an edgeConn, counted against its
// listener's and its source address's connection limits until it closes,
// and closed by its guard timer unless a WAMP session claims it before the
// handshake deadline (HelloTimeout from accept).

// acceptRetryable reports whether an accept error is worth retrying: file
// descriptor or memory exhaustion, an aborted connection, or anything the
// net package calls temporary. Other errors end the accept loop.
func acceptRetryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	var te interface{ Temporary() bool }
	if errors.As(err, &te) && te.Temporary() {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// acceptBackoff is net/http's: 5 ms, doubling to 1 s.
func acceptBackoff(prev time.Duration) time.Duration {
	return min(max(2*prev, 5*time.Millisecond), time.Second)
}

// ipConns counts open connections by source address. Its mutex is a leaf:
// nothing else is locked while holding it.
type ipConns struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

// acquire counts one more connection from a unless that reaches max
// (0: unlimited); ok=false means refuse it.
func (ic *ipConns) acquire(a netip.Addr, max int) bool {
	if max <= 0 || !a.IsValid() {
		return true
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.n[a] >= max {
		return false
	}
	if ic.n == nil {
		ic.n = map[netip.Addr]int{}
	}
	ic.n[a]++
	return true
}

func (ic *ipConns) release(a netip.Addr, max int) {
	if max <= 0 || !a.IsValid() {
		return
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.n[a]--; ic.n[a] <= 0 {
		delete(ic.n, a)
	}
}

// sourceAddr is the IP a connection comes from; invalid for Unix sockets
// (they are not limited per source).
func sourceAddr(nc net.Conn) netip.Addr {
	if ta, ok := nc.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// admitConn applies the listener and per-IP connection limits to a freshly
// accepted connection. It returns the connection to serve, or nil after
// closing a refused one (cheaply: no read, no write).
func (r *Router) admitConn(nc net.Conn, t *Transport, open *atomic.Int64) *edgeConn {
	maxConns := t.MaxConnections
	if maxConns == 0 {
		maxConns = r.opts.MaxConnectionsPerListener
	}
	if n := open.Add(1); maxConns > 0 && n > int64(maxConns) {
		open.Add(-1)
		r.stats.refusedConns.Add(1)
		r.warnLimited("connection refused: listener at its connection limit", "transport", t.Name, "max", maxConns)
		nc.Close()
		return nil
	}
	src, perIP := sourceAddr(nc), r.opts.MaxConnectionsPerIP
	if !r.ipConns.acquire(src, perIP) {
		open.Add(-1)
		r.stats.refusedConns.Add(1)
		r.warnLimited("connection refused: source address at its connection limit", "remote", src, "max", perIP)
		nc.Close()
		return nil
	}
	e := &edgeConn{Conn: nc, deadline: time.Now().Add(r.opts.HelloTimeout)}
	e.release = func() {
		open.Add(-1)
		r.ipConns.release(src, perIP)
	}
	// Armed only once e.guard is set: the callback and Close read it.
	g := time.AfterFunc(time.Duration(math.MaxInt64), func() {
		r.stats.handshakeTimeouts.Add(1)
		e.Close()
	})
	e.guard.Store(g)
	g.Reset(r.opts.HelloTimeout)
	return e
}

// edgeConn is an accepted connection until it closes: Close releases its
// connection-limit slots once; its guard closes it at the handshake
// deadline unless a session claimed it. Claim and Close drop the guard
// (an idle session would keep a stopped timer and its closure).
type edgeConn struct {
	net.Conn
	deadline time.Time
	guard    atomic.Pointer[time.Timer]
	release  func()
	once     sync.Once
}

func (c *edgeConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		if g := c.guard.Swap(nil); g != nil {
			g.Stop() // closed already: nothing for the guard to do
		}
		c.release()
	})
	return err
}

// NetConn exposes the wrapped connection (TLS state lookups go through it).
func (c *edgeConn) NetConn() net.Conn { return c.Conn }

// SyscallConn exposes the socket of a plain (not TLS) connection: the
// transports wait on it for bytes before taking a read buffer.
func (c *edgeConn) SyscallConn() (syscall.RawConn, error) { return syscallConn(c.Conn) }

var errNoSocket = errors.New("router: no socket under this connection")

func syscallConn(nc net.Conn) (syscall.RawConn, error) {
	if sc, ok := nc.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSocket
}

// handshakeFailed closes e (nc wraps it) after its transport handshake
// failed. A handshake that hit the deadline (the socket deadline is the
// guard's) is a handshake timeout like the guard's own: whichever of the
// two comes first counts it, once.
func (r *Router) handshakeFailed(e *edgeConn, nc net.Conn, err error) {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		if g := e.guard.Swap(nil); g != nil && g.Stop() {
			r.stats.handshakeTimeouts.Add(1)
		}
	}
	nc.Close()
}

// claim stops the guard: the WAMP session now enforces the deadline it
// returns (and answers ABORT when it passes). ok=false: the guard already
// fired and the connection is closed.
func (c *edgeConn) claim() (deadline time.Time, ok bool) {
	g := c.guard.Swap(nil)
	return c.deadline, g != nil && g.Stop()
}

// edgeKey carries the *edgeConn of a connection in its context.
type edgeKey struct{}

// claimEdge claims the edge connection ctx carries, if any, and returns
// the handshake deadline for the connection's first session (zero when
// there is no edge: a handler mounted on the user's own server).
func claimEdge(ctx context.Context) (time.Time, bool) {
	e, _ := ctx.Value(edgeKey{}).(*edgeConn)
	if e == nil {
		return time.Time{}, true
	}
	return e.claim()
}

// unwrap finds the *edgeConn and *tls.Conn under c, looking through
// wrappers with a NetConn method.
func unwrap(c net.Conn) (e *edgeConn, tc *tls.Conn) {
	for c != nil {
		switch v := c.(type) {
		case *edgeConn:
			e = v
		case *tls.Conn:
			tc = v
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		c = u.NetConn()
	}
	return e, tc
}
