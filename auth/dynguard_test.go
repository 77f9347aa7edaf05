package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// gate is an authenticator that holds every call until released and
// records how many ran at once.
type gate struct {
	entered       chan struct{}
	open          chan struct{}
	now, peak     atomic.Int64
	calls, losses atomic.Int64 // losses: calls answered with wamp.error.canceled first
}

func newGate() *gate { return &gate{entered: make(chan struct{}, 100), open: make(chan struct{})} }

func (g *gate) Call(ctx context.Context, _, _ wamp.URI, _ wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	g.calls.Add(1)
	if g.losses.Add(-1) >= 0 {
		return nil, nil, &wamp.CallError{URI: wamp.ErrCanceled}
	}
	n := g.now.Add(1)
	defer g.now.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	g.entered <- struct{}{}
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	return wamp.List{"user"}, nil, nil
}

func TestDynamicGuardBoundsLogins(t *testing.T) {
	t.Parallel()
	g := newGate()
	tb := &guard.Table{}
	d := newDynamic(t, "anonymous", auth.DynamicConfig{Caller: g, MaxInFlight: 2, MaxQueued: 1, Timeout: 10 * time.Second, Guards: tb})
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "realm1"})
			errs <- err
		}()
	}
	<-g.entered
	<-g.entered
	// Two in flight and, once the third waits, the queue is full.
	k := guard.Key{Realm: "realm1", Procedure: "com.example.auth"}
	deadline := time.Now().Add(5 * time.Second)
	for tb.Of(k, guard.Limits{}).Stats().Queued != 1 {
		if time.Now().After(deadline) {
			t.Fatal("third login not queued")
		}
		time.Sleep(time.Millisecond)
	}
	_, _, _, refused := d.Hello(context.Background(), &auth.Request{Realm: "realm1"})
	wantError(t, refused, wamp.ErrAuthenticationFailed, "authenticator com.example.auth is overloaded, retry later")
	close(g.open)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("admitted login: %v", err)
		}
	}
	if p := g.peak.Load(); p != 2 {
		t.Errorf("peak concurrency %d, want 2", p)
	}
}

func TestDynamicBreaker(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	fail := &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{"db down"}}
	var answer atomic.Pointer[wamp.CallError]
	answer.Store(fail)
	caller := callerFunc(func(context.Context, wamp.URI, wamp.URI, wamp.List, wamp.Dict) (wamp.List, wamp.Dict, error) {
		calls.Add(1)
		if e := answer.Load(); e != nil {
			return nil, nil, e
		}
		return wamp.List{"user"}, nil, nil
	})
	d := newDynamic(t, "anonymous", auth.DynamicConfig{Caller: caller, BreakerThreshold: 3, BreakerCooldown: time.Hour})
	hello := func() error {
		_, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "realm1"})
		return err
	}
	// Deliberate refusals and an unregistered authenticator never open it.
	for _, e := range []*wamp.CallError{{URI: wamp.ErrAuthenticationFailed}, {URI: wamp.ErrNoSuchProcedure}} {
		answer.Store(e)
		for range 5 {
			hello()
		}
	}
	answer.Store(fail)
	for i := range 3 {
		wantError(t, hello(), wamp.ErrAuthenticationFailed, "authentication failed: the authenticator failed")
		if i == 0 {
			calls.Store(0)
		}
	}
	wantError(t, hello(), wamp.ErrAuthenticationFailed, "authenticator com.example.auth is unavailable (failing fast after repeated failures), retry later")
	if n := calls.Load(); n != 2 {
		t.Errorf("%d calls after the first failure, want 2 (then none while open)", n)
	}
	// The breaker is per realm the authenticator is called in.
	answer.Store(nil)
	if _, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "realm2"}); err != nil {
		t.Errorf("realm2: %v", err)
	}
}

// A call whose callee left mid-flight (wamp.error.canceled before the
// deadline) is made once more; a second loss fails closed.
func TestDynamicRetryOnCalleeLoss(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ losses, calls int64 }{{0, 1}, {1, 2}, {2, 2}} {
		t.Run(fmt.Sprint(c.losses), func(t *testing.T) {
			g := newGate()
			close(g.open)
			g.losses.Store(c.losses)
			d := newDynamic(t, "anonymous", auth.DynamicConfig{Caller: g})
			_, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "realm1"})
			if (err == nil) != (c.losses < 2) || g.calls.Load() != c.calls {
				t.Errorf("%d losses: %v after %d calls", c.losses, err, g.calls.Load())
			}
		})
	}
	_, err := auth.NewDynamic("ticket", auth.DynamicConfig{Authenticator: "a", Caller: &recorder{}, BreakerThreshold: -1, BreakerCooldown: -1})
	for _, want := range []string{"authenticator-breaker.threshold: negative (-1)", "authenticator-breaker.cooldown: negative (-1ns)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not contain %q", err, want)
		}
	}
}

// The router's own refusals are not the authenticator's: callee_busy reads
// as overloaded, any other tollgate.* URI as a failure.
func TestDynamicRouterRefusals(t *testing.T) {
	t.Parallel()
	for uri, want := range map[wamp.URI]string{
		"tollgate.error.callee_busy": "authenticator com.example.auth is overloaded, retry later",
		"tollgate.error.other":       "authentication failed: the authenticator failed",
	} {
		d := newDynamic(t, "anonymous", auth.DynamicConfig{Caller: &recorder{err: &wamp.CallError{URI: uri, Args: wamp.List{"x"}}}})
		_, _, _, err := d.Hello(context.Background(), &auth.Request{Realm: "realm1"})
		wantError(t, err, wamp.ErrAuthenticationFailed, want)
	}
}
