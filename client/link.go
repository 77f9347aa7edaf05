package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
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

// pending is one request waiting for its reply.
type pending struct {
	ch   chan wamp.Message
	gone chan struct{} // closed when the waiter gave up
	typ  wamp.MessageType
	// onReply runs on the reader before the reply is delivered, so state
	// (subscriptions, registrations) is in place before later messages.
	onReply   func(m wamp.Message, abandoned bool)
	abandoned bool // guarded by link.mu
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

// replyTypes are the messages answering each request type.
var replyTypes = map[wamp.MessageType]wamp.MessageType{
	wamp.TypeResult:       wamp.TypeCall,
	wamp.TypePublished:    wamp.TypePublish,
	wamp.TypeSubscribed:   wamp.TypeSubscribe,
	wamp.TypeUnsubscribed: wamp.TypeUnsubscribe,
	wamp.TypeRegistered:   wamp.TypeRegister,
	wamp.TypeUnregistered: wamp.TypeUnregister,
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

func abortError(m *wamp.Abort) *AbortError {
	msg, _ := wamp.OptString(m.Details, "message")
	args, kwargs, _ := m.Values()
	return &AbortError{Reason: m.Reason, Message: msg, Details: m.Details, Args: args, Kwargs: kwargs}
}

// deliver hands a reply to its waiter. Replies to requests nobody waits
// for any more (a canceled call) are dropped.
func (lk *link) deliver(id wamp.ID, reqType wamp.MessageType, m wamp.Message, progress bool) bool {
	lk.mu.Lock()
	p := lk.pending[id]
	if p == nil {
		lk.mu.Unlock()
		return false
	}
	if p.typ != reqType {
		lk.mu.Unlock()
		lk.abort(wamp.ErrProtocolViolation, fmt.Errorf("client: %v answers request %d, which is a %v", m.MessageType(), id, p.typ))
		return true
	}
	if !progress {
		delete(lk.pending, id)
	}
	abandoned := p.abandoned
	lk.mu.Unlock()
	if p.onReply != nil {
		p.onReply(m, abandoned)
	}
	select {
	case p.ch <- m:
	case <-p.gone:
	case <-lk.dead:
	}
	return false
}

// sendErr translates a queue error.
func (lk *link) sendErr(err error) error {
	if errors.Is(err, transport.ErrQueueFull) {
		return fmt.Errorf("client: outbound queue full: %w", err)
	}
	return errClosed(lk.cause())
}

func (lk *link) encode(m wamp.Message) ([]byte, error) {
	frame, err := lk.cd.Encode(nil, m)
	if err != nil {
		return nil, fmt.Errorf("client: encoding %v: %w", m.MessageType(), err)
	}
	if max := lk.conn.MaxSendSize(); max > 0 && len(frame) > max {
		return nil, fmt.Errorf("client: %v of %d bytes exceeds the router's limit of %d: %w",
			m.MessageType(), len(frame), max, transport.ErrMessageTooBig)
	}
	return frame, nil
}

// send queues a message that is not a new request (YIELD, ERROR, CANCEL,
// GOODBYE, ABORT).
func (lk *link) send(m wamp.Message) error {
	if lk.isDead() {
		return errClosed(lk.cause())
	}
	frame, err := lk.encode(m)
	if err != nil {
		return err
	}
	if err := lk.q.Send(frame); err != nil {
		return lk.sendErr(err)
	}
	return nil
}

// request sends a new request built with the next request id and
// registers a waiter.
func (lk *link) request(progress bool, onReply func(wamp.Message, bool), build func(wamp.ID) wamp.Message) (*pending, wamp.ID, error) {
	size := 1
	if progress {
		size = 16
	}
	p := &pending{ch: make(chan wamp.Message, size), gone: make(chan struct{}), onReply: onReply}
	id, err := lk.queueRequest(build, p)
	if err != nil {
		return nil, 0, err
	}
	return p, id, nil
}

// requestNoReply sends a request whose reply nobody waits for (PUBLISH
// without acknowledge, clean-up UNSUBSCRIBE).
func (lk *link) requestNoReply(build func(wamp.ID) wamp.Message) error {
	_, err := lk.queueRequest(build, nil)
	return err
}

// queueRequest queues the request build makes with the next request id,
// with waiter p (nil: none) in place before it is sent. Ids are assigned
// and queued under sendMu so the router sees them strictly increasing by
// one.
func (lk *link) queueRequest(build func(wamp.ID) wamp.Message, p *pending) (wamp.ID, error) {
	lk.sendMu.Lock()
	defer lk.sendMu.Unlock()
	if lk.isDead() {
		return 0, errClosed(lk.cause())
	}
	id := lk.lastReq + 1
	if id > wamp.MaxID {
		id = 1
	}
	m := build(id)
	frame, err := lk.encode(m)
	if err != nil {
		return 0, err
	}
	if p != nil {
		p.typ = m.MessageType()
		lk.mu.Lock()
		lk.pending[id] = p
		lk.mu.Unlock()
	}
	if err := lk.q.Send(frame); err != nil {
		if p != nil {
			lk.mu.Lock()
			delete(lk.pending, id)
			lk.mu.Unlock()
		}
		return 0, lk.sendErr(err)
	}
	lk.lastReq = id
	return id, nil
}

// forget drops the waiter of request id; a later reply is discarded.
func (lk *link) forget(id wamp.ID) {
	lk.mu.Lock()
	p := lk.pending[id]
	delete(lk.pending, id)
	lk.mu.Unlock()
	if p != nil {
		close(p.gone)
	}
}

// await waits for the single reply of p. When ctx ends first the request
// is abandoned: its onReply still runs (to undo a late subscription) but
// nothing is delivered. A reply that was already on its way is returned.
func (lk *link) await(ctx context.Context, p *pending, id wamp.ID) (wamp.Message, error) {
	select {
	case m := <-p.ch:
		return m, nil
	case <-lk.dead:
		select {
		case m := <-p.ch:
			return m, nil
		default:
		}
		return nil, errClosed(lk.cause())
	case <-ctx.Done():
	}
	lk.mu.Lock()
	_, still := lk.pending[id]
	if still {
		p.abandoned = true
		if p.onReply == nil {
			delete(lk.pending, id)
		}
	}
	lk.mu.Unlock()
	if still {
		close(p.gone)
		return nil, ctx.Err()
	}
	// The reader took the reply already; it is being delivered.
	select {
	case m := <-p.ch:
		return m, nil
	case <-lk.dead:
		select {
		case m := <-p.ch:
			return m, nil
		default:
		}
		return nil, ctx.Err()
	}
}

func matchOrExact(m string) string {
	if m == "" {
		return wamp.MatchExact
	}
	return m
}

func (lk *link) subscribe(ctx context.Context, topic wamp.URI, h eventHandler, ro *reqOptions) (*Subscription, error) {
	sub := &Subscription{Topic: topic, Match: matchOrExact(ro.match), handler: h, lk: lk, slots: make(chan struct{}, maxPendingEvents)}
	onReply := func(m wamp.Message, abandoned bool) {
		sd, ok := m.(*wamp.Subscribed)
		if !ok {
			return
		}
		lk.mu.Lock()
		orphan := abandoned && len(lk.subs[sd.Subscription]) == 0
		if !abandoned {
			sub.ID = sd.Subscription
			lk.subs[sd.Subscription] = append(lk.subs[sd.Subscription], sub)
		}
		lk.mu.Unlock()
		if orphan {
			_ = lk.requestNoReply(func(id wamp.ID) wamp.Message {
				return &wamp.Unsubscribe{Request: id, Subscription: sd.Subscription}
			})
		}
	}
	if err := lk.ask(ctx, onReply, func(id wamp.ID) wamp.Message {
		return &wamp.Subscribe{Request: id, Options: ro.wireOrEmpty(), Topic: topic}
	}); err != nil {
		return nil, err
	}
	return sub, nil
}

func (lk *link) register(ctx context.Context, procedure wamp.URI, h procHandler, ro *reqOptions) (*Registration, error) {
	reg := &Registration{Procedure: procedure, Match: matchOrExact(ro.match), handler: h, lk: lk}
	onReply := func(m wamp.Message, abandoned bool) {
		rd, ok := m.(*wamp.Registered)
		if !ok {
			return
		}
		if abandoned {
			_ = lk.requestNoReply(func(id wamp.ID) wamp.Message {
				return &wamp.Unregister{Request: id, Registration: rd.Registration}
			})
			return
		}
		lk.mu.Lock()
		reg.ID = rd.Registration
		lk.regs[rd.Registration] = reg
		lk.mu.Unlock()
	}
	if err := lk.ask(ctx, onReply, func(id wamp.ID) wamp.Message {
		return &wamp.Register{Request: id, Options: ro.wireOrEmpty(), Procedure: procedure}
	}); err != nil {
		return nil, err
	}
	return reg, nil
}

func (lk *link) unsubscribe(ctx context.Context, sub *Subscription) error {
	lk.mu.Lock()
	list := lk.subs[sub.ID]
	found := false
	for i, s := range list {
		if s == sub {
			list = append(list[:i:i], list[i+1:]...)
			found = true
			break
		}
	}
	if !found {
		lk.mu.Unlock()
		return nil
	}
	if len(list) == 0 {
		delete(lk.subs, sub.ID)
	} else {
		lk.subs[sub.ID] = list
	}
	lk.mu.Unlock()
	if len(list) > 0 || lk.isDead() {
		return nil
	}
	return lk.release(ctx, func(id wamp.ID) wamp.Message {
		return &wamp.Unsubscribe{Request: id, Subscription: sub.ID}
	})
}

func (lk *link) unregister(ctx context.Context, reg *Registration) error {
	lk.mu.Lock()
	if lk.regs[reg.ID] != reg {
		lk.mu.Unlock()
		return nil
	}
	delete(lk.regs, reg.ID)
	lk.mu.Unlock()
	if lk.isDead() {
		return nil
	}
	return lk.release(ctx, func(id wamp.ID) wamp.Message {
		return &wamp.Unregister{Request: id, Registration: reg.ID}
	})
}

// release sends an UNSUBSCRIBE or UNREGISTER built by msg and waits for the
// answer. A session that ends meanwhile released everything anyway, so
// that is not an error.
func (lk *link) release(ctx context.Context, msg func(wamp.ID) wamp.Message) error {
	if err := lk.ask(ctx, nil, msg); err != nil && !errors.Is(err, ErrSessionClosed) {
		return err
	}
	return nil
}

// ask sends the request build makes and waits for its single reply; an
// ERROR reply is returned as *Error.
func (lk *link) ask(ctx context.Context, onReply func(wamp.Message, bool), build func(wamp.ID) wamp.Message) error {
	p, id, err := lk.request(false, onReply, build)
	if err != nil {
		return err
	}
	m, err := lk.await(ctx, p, id)
	if err != nil {
		return err
	}
	if e, ok := m.(*wamp.Error); ok {
		return errorFromMessage(e)
	}
	return nil
}

// attach registers and subscribes every entry of reg; on failure it undoes
// what it did.
func (lk *link) attach(ctx context.Context, reg *Registry) error {
	entries, err := reg.snapshot()
	if err != nil {
		return err
	}
	var (
		subs []*Subscription
		regs []*Registration
	)
	undo := func() {
		for _, s := range subs {
			_ = lk.unsubscribe(ctx, s)
		}
		for _, r := range regs {
			_ = lk.unregister(ctx, r)
		}
	}
	for _, e := range entries {
		ro, err := resolveOptions(e.kind, &lk.info, e.opts)
		if err == nil {
			if e.kind == opRegister {
				var r *Registration
				if r, err = lk.register(ctx, e.uri, e.proc, ro); err == nil {
					regs = append(regs, r)
				}
			} else {
				var s *Subscription
				if s, err = lk.subscribe(ctx, e.uri, e.event, ro); err == nil {
					subs = append(subs, s)
				}
			}
		}
		if err != nil {
			undo()
			return fmt.Errorf("client: attaching %s %s: %w", kindNoun(e.kind), e.uri, err)
		}
	}
	return nil
}

// --- handlers ---

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

func (lk *link) onEvent(m *wamp.Event) {
	lk.mu.Lock()
	handles := lk.subs[m.Subscription]
	lk.mu.Unlock()
	if len(handles) == 0 {
		return // unsubscribed meanwhile
	}
	for _, sub := range handles {
		// A full backlog stops the reader until the handler catches up.
		select {
		case sub.slots <- struct{}{}:
		case <-lk.dead:
			return
		}
		sub.mu.Lock()
		sub.pending = append(sub.pending, m)
		start := !sub.running
		sub.running = true
		sub.mu.Unlock()
		if start {
			lk.enqueue(func() { lk.drainEvents(sub) })
		}
	}
}

// drainEvents runs sub's queued events in order until none is left; at
// most one drainEvents runs per subscription handle.
func (lk *link) drainEvents(sub *Subscription) {
	for {
		sub.mu.Lock()
		if len(sub.pending) == 0 {
			sub.running = false
			sub.mu.Unlock()
			return
		}
		m := sub.pending[0]
		sub.pending[0] = nil
		sub.pending = sub.pending[1:]
		sub.mu.Unlock()
		lk.runEvent(sub, m)
		<-sub.slots
	}
}

// maxPendingEvents bounds one subscription handle's backlog of events.
const maxPendingEvents = 1024

func (lk *link) runEvent(sub *Subscription, m *wamp.Event) {
	args, kwargs, err := m.Values()
	if err != nil {
		lk.s.cfg.Logger.Warn("client: undecodable event payload", "topic", sub.Topic, "err", err)
		return
	}
	ev := &Event{Topic: sub.Topic, Subscription: m.Subscription, Publication: m.Publication,
		Args: args, Kwargs: kwargs, Details: m.Details}
	if t, ok := wamp.OptString(m.Details, "topic"); ok {
		ev.Topic = wamp.URI(t)
	}
	ev.Retained, _ = wamp.OptBool(m.Details, "retained")
	ev.Publisher, _ = wamp.OptID(m.Details, "publisher")
	ev.PublisherAuthID, _ = wamp.OptString(m.Details, "publisher_authid")
	ev.PublisherAuthRole, _ = wamp.OptString(m.Details, "publisher_authrole")
	cc := &CallContext{Context: lk.ctx, Session: lk.s, Event: ev, Topic: ev.Topic, Caller: ev.Publisher,
		CallerAuthID: ev.PublisherAuthID, CallerAuthRole: ev.PublisherAuthRole, Details: m.Details}
	defer func() {
		if r := recover(); r != nil {
			lk.s.cfg.Logger.Error("client: event handler panicked", "topic", ev.Topic, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	if err := sub.handler(cc); err != nil {
		lk.s.cfg.Logger.Warn("client: event handler failed", "topic", ev.Topic, "err", err)
	}
}

// invState is one running invocation.
type invState struct {
	lk     *link
	id     wamp.ID
	ctx    context.Context
	cancel context.CancelFunc
	// timeout reports whether ctx carries a router-forwarded call timeout.
	timeout bool

	// chunks carries the further INVOCATIONs of a progressive call
	// invocation (nil for ordinary calls). The reader sends; it alone
	// reads and writes inputOpen. fail cancels ctx with a cause (chunk
	// overflow).
	chunks    chan *wamp.Invocation
	inputOpen bool
	fail      context.CancelCauseFunc

	mu        sync.Mutex
	done      bool
	inputDone bool // the handler took the last chunk
}

// maxChunks bounds the unread input chunks of one invocation.
const maxChunks = 256

// errChunkOverflow is the cause of an invocation's end when its handler
// left more than maxChunks input chunks unread.
var errChunkOverflow = fmt.Errorf("client: the handler left more than %d input chunks unread", maxChunks)

// endedRingSize is how many ended progressive-input invocations are
// remembered, so a chunk the router sent before it saw our answer is
// dropped instead of being taken for a new invocation.
const endedRingSize = 64

// endedRing holds the ids of recently ended progressive-input
// invocations. Guarded by link.mu.
type endedRing struct {
	ids  [endedRingSize]wamp.ID
	next int
}

func (r *endedRing) add(id wamp.ID) {
	r.ids[r.next] = id
	r.next = (r.next + 1) % endedRingSize
}

func (r *endedRing) contains(id wamp.ID) bool {
	for _, v := range r.ids {
		if v == id && id != 0 {
			return true
		}
	}
	return false
}

func (st *invState) nextChunk(ctx context.Context) (*Chunk, error) {
	st.mu.Lock()
	over := st.inputDone
	st.mu.Unlock()
	if over {
		return nil, io.EOF
	}
	var m *wamp.Invocation
	select {
	case m = <-st.chunks:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-st.ctx.Done():
		return nil, fmt.Errorf("client: invocation interrupted: %w", context.Cause(st.ctx))
	}
	progress, _ := wamp.OptBool(m.Details, "progress")
	if !progress {
		st.mu.Lock()
		st.inputDone = true
		st.mu.Unlock()
	}
	args, kwargs, err := m.Values()
	if err != nil {
		return nil, fmt.Errorf("client: undecodable chunk payload: %w", err)
	}
	return &Chunk{Args: args, Kwargs: kwargs, Details: m.Details, Last: !progress}, nil
}

// continueInvocation hands a further chunk of a progressive call
// invocation to its handler (on the reader). It never waits: a chunk
// that finds the buffer full ends the invocation (its ctx is canceled
// with errChunkOverflow, and the caller gets wamp.error.canceled unless
// the handler answers otherwise); chunks of an ended or interrupted
// invocation are dropped.
func (lk *link) continueInvocation(st *invState, m *wamp.Invocation) {
	if st.chunks == nil || !st.inputOpen {
		lk.s.cfg.Logger.Warn("client: INVOCATION reuses the id of a running invocation that takes no more input; dropped",
			"request", m.Request)
		return
	}
	if progress, _ := wamp.OptBool(m.Details, "progress"); !progress {
		st.inputOpen = false
	}
	if st.ctx.Err() != nil {
		return
	}
	select {
	case st.chunks <- m:
	default:
		st.fail(errChunkOverflow)
	}
}

func (st *invState) progress(ctx context.Context, args wamp.List, kwargs wamp.Dict) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	args, kwargs, err := normalizePayload(args, kwargs)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return errors.New("client: invocation already answered")
	}
	if st.ctx.Err() != nil {
		return fmt.Errorf("client: invocation interrupted: %w", context.Cause(st.ctx))
	}
	return st.lk.send(&wamp.Yield{Request: st.id, Options: wamp.Dict{"progress": true},
		Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
}

func (lk *link) onInvocation(m *wamp.Invocation) {
	lk.mu.Lock()
	reg := lk.regs[m.Registration]
	running := lk.invs[m.Request]
	late := running == nil && lk.ended.contains(m.Request)
	lk.mu.Unlock()
	if running != nil {
		lk.continueInvocation(running, m)
		return
	}
	if late {
		return // a chunk of a progressive call invocation we answered already
	}
	if reg == nil {
		_ = lk.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: m.Request, Details: wamp.Dict{},
			Error: wamp.ErrNoSuchRegistration})
		return
	}
	st := &invState{lk: lk, id: m.Request}
	if ms, ok := wamp.OptInt(m.Details, "timeout"); ok && ms > 0 {
		st.ctx, st.cancel = context.WithTimeout(lk.ctx, time.Duration(ms)*time.Millisecond)
		st.timeout = true
	} else {
		st.ctx, st.cancel = context.WithCancel(lk.ctx)
	}
	if progress, _ := wamp.OptBool(m.Details, "progress"); progress {
		st.chunks = make(chan *wamp.Invocation, maxChunks)
		st.inputOpen = true
		base, cancelBase := st.ctx, st.cancel
		st.ctx, st.fail = context.WithCancelCause(base)
		st.cancel = func() { st.fail(nil); cancelBase() }
	}
	lk.mu.Lock()
	lk.invs[m.Request] = st
	lk.mu.Unlock()
	lk.enqueue(func() { lk.runInvocation(reg, st, m) })
}

func (lk *link) runInvocation(reg *Registration, st *invState, m *wamp.Invocation) {
	defer func() {
		st.cancel()
		lk.mu.Lock()
		delete(lk.invs, st.id)
		if st.chunks != nil {
			lk.ended.add(st.id)
		}
		lk.mu.Unlock()
	}()
	var (
		res Result
		err error
	)
	args, kwargs, derr := m.Values()
	if derr != nil {
		err = &Error{URI: wamp.ErrInvalidArgument, Args: wamp.List{"client: undecodable payload: " + derr.Error()}}
	} else {
		inv := &Invocation{Procedure: reg.Procedure, Registration: m.Registration, Args: args, Kwargs: kwargs,
			Details: m.Details, st: st}
		if p, ok := wamp.OptString(m.Details, "procedure"); ok && p != "" {
			inv.Procedure = wamp.URI(p)
		}
		inv.Caller, _ = wamp.OptID(m.Details, "caller")
		inv.CallerAuthID, _ = wamp.OptString(m.Details, "caller_authid")
		inv.CallerAuthRole, _ = wamp.OptString(m.Details, "caller_authrole")
		cc := &CallContext{Context: st.ctx, Session: lk.s, Invocation: inv, Procedure: inv.Procedure,
			Caller: inv.Caller, CallerAuthID: inv.CallerAuthID, CallerAuthRole: inv.CallerAuthRole, Details: m.Details}
		res, err = lk.callHandler(reg, cc)
	}
	st.mu.Lock()
	st.done = true
	st.mu.Unlock()
	if lk.isDead() {
		return
	}
	if err == nil {
		var a wamp.List
		var k wamp.Dict
		var yo wamp.Dict
		if yo, err = pptKeys(res.Details); err == nil {
			if a, k, err = normalizePayload(res.Args, res.Kwargs); err == nil {
				err = lk.send(&wamp.Yield{Request: st.id, Options: yo, Payload: wamp.Payload{Args: a, Kwargs: k}})
				if err == nil || errors.Is(err, ErrSessionClosed) {
					return
				}
			}
		}
		err = fmt.Errorf("client: sending result: %w", err)
	}
	var we *Error
	switch {
	case errors.As(err, &we):
	case errors.Is(context.Cause(st.ctx), errChunkOverflow):
		we = &Error{URI: wamp.ErrCanceled, Args: wamp.List{errChunkOverflow.Error()}}
	case st.ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		uri := wamp.ErrCanceled
		if st.timeout && errors.Is(st.ctx.Err(), context.DeadlineExceeded) {
			uri = wamp.ErrTimeout
		}
		we = &Error{URI: uri, Args: wamp.List{err.Error()}}
	default:
		we = handlerError(err)
	}
	a, k, nerr := normalizePayload(we.Args, we.Kwargs)
	if nerr != nil {
		a, k = wamp.List{fmt.Sprintf("client: error payload not encodable: %v", nerr)}, nil
	}
	if serr := lk.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: st.id, Details: wamp.Dict{},
		Error: we.URI, Payload: wamp.Payload{Args: a, Kwargs: k}}); serr != nil && !errors.Is(serr, ErrSessionClosed) {
		lk.s.cfg.Logger.Warn("client: sending error", "procedure", reg.Procedure, "err", serr)
	}
}

// pptKeys returns the ppt_* keys of a handler's Result.Details (payload
// passthru mode) as YIELD options, empty when there are none. They must be
// strings with a non-empty ppt_scheme: the router aborts a session that
// sends anything else.
func pptKeys(d wamp.Dict) (wamp.Dict, error) {
	out := wamp.Dict{}
	for k, v := range d {
		if !strings.HasPrefix(k, "ppt_") {
			continue
		}
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("client: result details %s must be a string, got %s", k, typeName(v))
		}
		out[k] = v
	}
	if scheme, _ := out["ppt_scheme"].(string); len(out) > 0 && scheme == "" {
		return nil, errors.New("client: result details ppt_* need a non-empty ppt_scheme")
	}
	return out, nil
}

