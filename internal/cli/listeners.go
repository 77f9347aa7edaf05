package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"sync"

	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/router"
)

// listenerSet runs the transports of the config in force; a reload
// (reload.go) stops removed and changed ones and starts added and changed
// ones, leaving the others (and their connections) alone.
type listenerSet struct {
	ctx  context.Context
	log  *slog.Logger
	r    *router.Router
	fail func(error) // a transport failed on its own: stop the router

	wg      sync.WaitGroup
	mu      sync.Mutex
	running map[string]*runningListener
}

type runningListener struct {
	l   config.Listener
	t   config.Transport // as configured, to tell a changed transport
	ln  net.Listener
	mu  sync.Mutex
	off bool // stopped by a reload: its Serve error is expected
}

// open binds every listener; on failure it closes those it bound.
func openAll(ctx context.Context, ls []config.Listener) ([]net.Listener, error) {
	out := make([]net.Listener, 0, len(ls))
	for i := range ls {
		ln, err := ls[i].Listen(ctx)
		if err != nil {
			for _, o := range out {
				o.Close()
			}
			return nil, fmt.Errorf("cannot listen: transport %s: %w", ls[i].Name, err)
		}
		out = append(out, ln)
	}
	return out, nil
}

// start serves ln for l (configured as t).
func (s *listenerSet) start(l config.Listener, t config.Transport, ln net.Listener) {
	rl := &runningListener{l: l, t: t, ln: ln}
	s.mu.Lock()
	s.running[l.Name] = rl
	s.mu.Unlock()
	attrs := []any{"transport", l.Name, "type", l.Type,
		"network", ln.Addr().Network(), "address", ln.Addr().String(), "tls", l.TLS != nil}
	if len(l.Transport.Metrics) > 0 {
		attrs = append(attrs, "metrics", l.Transport.Metrics)
	}
	s.log.Info("listening", attrs...)
	s.wg.Go(func() {
		err := s.r.ServeTransport(ln, rl.l.Transport)
		rl.mu.Lock()
		off := rl.off
		rl.mu.Unlock()
		if off || err == nil || errors.Is(err, router.ErrServerClosed) {
			return
		}
		s.fail(fmt.Errorf("transport %s: %w", l.Name, err))
	})
}

// stop closes a running listener (its connections stay).
func (s *listenerSet) stop(name string) {
	s.mu.Lock()
	rl := s.running[name]
	delete(s.running, name)
	s.mu.Unlock()
	if rl == nil {
		return
	}
	rl.mu.Lock()
	rl.off = true
	rl.mu.Unlock()
	rl.ln.Close()
	s.log.Info("transport stopped by a reload", "transport", name)
}

// closeAll closes every listener (after the router's shutdown).
func (s *listenerSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rl := range s.running {
		rl.ln.Close()
	}
}

// diff returns the transports of next to stop (removed or changed) and to
// start (added or changed), by name.
func (s *listenerSet) diff(next []config.Transport) (stop, start []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	for _, t := range next {
		names[t.Name] = true
		rl := s.running[t.Name]
		switch {
		case rl == nil:
			start = append(start, t.Name)
		case !reflect.DeepEqual(rl.t, t):
			stop = append(stop, t.Name)
			start = append(start, t.Name)
		}
	}
	for n := range s.running {
		if !names[n] {
			stop = append(stop, n)
		}
	}
	return stop, start
}
