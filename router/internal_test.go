package router_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestInternalCall(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	r := srv.Router()
	callee := dialPeer(t, srv, "tcp", "msgpack")
	callee.join()
	callee.register("com.example.auth", wamp.Dict{})

	type answer struct {
		args wamp.List
		err  error
	}
	call := func(ctx context.Context) <-chan answer {
		ch := make(chan answer, 1)
		go func() {
			a, _, err := r.Call(ctx, routertest.Realm, "com.example.auth", wamp.List{"realm1", "joe"}, wamp.Dict{"k": "v"})
			ch <- answer{a, err}
		}()
		return ch
	}

	res := call(context.Background())
	inv := expect[*wamp.Invocation](callee)
	deepEqual(t, "invocation args", argsOf(t, &inv.Payload), wamp.List{"realm1", "joe"})
	deepEqual(t, "invocation kwargs", kwargsOf(t, &inv.Payload), wamp.Dict{"k": "v"})
	if role, _ := wamp.OptString(inv.Details, "caller_authrole"); role != "trusted" {
		t.Errorf("internal caller disclosed as %q, want trusted", role)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"user"}}})
	if a := <-res; a.err != nil || len(a.args) != 1 || a.args[0] != "user" {
		t.Fatalf("Call = %v, %v", a.args, a.err)
	}

	res = call(context.Background())
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.denied", Payload: wamp.Payload{Args: wamp.List{"no"}}})
	var ce *wamp.CallError
	if a := <-res; !errors.As(a.err, &ce) || ce.URI != "com.example.denied" || ce.Error() != "com.example.denied: no" {
		t.Fatalf("Call error = %v", a.err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	res = call(ctx)
	inv = expect[*wamp.Invocation](callee)
	if a := <-res; !errors.Is(a.err, context.DeadlineExceeded) {
		t.Fatalf("Call after deadline = %v, want DeadlineExceeded", a.err)
	}
	if i := expect[*wamp.Interrupt](callee); i.Request != inv.Request {
		t.Errorf("INTERRUPT for %d, want %d", i.Request, inv.Request)
	}

	if _, _, err := r.Call(context.Background(), routertest.Realm, "com.example.nobody", nil, nil); !errors.As(err, &ce) || ce.URI != wamp.ErrNoSuchProcedure {
		t.Errorf("Call to unregistered procedure = %v", err)
	}
	if _, _, err := r.Call(context.Background(), "nope", "com.example.auth", nil, nil); !errors.As(err, &ce) || ce.URI != wamp.ErrNoSuchRealm {
		t.Errorf("Call on unknown realm = %v", err)
	}
}
