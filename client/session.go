package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Session is a WAMP session with a router. It survives reconnects when
// Config.Reconnect is enabled: the same *Session then stands for each new
// router session in turn (Info changes), and its registries are attached
// again. Subscriptions and registrations made directly with Subscribe and
// Register belong to one router session and are not restored.
//
// All methods are safe for concurrent use. Every request method takes a
// ctx bounding its wait; every request gets exactly one answer, and when
// the session ends all pending requests fail with an error wrapping
// ErrSessionClosed (and the cause).
type Session struct {
	cfg  Config
	url  string
	purl *url.URL
	sem  chan struct{}

	mu       sync.Mutex
	lk       *link         // current link; nil while reconnecting or closed
	changed  chan struct{} // closed and replaced whenever lk changes or the session ends
	regs     []*Registry
	closed   bool  // Close was called, or the session ended for good
	endErr   error // why the session ended for good (nil after Close)
	stop     chan struct{}
	done     chan struct{}
	bg       sync.WaitGroup // reconnect loops
	doneOnce sync.Once
}

// Dial connects to the router at rawURL (ws://, wss://, tcp://host:port,
// tls://host:port or unix:///path), joins cfg.Realm, attaches
// cfg.Registry and calls cfg.OnJoin. ctx bounds all of that.
//
// A refusal by the router is returned as *AbortError. Invalid
// configuration, an invalid Registry entry or a failed attach are returned
// as errors too; nothing is left running then.
func Dial(ctx context.Context, rawURL string, cfg Config) (*Session, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Session{
		cfg: c, url: rawURL, purl: u,
		sem:     make(chan struct{}, c.MaxConcurrentHandlers),
		changed: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if c.Registry != nil {
		if err := c.Registry.Err(); err != nil {
			return nil, err
		}
		s.regs = append(s.regs, c.Registry)
	}
	lk, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.attachAll(ctx, lk); err != nil {
		lk.discard(ctx, err)
		return nil, err
	}
	s.mu.Lock()
	s.setLinkLocked(lk)
	s.mu.Unlock()
	lk.start.Done() // let the reader report a loss to the session
	if c.OnJoin != nil {
		c.OnJoin(s)
	}
	return s, nil
}

// Info returns what the router said in WELCOME for the current router
// session (the zero SessionInfo while reconnecting or after the end).
func (s *Session) Info() SessionInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lk == nil {
		return SessionInfo{}
	}
	return s.lk.info
}

// ID returns the current router session id (0 when not joined).
func (s *Session) ID() wamp.ID { return s.Info().ID }

// Done is closed when the session has ended for good: after Close, or after
// a loss without (successful) reconnection.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended for good, nil while it lives and after
// a plain Close.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endErr
}

func (s *Session) setLinkLocked(lk *link) {
	s.lk = lk
	close(s.changed)
	s.changed = make(chan struct{})
}

// current returns the live link, waiting for a reconnect in progress.
func (s *Session) current(ctx context.Context) (*link, error) {
	for {
		s.mu.Lock()
		lk, closed, endErr, ch := s.lk, s.closed, s.endErr, s.changed
		s.mu.Unlock()
		if lk != nil && !lk.isDead() {
			return lk, nil
		}
		if closed {
			return nil, errClosed(endErr)
		}
		if lk != nil { // dead, and the reader has not reported it yet
			select {
			case <-lk.dead:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if !s.cfg.Reconnect.Enabled {
				return nil, errClosed(lk.cause())
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond): // re-check a dead link
		}
	}
}

// linkDown is called by the reader goroutine once its link is dead.
func (s *Session) linkDown(lk *link) {
	cause := lk.cause()
	s.mu.Lock()
	if s.lk != lk {
		s.mu.Unlock()
		return
	}
	s.setLinkLocked(nil)
	userClosed := s.closed
	reconnect := !userClosed && s.cfg.Reconnect.Enabled && !lk.localClose
	if !userClosed && !reconnect {
		s.closed, s.endErr = true, cause
	}
	if reconnect {
		s.bg.Add(1)
	}
	s.mu.Unlock()

	if s.cfg.OnLeave != nil {
		if lk.localClose {
			s.cfg.OnLeave(s, nil)
		} else {
			s.cfg.OnLeave(s, cause)
		}
	}
	if reconnect {
		go s.reconnectLoop()
		return
	}
	if !userClosed {
		s.finish()
	}
}

func (s *Session) finish() {
	s.doneOnce.Do(func() { close(s.done) })
}

func (s *Session) reconnectLoop() {
	defer s.bg.Done()
	rc := s.cfg.Reconnect
	delay := rc.MinDelay
	var lastErr error
	for attempt := 1; rc.MaxAttempts == 0 || attempt <= rc.MaxAttempts; attempt++ {
		t := time.NewTimer(delay)
		select {
		case <-s.stop:
			t.Stop()
			return
		case <-t.C:
		}
		delay = min(delay*2, rc.MaxDelay)

		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.JoinTimeout)
		lk, err := s.connect(ctx)
		if err == nil {
			if err = s.attachAll(ctx, lk); err != nil {
				lk.discard(ctx, err)
			}
		}
		cancel()
		if err != nil {
			lastErr = err
			s.cfg.Logger.Warn("client: reconnect attempt failed", "url", s.url, "attempt", attempt, "err", err)
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			lk.discard(context.Background(), ErrSessionClosed)
			return
		}
		s.setLinkLocked(lk)
		s.mu.Unlock()
		lk.start.Done()
		if s.cfg.OnJoin != nil {
			s.cfg.OnJoin(s)
		}
		return
	}
	s.mu.Lock()
	s.closed = true
	s.endErr = fmt.Errorf("client: reconnect failed after %d attempts: %w", rc.MaxAttempts, lastErr)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.finish()
}

