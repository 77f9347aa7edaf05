package client

import (
	"context"
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
