package authz

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// python plays a Python authorizer of the given arity behind Autobahn: a
// call with another number of arguments gets the runtime_error carrying
// the TypeError text Python 3.11 raises. It records each call's count.
type python struct {
	mu     sync.Mutex
	takes  int    // 3 or 4; 0: not registered
	name   string // the function's qualified name
	counts []int
}

func (p *python) Call(_ context.Context, _, _ wamp.URI, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts = append(p.counts, len(args))
	name := p.name
	if name == "" {
		name = "authorize"
	}
	self := 0
	if strings.Contains(name, ".") {
		self = 1 // a bound method: Python counts self
	}
	switch {
	case p.takes == 0:
		return nil, nil, &wamp.CallError{URI: wamp.ErrNoSuchProcedure}
	case len(args) > p.takes:
		msg := fmt.Sprintf("%s() takes %d positional arguments but %d were given", name, p.takes+self, len(args)+self)
		return nil, nil, &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{msg}}
	case len(args) < p.takes:
		return nil, nil, &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{name + "() missing 1 required positional argument: 'options'"}}
	}
	return wamp.List{true}, nil, nil
}

func (p *python) set(takes int) {
	p.mu.Lock()
	p.takes = takes
	p.mu.Unlock()
}

// calls returns the argument counts of the calls since the last time.
func (p *python) calls() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.counts
	p.counts = nil
	return c
}

// TestAuthorizerArity: a 3-argument authorizer (the Crossbar guide's
// signature) works as well as a 4-argument one; once learned, every
// decision costs one call; the config key forces either.
func TestAuthorizerArity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	newRealm := func(t *testing.T, p *python, forced int) *Realm {
		r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Authorizer: "com.auth", AuthorizerArgs: forced}}, Options{Caller: p})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	// ask makes three uncached decisions and returns their answers.
	ask := func(r *Realm) (allowed []bool) {
		for i := range 3 {
			d := r.Authorize(ctx, sess(1, "alice", "user"), wamp.URI(fmt.Sprintf("com.app.p%d", i)), ActionCall, nil)
			allowed = append(allowed, d.Allow)
		}
		return allowed
	}
	all := []bool{true, true, true}
	for _, c := range []struct {
		name   string
		takes  int
		fn     string
		forced int
		allow  []bool
		calls  []int
	}{
		{"four arguments", 4, "", 0, all, []int{4, 4, 4}},
		{"three arguments: one retry, then learned", 3, "", 0, all, []int{4, 3, 3, 3}},
		{"three-argument method", 3, "Backend.authorize", 0, all, []int{4, 3, 3, 3}},
		{"forced 3", 3, "", 3, all, []int{3, 3, 3}},
		{"forced 4 with a three-argument function", 3, "", 4, []bool{false, false, false}, []int{4, 4, 4}},
		{"forced 3 with a four-argument function", 4, "", 3, []bool{false, false, false}, []int{3, 3, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := &python{takes: c.takes, name: c.fn}
			r := newRealm(t, p, c.forced)
			if got := ask(r); fmt.Sprint(got) != fmt.Sprint(c.allow) {
				t.Errorf("allowed %v, want %v", got, c.allow)
			}
			if got := p.calls(); fmt.Sprint(got) != fmt.Sprint(c.calls) {
				t.Errorf("argument counts %v, want %v", got, c.calls)
			}
		})
	}

	t.Run("backend replaced", func(t *testing.T) {
		t.Parallel()
		p := &python{takes: 3}
		r := newRealm(t, p, 0)
		ask(r)
		p.calls()
		p.set(4) // re-registered with the 4-argument signature
		if got := ask(r); fmt.Sprint(got) != fmt.Sprint(all) {
			t.Errorf("after the switch to 4: allowed %v", got)
		}
		if got := p.calls(); fmt.Sprint(got) != "[3 4 4 4]" {
			t.Errorf("after the switch to 4: argument counts %v, want [3 4 4 4]", got)
		}
		// Gone: what was learned is forgotten; the next registration is
		// asked with 4 first.
		p.set(3)
		ask(r)
		p.set(0)
		ask(r)
		p.calls()
		p.set(4)
		ask(r)
		if got := p.calls(); fmt.Sprint(got) != "[4 4 4]" {
			t.Errorf("after unregistration: argument counts %v, want [4 4 4]", got)
		}
	})
}

// TestAuthorizerArityErrorsThatAreNotTheSignature: only the TypeError of
// a function taking exactly one argument less makes a retry.
func TestAuthorizerArityErrorsThatAreNotTheSignature(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		msg   string
		retry int
	}{
		{"authorize() takes 3 positional arguments but 4 were given", 3},
		{"B.authorize() takes 4 positional arguments but 5 were given", 3},
		{"authorize() takes from 2 to 3 positional arguments but 4 were given", 3},
		{"authorize() takes exactly 3 arguments (4 given)", 3},
		{"helper() takes 2 positional arguments but 4 were given", 0},
		{"helper() takes 1 positional argument but 3 were given", 0},
		{"connection refused", 0},
	} {
		a := &arity{}
		err := &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{c.msg}}
		if got := a.retry(4, err); got != c.retry {
			t.Errorf("retry(4, %q) = %d, want %d", c.msg, got, c.retry)
		}
	}
	a := &arity{}
	if got := a.retry(4, &wamp.CallError{URI: "com.app.error", Args: wamp.List{"authorize() takes 3 positional arguments but 4 were given"}}); got != 0 {
		t.Errorf("an application error URI made a retry with %d", got)
	}
	if got := a.retry(3, &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{"authorize() missing 1 required positional argument: 'options'"}}); got != 4 {
		t.Errorf("retry(3, missing options) = %d, want 4", got)
	}
}
