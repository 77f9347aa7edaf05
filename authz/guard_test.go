package authz

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestGuardBoundsCallsInFlight(t *testing.T) {
	a := &authorizer{answer: answerWith(true), entered: make(chan struct{}, 10)}
	r := dynRealm(t, a, Options{}, RoleConfig{Name: "user", Authorizer: "com.auth", MaxInFlight: 2, MaxQueued: 1, Timeout: 10 * time.Second})
	a.hold()
	ctx := context.Background()
	var wg sync.WaitGroup
	results := make(chan Decision, 3)
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &Session{ID: wamp.ID(i + 1), Realm: "realm1", AuthRole: "user"}
			results <- r.Authorize(ctx, s, wamp.URI(fmt.Sprintf("com.a%d", i)), ActionCall, nil)
		}()
	}
	<-a.entered
	<-a.entered
	g := r.roles["user"].guard
	deadline := time.Now().Add(5 * time.Second)
	for g.Stats().Queued != 1 { // the third waits for a slot
		if time.Now().After(deadline) {
			t.Fatal("third question not queued")
		}
		time.Sleep(time.Millisecond)
	}
	// The queue is full: a fourth fails closed at once, without a call.
	d := r.Authorize(ctx, &Session{ID: 9, Realm: "realm1", AuthRole: "user"}, "com.b", ActionCall, nil)
	if d.Allow || !d.Failed || d.Message != msgOverloaded {
		t.Errorf("fourth: %+v", d)
	}
	a.release()
	wg.Wait()
	close(results)
	for d := range results {
		if !d.Allow {
			t.Errorf("queued question: %+v", d)
		}
	}
	if n := a.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
	if st := r.CacheStats(); st.Rejected != 1 {
		t.Errorf("Rejected = %d", st.Rejected)
	}
}

func TestGuardCircuitBreaker(t *testing.T) {
	a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
		return nil, nil, errors.New("backend down")
	}}
	r := dynRealm(t, a, Options{}, RoleConfig{Name: "user", Authorizer: "com.auth", BreakerThreshold: 2, BreakerCooldown: time.Hour})
	s := userSession("user")
	ctx := context.Background()
	for range 2 {
		if d := r.Authorize(ctx, s, "com.a", ActionCall, nil); d.Message != msgError {
			t.Fatalf("%+v", d)
		}
	}
	d := r.Authorize(ctx, s, "com.a", ActionCall, nil)
	if d.Allow || !d.Failed || d.Message != msgCircuitOpen || a.calls.Load() != 2 {
		t.Errorf("open circuit: %+v after %d calls", d, a.calls.Load())
	}
	if st := r.CacheStats(); st.CircuitOpened != 1 || st.Rejected != 1 {
		t.Errorf("stats %+v", st)
	}
	// A denial is not a failure: it closes nothing and opens nothing.
	// A denial is not a failure, nor an authorizer that is not registered.
	for _, answer := range []func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error){
		answerWith(false),
		func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
			return nil, nil, &wamp.CallError{URI: wamp.ErrNoSuchProcedure}
		},
	} {
		a := &authorizer{answer: answer}
		r := dynRealm(t, a, Options{}, RoleConfig{Name: "user", Authorizer: "com.auth", BreakerThreshold: 1, BreakerCooldown: time.Hour})
		for range 3 {
			r.Authorize(ctx, s, "com.a", ActionCall, nil)
		}
		if st := r.CacheStats(); st.CircuitOpened != 0 || a.calls.Load() != 3 {
			t.Errorf("breaker opened: %+v after %d calls", st, a.calls.Load())
		}
	}
	if _, err := NewRealm("r", []RoleConfig{{Name: "u", Authorizer: "com.auth", BreakerThreshold: -1}}, Options{Caller: a}); err == nil {
		t.Error("negative breaker threshold accepted")
	}
}

// A call whose callee left mid-flight (wamp.error.canceled) is asked once
// more; a second loss fails closed.
func TestRetryOnceOnCalleeLoss(t *testing.T) {
	for _, c := range []struct {
		losses int
		allow  bool
		calls  int
	}{{0, true, 1}, {1, true, 2}, {2, false, 2}} {
		calls := 0
		caller := callerFunc(func(context.Context, wamp.URI, wamp.URI, wamp.List, wamp.Dict) (wamp.List, wamp.Dict, error) {
			calls++
			if calls <= c.losses {
				return nil, nil, &wamp.CallError{URI: wamp.ErrCanceled}
			}
			return wamp.List{true}, nil, nil
		})
		r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Authorizer: "com.auth"}}, Options{Caller: caller})
		if err != nil {
			t.Fatal(err)
		}
		d := r.Authorize(context.Background(), userSession("user"), "com.a", ActionCall, nil)
		if d.Allow != c.allow || calls != c.calls || (!c.allow && !d.Failed) {
			t.Errorf("%d losses: %+v after %d calls", c.losses, d, calls)
		}
	}
}

// The router's callee_busy reads as overloaded, not as a failed authorizer.
func TestCalleeBusyIsOverloaded(t *testing.T) {
	a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
		return nil, nil, &wamp.CallError{URI: dealer.ErrCalleeBusy}
	}}
	r := dynRealm(t, a, Options{})
	if d := r.Authorize(context.Background(), userSession("user"), "com.a", ActionCall, nil); d.Allow || !d.Failed || d.Message != msgOverloaded {
		t.Errorf("%+v", d)
	}
}
