package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// workQueueSize bounds the INVOCATIONs and EVENTs waiting for a free
// handler slot before the reader stops reading.
const workQueueSize = 1024

// link is one router session on one transport connection. A Session owns
// one link at a time and replaces it on reconnect.
//
// Goroutines: reader (reads, decodes, routes replies inline), writer
// (transport.Queue.Run, the only writer of conn), dispatcher (starts
// handlers within the session's concurrency limit) and one per running
// handler. All are counted in wg and end after fail.
//
// Locks: sendMu (request id order) is taken before mu; nothing blocking is
// done under mu.
type link struct {
	s      *Session
	conn   transport.Conn
	cd     codec.Codec
	q      *transport.Queue
	info   SessionInfo
	ctx    context.Context // canceled by fail; parent of handler contexts
	cancel context.CancelFunc
	// start is released once the session knows about the link, so that a
	// loss is reported only for a link the session uses.
	start sync.WaitGroup

	sendMu  sync.Mutex
	lastReq wamp.ID // guarded by sendMu

	mu      sync.Mutex
	pending map[wamp.ID]*pending
	// subs: a list's elements never change (subscribe appends, unsubscribe
	// builds a new list), so the event reader uses one without copying.
	subs       map[wamp.ID][]*Subscription
	regs       map[wamp.ID]*Registration
	invs       map[wamp.ID]*invState
	ended      endedRing // progressive-input invocations that ended
	closing    bool      // we sent GOODBYE
	localClose bool
	err        error // cause of death, set before dead closes

	byeCh    chan struct{} // closed when the GOODBYE reply arrived
	byeOnce  sync.Once
	dead     chan struct{}
	deadOnce sync.Once
	work     chan func()
	wg       sync.WaitGroup
}

func newLink(s *Session, conn transport.Conn, info SessionInfo) *link {
	lk := &link{
		s: s, conn: conn, cd: conn.Codec(), info: info,
		q:       transport.NewQueue(conn, transport.QueueOptions{}),
		pending: map[wamp.ID]*pending{},
		subs:    map[wamp.ID][]*Subscription{},
		regs:    map[wamp.ID]*Registration{},
		invs:    map[wamp.ID]*invState{},
		byeCh:   make(chan struct{}),
		dead:    make(chan struct{}),
		work:    make(chan func(), workQueueSize),
	}
	lk.ctx, lk.cancel = context.WithCancel(context.Background())
	lk.start.Add(1)
	lk.wg.Add(3)
	go lk.readLoop()
	go lk.writeLoop()
	go lk.dispatchLoop()
	return lk
}

func (lk *link) isDead() bool {
	select {
	case <-lk.dead:
		return true
	default:
		return false
	}
}

func (lk *link) cause() error {
	lk.mu.Lock()
	defer lk.mu.Unlock()
	return lk.err
}

// fail ends the link with cause err (nil for a local close). Idempotent.
func (lk *link) fail(err error) {
	lk.deadOnce.Do(func() {
		lk.mu.Lock()
		lk.err = err
		lk.mu.Unlock()
		close(lk.dead)
		lk.cancel()
		lk.q.Close()
		_ = lk.conn.Close()
	})
}

// wait waits for the link's goroutines, bounded by ctx.
func (lk *link) wait(ctx context.Context) {
	ch := make(chan struct{})
	go func() { lk.wg.Wait(); close(ch) }()
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// discard ends a link the session never used.
func (lk *link) discard(ctx context.Context, err error) {
	lk.start.Done()
	lk.abort(wamp.CloseNormal, err)
	lk.wait(ctx)
}

// abort sends ABORT (best effort, briefly drained) and ends the link.
func (lk *link) abort(reason wamp.URI, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if lk.send(&wamp.Abort{Details: wamp.Dict{"message": msg}, Reason: reason}) == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = lk.q.Drain(ctx)
		cancel()
	}
	lk.fail(err)
}

// goodbye runs the closing handshake and ends the link.
func (lk *link) goodbye(ctx context.Context) error {
	lk.mu.Lock()
	lk.closing, lk.localClose = true, true
	lk.mu.Unlock()
	var err error
	if lk.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal}) == nil {
		select {
		case <-lk.byeCh:
		case <-lk.dead:
		case <-ctx.Done():
			err = fmt.Errorf("client: no GOODBYE reply from the router: %w", ctx.Err())
		}
	}
	lk.fail(nil)
	return err
}

