package router

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/internal/linger"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// conn is one client connection. Its read loop (serve) runs the WAMP
// sessions on it one after the other (a new HELLO may follow a GOODBYE).
type conn struct {
	r     *Router
	tc    transport.Conn
	codec codec.Codec
	q     *transport.Queue
	log   *slog.Logger
	auth  map[string]auth.Authenticator // by method; nil: anonymous only
	// ctx lives until the connection closes; its read loop, writer and
	// authorizer calls use it. cancel ends it (close calls it).
	ctx    context.Context
	cancel context.CancelFunc

	// closing is set when the router started a close (shutdown, kill): the
	// read loop then only waits for the peer's GOODBYE.
	closing atomic.Bool
	current atomic.Pointer[session]
	// welcomeMu makes queueing WELCOME and storing current one step for a
	// router GOODBYE (realm.add, goodbye): a close started in between would
	// otherwise see no session and drop the connection without GOODBYE
	// after the client already has its WELCOME.
	welcomeMu sync.Mutex
	closeOnce sync.Once
	// helloDeadline ends the first session's handshake: HelloTimeout from
	// accept (edge.go); zero when the connection came from elsewhere.
	helloDeadline time.Time

	// The read loop's: parkable while an established session reads (its
	// reads may find the connection idle), idle when one did, noPark once
	// the transport refused to park.
	parkable, idle, noPark bool

	msgs  msgCounters              // this connection's share of the message counters (metrics_shard.go)
	calls atomic.Pointer[callHist] // its calls' latency, from the first call on (metrics_calls.go)
}

// logAttrs are the attrs of the connection's logger (logattrs.go).
func (c *conn) logAttrs() []slog.Attr {
	info := c.tc.Info()
	return []slog.Attr{slog.String("remote", info.RemoteAddr), slog.String("transport", string(info.Kind)), slog.String("serializer", info.Serializer)}
}

// helloWait is how long the next handshake may take: what is left of the
// connection's deadline for its first session, HelloTimeout afterwards.
func (c *conn) helloWait() time.Duration {
	d := c.r.opts.HelloTimeout
	if !c.helloDeadline.IsZero() {
		d = min(d, max(time.Until(c.helloDeadline), time.Millisecond))
		c.helloDeadline = time.Time{}
	}
	return d
}

func (c *conn) send(m wamp.Message) bool {
	f, err := c.codec.Encode(nil, m)
	if err != nil {
		c.log.Warn("cannot encode message", "type", m.MessageType(), "err", err)
		return false
	}
	if !c.enqueue(f, false) {
		return false
	}
	c.sent(m, len(f))
	return true
}

// sent counts m, queued as n bytes, in the metrics.
func (c *conn) sent(m wamp.Message, n int) {
	t := m.MessageType()
	c.msgs.out(t, n)
	if t == wamp.TypeError {
		c.r.countError(m)
	}
}

// enqueue queues a frame and applies the slow-consumer policy.
func (c *conn) enqueue(f []byte, event bool) bool {
	if max := c.tc.MaxSendSize(); max > 0 && len(f) > max {
		c.r.stats.oversize.Add(1)
		c.log.Debug("message larger than the peer accepts, not sent", "bytes", len(f), "max", max)
		return false
	}
	err := c.q.Send(f)
	if err == nil {
		return true
	}
	if errors.Is(err, transport.ErrQueueFull) {
		if event && c.r.opts.SlowConsumer == SlowConsumerDropEvents {
			c.r.stats.droppedEvents.Add(1)
			return false
		}
		c.r.stats.slowConsumers.Add(1)
		c.r.warnLimited("slow consumer: outbound queue full, closing connection", "remote", c.tc.Info().RemoteAddr)
		c.close()
	}
	return false
}

// close ends the connection at once (writer stops, reader unblocks).
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.q.Close()
		c.tc.Close()
	})
}

// closeAfterDrain closes the connection once its queue is written (or
// after GoodbyeTimeout), without blocking the caller.
func (c *conn) closeAfterDrain() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.r.opts.GoodbyeTimeout)
		defer cancel()
		c.q.Drain(ctx)
		c.close()
	}()
}

// serve starts the connection: its writer, which runs only while frames
// wait (transport.Queue.Start), and its read loop (run). An idle
// connection has one goroutine, its read loop, and a parked one none.
func (c *conn) serve() {
	// Reads and writes need no context: whatever cancels ctx closes the
	// transport too (close), which ends them, and a context would cost
	// every connection two context.AfterFunc registrations.
	c.q.Start(context.Background(), c.writeFailed)
	c.run(nil)
}

// run is the read loop: it runs the connection's WAMP sessions one after
// the other (a new HELLO may follow a GOODBYE), from s when it resumes
// an established session after parking (nil: a handshake first), until
// the connection ends (end) or parks again (park: this goroutine returns
// and run resumes on another when the socket is readable or closed).
func (c *conn) run(s *session) {
	ctx := c.ctx
	parked := false
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in session; closing it", "panic", v, "stack", string(debug.Stack()))
		}
		if !parked {
			c.end()
		}
	}()
	for {
		if s == nil {
			s = &session{conn: c, log: c.log}
			if !c.handshakeAside(ctx, s) { // makes s current once it joined
				return
			}
		}
		c.parkable = c.r.opts.IdleParkAfter > 0
		more := s.established(ctx)
		c.parkable = false
		if c.idle {
			c.idle = false
			if parked = c.park(s); parked {
				return
			}
			continue // closed meanwhile (the read fails) or cannot park
		}
		c.current.Store(nil)
		s.leaveRealm()
		if !more {
			return
		}
		s = nil // GOODBYE exchanged: the transport stays open for a new HELLO
	}
}