// Close ends the session: it says GOODBYE (wamp.close.normal), waits for
// the router's reply (bounded by ctx, or Config.CloseTimeout if ctx has no
// deadline), fails pending requests with ErrSessionClosed, cancels running
// handlers' contexts and waits for them and the session's goroutines.
// Reconnection stops. Close is idempotent; later calls return nil.
//
// Close waits for running handlers and hooks, so calling it from a handler,
// OnJoin or OnLeave makes it wait until its ctx ends; call it from another
// goroutine there.
func (s *Session) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	lk := s.lk
	close(s.stop)
	s.mu.Unlock()

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.CloseTimeout)
		defer cancel()
	}
	var err error
	if lk != nil {
		err = lk.goodbye(ctx)
		lk.wait(ctx)
	}
	bgDone := make(chan struct{})
	go func() { s.bg.Wait(); close(bgDone) }()
	select {
	case <-bgDone:
	case <-ctx.Done():
	}
	s.mu.Lock()
	if s.lk != nil {
		s.setLinkLocked(nil)
	}
	s.mu.Unlock()
	s.finish()
	return err
}

// Attach registers every procedure and subscribes every subscriber of reg
// on this session, and remembers reg so it is attached again after a
// reconnect. If reg has recorded errors (Registry.Err) or any entry fails,
// Attach undoes what it attached and returns the error; reg is then not
// remembered.
func (s *Session) Attach(ctx context.Context, reg *Registry) error {
	if reg == nil {
		return errors.New("client: Attach needs a registry")
	}
	lk, err := s.current(ctx)
	if err != nil {
		return err
	}
	if err := lk.attach(ctx, reg); err != nil {
		return err
	}
	s.mu.Lock()
	s.regs = append(s.regs, reg)
	s.mu.Unlock()
	return nil
}

