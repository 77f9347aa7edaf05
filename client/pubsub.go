package client

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Publish publishes an event to topic. Without Acknowledge it returns once
// the PUBLISH is queued for sending; with Acknowledge it waits for the
// router's PUBLISHED or ERROR (*Error).
//
// Options: Acknowledge, ExcludeMe, DiscloseMe, Exclude, ExcludeAuthID,
// ExcludeAuthRole, Eligible, EligibleAuthID, EligibleAuthRole, Retain, PPT,
// WireOption.
func (s *Session) Publish(ctx context.Context, topic wamp.URI, args wamp.List, kwargs wamp.Dict, opts ...Option) error {
	lk, err := s.current(ctx)
	if err != nil {
		return err
	}
	ro, err := resolveOptions(opPublish, &lk.info, opts)
	if err != nil {
		return err
	}
	if args, kwargs, err = normalizePayload(args, kwargs); err != nil {
		return err
	}
	build := func(id wamp.ID) wamp.Message {
		return &wamp.Publish{Request: id, Options: ro.wireOrEmpty(), Topic: topic, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	}
	if !ro.ack {
		return lk.requestNoReply(build)
	}
	return lk.ask(ctx, nil, build)
}

// Subscribe subscribes fn to topic and returns a handle for Unsubscribe.
//
// fn is an EventFunc (func(context.Context, *Event)) or a typed function
// decoded like a procedure handler (see Register) that returns nothing or
// an error (logged). Options: Match, GetRetained, ParamNames, WireOption.
// Handlers run concurrently (Config.MaxConcurrentHandlers).
func (s *Session) Subscribe(ctx context.Context, topic wamp.URI, fn any, opts ...Option) (*Subscription, error) {
	lk, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	ro, err := resolveOptions(opSubscribe, &lk.info, opts)
	if err != nil {
		return nil, err
	}
	h, err := eventHandlerOf(fn, ro.names)
	if err != nil {
		return nil, err
	}
	return lk.subscribe(ctx, topic, h, ro)
}

// Unsubscribe removes a subscription handle. The router subscription is
// removed when its last handle on this session goes. A handle of a router
// session that has since ended is already gone: Unsubscribe returns nil.
func (s *Session) Unsubscribe(ctx context.Context, sub *Subscription) error {
	if sub == nil || sub.lk == nil {
		return errors.New("client: Unsubscribe needs a subscription handle")
	}
	return sub.lk.unsubscribe(ctx, sub)
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