// park hands the idle connection's wait to the transport (read found it
// idle). It reports false if the transport refused: the connection was
// closed meanwhile, or cannot park, which then stops trying.
func (c *conn) park(s *session) bool {
	parked := &c.r.stats.parked
	parked.Add(1) // before: resume may run before Park returns
	if c.tc.(transport.Parker).Park(func() {
		parked.Add(-1)
		asides.Go(func() { c.run(s) })
	}) {
		c.r.connParked() // memory.go
		return true
	}
	parked.Add(-1)
	c.noPark = true
	return false
}

// end runs once the read loop is over: the session leaves, queued frames
// (ABORT, GOODBYE) get a moment to reach the peer, the connection closes
// and leaves the router.
func (c *conn) end() {
	if s := c.current.Swap(nil); s != nil {
		s.leaveRealm()
	}
	dctx, dcancel := context.WithTimeout(context.Background(), c.r.opts.GoodbyeTimeout)
	c.q.Drain(dctx)
	dcancel()
	c.close()
	c.q.Wait()
	r := c.r
	r.mu.Lock()
	delete(r.conns, c)
	r.retire(c)
	r.connClosed() // memory.go
	r.mu.Unlock()
	r.wg.Done()
}

// writeFailed ends the connection after a failed write (the queue has
// closed itself): it unblocks the reader.
func (c *conn) writeFailed(err error) {
	if c.ctx.Err() == nil {
		c.log.Debug("writer stopped", "err", err)
		c.tc.Close()
	}
}

// handshakeAside runs s.handshake on another goroutine (asides) and waits
// for it. Authentication, decoding HELLO and encoding WELCOME grow a stack to
// 8 KiB or more, and a goroutine keeps its stack while it waits: done on
// the read loop, every idle session would hold that stack.
func (c *conn) handshakeAside(ctx context.Context, s *session) bool {
	ok := make(chan bool, 1)
	asides.Go(func() {
		defer func() {
			if v := recover(); v != nil {
				c.log.Error("panic in handshake; closing the connection", "panic", v, "stack", string(debug.Stack()))
				ok <- false
			}
		}()
		ok <- s.handshake(ctx)
	})
	return <-ok
}

// asides run handshakes and new connections' dispatch: work that grows a
// stack to 8 KiB or more, on goroutines that have grown it already
// (internal/linger) instead of a fresh one per connection.
var asides = linger.New(50 * time.Millisecond)

// read reads and decodes one message. A decode failure is answered with
// ABORT protocol_violation and reported as ok=false.
func (c *conn) read(ctx context.Context) (wamp.Message, bool) {
	var (
		data []byte
		err  error
	)
	if pk, ok := c.tc.(transport.Parker); ok && c.parkable && !c.noPark {
		data, err = pk.ReadOrIdle(context.Background(), c.r.opts.IdleParkAfter)
		if err == transport.ErrIdle {
			c.idle = true // run parks the connection
			return nil, false
		}
	} else {
		data, err = c.tc.Read(context.Background()) // see serve: close ends it
	}
	if err != nil {
		if errors.Is(err, transport.ErrMessageTooBig) {
			c.abort(wamp.ErrProtocolViolation, "message exceeds the maximum size")
		} else if ctx.Err() == nil && !c.closing.Load() {
			c.log.Debug("connection lost", "err", err)
		}
		return nil, false
	}
	m, err := c.codec.Decode(data)
	if err != nil {
		c.r.stats.protocolViolations.Add(1)
		c.abort(wamp.ErrProtocolViolation, protocolMessage(err))
		return nil, false
	}
	c.msgs.in(m.MessageType(), len(data))
	return m, true
}

func protocolMessage(err error) string {
	var pe *wamp.ProtocolError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}

// abort sends ABORT; the caller then ends the connection.
func (c *conn) abort(reason wamp.URI, msg string) {
	c.log.Debug("abort", "reason", reason, "message", msg)
	c.send(&wamp.Abort{Details: wamp.Dict{"message": msg}, Reason: reason})
}

// goodbye starts a router-side close of the connection: GOODBYE with
// reason to an established session (the read loop then waits for the
// reply, bounded by GoodbyeTimeout), or an immediate close otherwise.
func (c *conn) goodbye(reason wamp.URI, msg string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.welcomeMu.Lock()
	if c.current.Load() == nil {
		c.welcomeMu.Unlock()
		c.close()
		return
	}
	details := wamp.Dict{}
	if msg != "" {
		details["message"] = msg
	}
	c.send(&wamp.Goodbye{Details: details, Reason: reason})
	c.welcomeMu.Unlock()
	time.AfterFunc(c.r.opts.GoodbyeTimeout, c.close)
}
