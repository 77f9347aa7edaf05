package client

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

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

// await waits for the single reply of p. When ctx ends first the request
// is abandoned: its onReply still runs (to undo a late subscription) but
// nothing is delivered. A reply that was already on its way is returned.
func (lk *link) await(ctx context.Context, p *pending, id wamp.ID) (wamp.Message, error) {
	select {
	case m := <-p.ch:
		return m, nil
	case <-lk.dead:
		return p.replyOr(errClosed(lk.cause()))
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
		return p.replyOr(ctx.Err())
	}
}

// replyOr returns the reply that reached p before its link died, else err.
func (p *pending) replyOr(err error) (wamp.Message, error) {
	select {
	case m := <-p.ch:
		return m, nil
	default:
		return nil, err
	}
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

// release sends an UNSUBSCRIBE or UNREGISTER built by msg and waits for the
// answer. A session that ends meanwhile released everything anyway, so
// that is not an error.
func (lk *link) release(ctx context.Context, msg func(wamp.ID) wamp.Message) error {
	if err := lk.ask(ctx, nil, msg); err != nil && !errors.Is(err, ErrSessionClosed) {
		return err
	}
	return nil
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

// sendErr translates a queue error.
func (lk *link) sendErr(err error) error {
	if errors.Is(err, transport.ErrQueueFull) {
		return fmt.Errorf("client: outbound queue full: %w", err)
	}
	return errClosed(lk.cause())
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