func (s *Session) attachAll(ctx context.Context, lk *link) error {
	s.mu.Lock()
	regs := append([]*Registry(nil), s.regs...)
	s.mu.Unlock()
	for _, r := range regs {
		if err := lk.attach(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// Call calls procedure with positional args and keyword kwargs and
// returns the final result. A callee's or the router's ERROR is returned
// as *Error.
//
// Options: ReceiveProgress, CancelMode, CallTimeout, DiscloseMe, PPT,
// WireOption. For streamed input see CallProgressive. When ctx ends before the result, Call sends CANCEL (mode
// killnowait unless CancelMode says otherwise; only if the router supports
// call_canceling) and waits for the router's answer; the returned error
// then wraps both ctx.Err() and the router's *Error. With mode kill the
// callee may still deliver a result, which is returned.
func (s *Session) Call(ctx context.Context, procedure wamp.URI, args wamp.List, kwargs wamp.Dict, opts ...Option) (*Result, error) {
	lk, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	ro, err := resolveOptions(opCall, &lk.info, opts)
	if err != nil {
		return nil, err
	}
	if args, kwargs, err = normalizePayload(args, kwargs); err != nil {
		return nil, err
	}
	p, id, err := lk.request(ro.progress != nil, nil, func(id wamp.ID) wamp.Message {
		return &wamp.Call{Request: id, Options: ro.wireOrEmpty(), Procedure: procedure, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
	})
	if err != nil {
		return nil, err
	}
	return s.awaitCall(ctx, lk, p, id, ro)
}

// awaitCall waits for the final answer to CALL id: progressive results go
// to ro.progress, and when ctx ends the call is canceled (see Call).
func (s *Session) awaitCall(ctx context.Context, lk *link, p *pending, id wamp.ID, ro *reqOptions) (*Result, error) {
	ctxDone := ctx.Done()
	var (
		cancelErr error
		grace     <-chan time.Time
	)
	// handle processes one reply; final reports whether the call is done.
	handle := func(m wamp.Message) (*Result, error, bool) {
		res, err, final := ro.callReply(m)
		if final && cancelErr != nil {
			if _, isErr := m.(*wamp.Error); isErr {
				return nil, fmt.Errorf("%w (%w)", cancelErr, err), true
			}
		}
		return res, err, final
	}
	for {
		select {
		case m := <-p.ch:
			if res, err, final := handle(m); final {
				return res, err
			}
		case <-lk.dead:
			// Replies that arrived before the end still count.
			for {
				select {
				case m := <-p.ch:
					if res, err, final := handle(m); final {
						return res, err
					}
					continue
				default:
				}
				break
			}
			return nil, errClosed(lk.cause())
		case <-ctxDone:
			ctxDone = nil
			cancelErr = ctx.Err()
			if !lk.info.Supports("dealer", "call_canceling") {
				lk.forget(id)
				return nil, cancelErr
			}
			mode := ro.cancelMode
			if mode == "" {
				mode = CancelKillNoWait
			}
			if err := lk.send(&wamp.Cancel{Request: id, Options: wamp.Dict{"mode": mode}}); err != nil {
				lk.forget(id)
				return nil, cancelErr
			}
			t := time.NewTimer(s.cfg.CancelTimeout)
			defer t.Stop()
			grace = t.C
		case <-grace:
			lk.forget(id)
			return nil, cancelErr
		}
	}
}

// callReply processes one reply to a CALL: a progressive result goes to
// o.progress; final reports whether m ends the call.
func (o *reqOptions) callReply(m wamp.Message) (res *Result, err error, final bool) {
	switch m := m.(type) {
	case *wamp.Result:
		progress, _ := wamp.OptBool(m.Details, "progress")
		res, err := resultOf(m)
		if progress {
			if err == nil && o.progress != nil {
				o.progress(res)
			}
			return nil, nil, false
		}
		return res, err, true
	case *wamp.Error:
		return nil, errorFromMessage(m), true
	}
	return nil, wamp.Protocolf("unexpected reply %T to CALL", m), true
}

func resultOf(m *wamp.Result) (*Result, error) {
	args, kwargs, err := m.Values()
	if err != nil {
		return nil, fmt.Errorf("client: decoding result payload: %w", err)
	}
	return &Result{Args: args, Kwargs: kwargs, Details: m.Details}, nil
}

func (o *reqOptions) wireOrEmpty() wamp.Dict {
	if o.wire == nil {
		return wamp.Dict{}
	}
	return o.wire
}

func normalizePayload(args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	a, err := normalizeList(args)
	if err != nil {
		return nil, nil, fmt.Errorf("client: args: %w", err)
	}
	k, err := normalizeDict(kwargs)
	if err != nil {
		return nil, nil, fmt.Errorf("client: kwargs: %w", err)
	}
	return a, k, nil
}

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

// Register registers fn as procedure and returns a handle for Unregister.
//
// fn is a HandlerFunc or a typed function. Typed functions may take a
// *CallContext or context.Context first; the remaining parameters are
// filled from the positional arguments in order, with lossless numeric
// conversions (a float64 from JSON fills an int parameter if integral);
// a trailing struct or map[string]T parameter takes the kwargs when the
// call has one positional argument less than the function. Struct fields
// are matched by `wamp` tag, `json` tag, or name (case-insensitive). A
// mismatch answers wamp.error.invalid_argument with a message such as
// "argument 2: want string, got float64" (ParamNames adds names). Results:
// (T, error), (T), (error) or none; T becomes the single positional
// result, a Result or *Result is sent as is. A returned *Error is sent as
// is; any other error becomes wamp.error.runtime_error with its text.
//
// Options: Match, Invoke, DiscloseCaller, ParamNames, WireOption.
func (s *Session) Register(ctx context.Context, procedure wamp.URI, fn any, opts ...Option) (*Registration, error) {
	lk, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	ro, err := resolveOptions(opRegister, &lk.info, opts)
	if err != nil {
		return nil, err
	}
	h, err := procHandlerOf(fn, ro.names)
	if err != nil {
		return nil, err
	}
	return lk.register(ctx, procedure, h, ro)
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

// Unregister removes a registration. A handle of a router session that has
// since ended is already gone: Unregister returns nil.
func (s *Session) Unregister(ctx context.Context, reg *Registration) error {
	if reg == nil || reg.lk == nil {
		return errors.New("client: Unregister needs a registration handle")
	}
	return reg.lk.unregister(ctx, reg)
}