func (lk *link) writeLoop() {
	defer lk.wg.Done()
	if err := lk.q.Run(lk.ctx); err != nil && !errors.Is(err, context.Canceled) {
		lk.fail(fmt.Errorf("client: write: %w", err))
	}
}

func (lk *link) readLoop() {
	defer lk.wg.Done()
	for {
		data, err := lk.conn.Read(lk.ctx)
		if err != nil {
			lk.fail(fmt.Errorf("client: connection lost: %w", err))
			break
		}
		m, err := lk.cd.Decode(data)
		if err != nil {
			lk.abort(wamp.ErrProtocolViolation, fmt.Errorf("client: bad message from router: %w", err))
			break
		}
		if lk.route(m) {
			break
		}
	}
	lk.start.Wait()
	lk.s.linkDown(lk)
}

// route handles one message on the reader; it reports whether the link
// is finished.
func (lk *link) route(m wamp.Message) bool {
	switch m := m.(type) {
	case *wamp.Result:
		progress, _ := wamp.OptBool(m.Details, "progress")
		return lk.deliver(m.Request, wamp.TypeCall, m, progress)
	case *wamp.Error:
		if !m.RequestType.IsRequest() || m.RequestType == wamp.TypeInvocation {
			lk.abort(wamp.ErrProtocolViolation, fmt.Errorf("client: ERROR for request type %v", m.RequestType))
			return true
		}
		return lk.deliver(m.Request, m.RequestType, m, false)
	case *wamp.Published:
		return lk.deliver(m.Request, wamp.TypePublish, m, false)
	case *wamp.Subscribed:
		return lk.deliver(m.Request, wamp.TypeSubscribe, m, false)
	case *wamp.Registered:
		return lk.deliver(m.Request, wamp.TypeRegister, m, false)
	case *wamp.Unsubscribed:
		if m.Request == 0 {
			id, _ := wamp.OptID(m.Details, "subscription")
			lk.mu.Lock()
			delete(lk.subs, id)
			lk.mu.Unlock()
			return false
		}
		return lk.deliver(m.Request, wamp.TypeUnsubscribe, m, false)
	case *wamp.Unregistered:
		if m.Request == 0 {
			id, _ := wamp.OptID(m.Details, "registration")
			lk.mu.Lock()
			delete(lk.regs, id)
			lk.mu.Unlock()
			return false
		}
		return lk.deliver(m.Request, wamp.TypeUnregister, m, false)
	case *wamp.Event:
		lk.onEvent(m)
		return false
	case *wamp.Invocation:
		lk.onInvocation(m)
		return false
	case *wamp.Interrupt:
		lk.mu.Lock()
		st := lk.invs[m.Request]
		lk.mu.Unlock()
		if st != nil {
			st.cancel()
		}
		return false
	case *wamp.Goodbye:
		lk.mu.Lock()
		closing := lk.closing
		lk.mu.Unlock()
		if closing {
			lk.byeOnce.Do(func() { close(lk.byeCh) })
			lk.fail(nil)
			return true
		}
		msg, _ := wamp.OptString(m.Details, "message")
		if lk.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut}) == nil {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_ = lk.q.Drain(ctx)
			cancel()
		}
		lk.fail(&GoodbyeError{Reason: m.Reason, Message: msg, Details: m.Details})
		return true
	case *wamp.Abort:
		lk.fail(abortError(m))
		return true
	}
	lk.abort(wamp.ErrProtocolViolation, fmt.Errorf("client: unexpected %v from router", m.MessageType()))
	return true
}

func (lk *link) dispatchLoop() {
	defer lk.wg.Done()
	for {
		select {
		case f := <-lk.work:
			select {
			case lk.s.sem <- struct{}{}:
			case <-lk.dead:
				return
			}
			lk.wg.Add(1)
			go func() {
				defer func() { <-lk.s.sem; lk.wg.Done() }()
				f()
			}()
		case <-lk.dead:
			return
		}
	}
}

// enqueue hands a handler run to the dispatcher; it blocks the reader
// while the work queue is full.
func (lk *link) enqueue(f func()) {
	select {
	case lk.work <- f:
	case <-lk.dead:
	}
}