func (lk *link) callHandler(reg *Registration, cc *CallContext) (res Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			lk.s.cfg.Logger.Error("client: procedure handler panicked", "procedure", cc.Procedure, "panic", r,
				"stack", string(debug.Stack()))
			res, err = Result{}, &Error{URI: wamp.ErrRuntimeError, Args: wamp.List{fmt.Sprintf("handler panicked: %v", r)}}
		}
	}()
	return reg.handler(cc)
}

// --- joining ---

// connect dials the transport and joins the realm.
func (s *Session) connect(ctx context.Context) (*link, error) {
	conn, err := dialTransport(ctx, s.url, s.purl, &s.cfg)
	if err != nil {
		return nil, fmt.Errorf("client: connecting to %s: %w", s.url, err)
	}
	info, err := s.join(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return newLink(s, conn, info), nil
}

func (s *Session) join(ctx context.Context, conn transport.Conn) (SessionInfo, error) {
	cd := conn.Codec()
	details := wamp.Dict{"roles": helloRoles(), "agent": s.cfg.Agent}
	extra := wamp.Dict{}
	for k, v := range s.cfg.AuthExtra {
		extra[k] = v
	}
	if len(s.cfg.Auth) > 0 {
		methods := make(wamp.List, len(s.cfg.Auth))
		for i, a := range s.cfg.Auth {
			methods[i] = a.Method()
			for k, v := range a.HelloExtra() {
				extra[k] = v
			}
		}
		details["authmethods"] = methods
	}
	if len(extra) > 0 {
		nx, err := normalizeDict(extra)
		if err != nil {
			return SessionInfo{}, fmt.Errorf("client: Config.AuthExtra: %w", err)
		}
		details["authextra"] = nx
	}
	if s.cfg.AuthID != "" {
		details["authid"] = s.cfg.AuthID
	}
	if s.cfg.AuthRole != "" {
		details["authrole"] = s.cfg.AuthRole
	}
	write := func(m wamp.Message) error {
		b, err := cd.Encode(nil, m)
		if err != nil {
			return fmt.Errorf("client: encoding %v: %w", m.MessageType(), err)
		}
		if err := conn.Write(ctx, [][]byte{b}); err != nil {
			return fmt.Errorf("client: sending %v: %w", m.MessageType(), err)
		}
		return nil
	}
	abort := func(reason wamp.URI, err error) error {
		_ = write(&wamp.Abort{Details: wamp.Dict{"message": err.Error()}, Reason: reason})
		return err
	}
	if err := write(&wamp.Hello{Realm: s.cfg.Realm, Details: details}); err != nil {
		return SessionInfo{}, err
	}
	for {
		data, err := conn.Read(ctx)
		if err != nil {
			return SessionInfo{}, fmt.Errorf("client: joining %s: %w", s.cfg.Realm, err)
		}
		m, err := cd.Decode(data)
		if err != nil {
			return SessionInfo{}, abort(wamp.ErrProtocolViolation, fmt.Errorf("client: bad message from router: %w", err))
		}
		switch m := m.(type) {
		case *wamp.Welcome:
			return infoFromWelcome(s.cfg.Realm, m), nil
		case *wamp.Abort:
			return SessionInfo{}, abortError(m)
		case *wamp.Challenge:
			var a Authenticator
			for _, c := range s.cfg.Auth {
				if c.Method() == m.AuthMethod {
					a = c
					break
				}
			}
			if a == nil {
				return SessionInfo{}, abort(wamp.ErrProtocolViolation,
					fmt.Errorf("client: router challenged with method %q, which was not offered", m.AuthMethod))
			}
			info := conn.Info()
			sig, extra, err := a.Authenticate(ctx, &Challenge{Method: m.AuthMethod, Extra: m.Extra, TLS: info.TLS})
			if err != nil {
				return SessionInfo{}, abort(wamp.ErrAuthenticationFailed, fmt.Errorf("client: %s authentication: %w", m.AuthMethod, err))
			}
			if extra == nil {
				extra = wamp.Dict{}
			}
			if err := write(&wamp.Authenticate{Signature: sig, Extra: extra}); err != nil {
				return SessionInfo{}, err
			}
		default:
			return SessionInfo{}, abort(wamp.ErrProtocolViolation,
				fmt.Errorf("client: unexpected %v while joining", m.MessageType()))
		}
	}
}
