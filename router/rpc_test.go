package router_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// callPair joins a caller and a callee on the given serializers.
func callPair(t *testing.T, srv *routertest.Server, callerSer, calleeSer string) (caller, callee *peer) {
	caller = dialPeer(t, srv, "ws", callerSer)
	caller.join()
	callee = dialPeer(t, srv, "tcp", calleeSer)
	callee.join()
	return caller, callee
}

func TestCallAcrossSerializers(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, cs := range serializers {
		for _, es := range serializers {
			t.Run(cs+"->"+es, func(t *testing.T) {
				t.Parallel()
				caller, callee := callPair(t, srv, cs, es)
				proc := wamp.URI(fmt.Sprintf("com.example.add_%s_%s", cs, es))
				regID := callee.register(proc, wamp.Dict{})

				args := wamp.List{int64(2), int64(-3), 0.5, "x", []byte{1, 2, 3}, nil, true}
				kwargs := wamp.Dict{"k": wamp.Dict{"deep": wamp.List{int64(1)}}}
				req := caller.next()
				caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc, Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
				inv := expect[*wamp.Invocation](callee)
				if inv.Registration != regID {
					t.Errorf("INVOCATION registration %d, want %d", inv.Registration, regID)
				}
				deepEqual(t, "invocation args", argsOf(t, &inv.Payload), args)
				deepEqual(t, "invocation kwargs", kwargsOf(t, &inv.Payload), kwargs)
				if _, disclosed := inv.Details["caller"]; disclosed {
					t.Errorf("caller disclosed without disclose_me: %v", inv.Details)
				}
				callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{int64(-1)}, Kwargs: wamp.Dict{"bin": []byte{9}}}})
				res := expect[*wamp.Result](caller)
				if res.Request != req {
					t.Errorf("RESULT request %d, want %d", res.Request, req)
				}
				deepEqual(t, "result args", argsOf(t, &res.Payload), wamp.List{int64(-1)})
				deepEqual(t, "result kwargs", kwargsOf(t, &res.Payload), wamp.Dict{"bin": []byte{9}})

				// An application error travels back with URI, args and kwargs intact.
				req = caller.next()
				caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"disclose_me": true}, Procedure: proc})
				inv = expect[*wamp.Invocation](callee)
				if id, _ := wamp.OptID(inv.Details, "caller"); id != caller.id {
					t.Errorf("INVOCATION.Details.caller = %v, want %d", inv.Details["caller"], caller.id)
				}
				callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.error.oops",
					Payload: wamp.Payload{Args: wamp.List{"bad", int64(7)}, Kwargs: wamp.Dict{"why": "because"}}})
				e := caller.expectError(wamp.TypeCall, req, "com.example.error.oops")
				deepEqual(t, "error args", argsOf(t, &e.Payload), wamp.List{"bad", int64(7)})
				deepEqual(t, "error kwargs", kwargsOf(t, &e.Payload), wamp.Dict{"why": "because"})
			})
		}
	}
}

func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "json")
	other := dialPeer(t, srv, "tcp", "cbor")
	other.join()

	reg := callee.register("com.example.p", wamp.Dict{})
	req := other.next()
	other.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p"})
	other.expectError(wamp.TypeRegister, req, wamp.ErrProcedureAlreadyExists)

	for _, c := range []struct {
		proc wamp.URI
		opts wamp.Dict
		uri  wamp.URI
	}{
		{"com.Example", wamp.Dict{}, wamp.ErrInvalidURI},
		{"wamp.session.count", wamp.Dict{}, wamp.ErrInvalidURI},
		{"com.x", wamp.Dict{"invoke": "sometimes"}, wamp.ErrInvalidArgument},
		{"com.x", wamp.Dict{"match": "glob"}, wamp.ErrInvalidArgument},
	} {
		req := other.next()
		other.send(&wamp.Register{Request: req, Options: c.opts, Procedure: c.proc})
		other.expectError(wamp.TypeRegister, req, c.uri)
	}

	// Only the owner can unregister.
	req = other.next()
	other.send(&wamp.Unregister{Request: req, Registration: reg})
	other.expectError(wamp.TypeUnregister, req, wamp.ErrNoSuchRegistration)
	req = callee.next()
	callee.send(&wamp.Unregister{Request: req, Registration: reg})
	expect[*wamp.Unregistered](callee)

	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.p"})
	caller.expectError(wamp.TypeCall, req, wamp.ErrNoSuchProcedure)
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.bad uri"})
	caller.expectError(wamp.TypeCall, req, wamp.ErrInvalidURI)
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"timeout": "soon"}, Procedure: "com.example.p"})
	caller.expectError(wamp.TypeCall, req, wamp.ErrInvalidArgument)
}

func TestCalleeLeavesWithPendingCalls(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "msgpack", "json")
	callee.register("com.example.slow", wamp.Dict{})
	reqs := []wamp.ID{caller.next(), caller.next(), caller.next()}
	for _, req := range reqs {
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	}
	for range reqs {
		expect[*wamp.Invocation](callee)
	}
	callee.tc.Close() // vanish without GOODBYE
	got := map[wamp.ID]bool{}
	for range reqs {
		e := expect[*wamp.Error](caller)
		if e.Error != wamp.ErrCanceled {
			t.Errorf("ERROR %s, want canceled", e.Error)
		}
		got[e.Request] = true
	}
	for _, req := range reqs {
		if !got[req] {
			t.Errorf("call %d got no answer", req)
		}
	}
	caller.expectNothing(100 * time.Millisecond)
}

func TestCallerLeavesLateYieldDropped(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "cbor")
	callee.register("com.example.slow", wamp.Dict{})
	caller.send(&wamp.Call{Request: caller.next(), Options: wamp.Dict{}, Procedure: "com.example.slow"})
	inv := expect[*wamp.Invocation](callee)
	caller.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	expect[*wamp.Goodbye](caller)
	// The callee announced call_canceling, so it is told to stop.
	intr := expect[*wamp.Interrupt](callee)
	if intr.Request != inv.Request {
		t.Errorf("INTERRUPT for %d, want %d", intr.Request, inv.Request)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	callee.expectNothing(100 * time.Millisecond)
	// The callee session is unharmed.
	callee.register("com.example.other", wamp.Dict{})
}

func TestProgressiveResults(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "msgpack")
	callee.register("com.example.report", wamp.Dict{})
	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.report"})
	inv := expect[*wamp.Invocation](callee)
	if rp, _ := wamp.OptBool(inv.Details, "receive_progress"); !rp {
		t.Fatalf("INVOCATION.Details lacks receive_progress: %v", inv.Details)
	}
	for i := range 3 {
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
		r := expect[*wamp.Result](caller)
		if p, _ := wamp.OptBool(r.Details, "progress"); !p || r.Request != req {
			t.Fatalf("progressive RESULT %+v", r)
		}
		deepEqual(t, "progress args", argsOf(t, &r.Payload), wamp.List{int64(i)})
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"done"}}})
	r := expect[*wamp.Result](caller)
	if p, _ := wamp.OptBool(r.Details, "progress"); p {
		t.Fatalf("final RESULT marked progress: %v", r.Details)
	}

	// A caller that did not ask gets only the final result.
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.report"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{"p"}}})
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"final"}}})
	r = expect[*wamp.Result](caller)
	deepEqual(t, "final args", argsOf(t, &r.Payload), wamp.List{"final"})
}

func TestCancelModes(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "json")
	callee.register("com.example.slow", wamp.Dict{})

	call := func() (wamp.ID, *wamp.Invocation) {
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.slow"})
		return req, expect[*wamp.Invocation](callee)
	}

	// skip: answer at once, callee not told, its late answer dropped.
	req, inv := call()
	caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "skip"}})
	caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled)
	callee.expectNothing(50 * time.Millisecond)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	caller.expectNothing(50 * time.Millisecond)

	// killnowait: INTERRUPT and an immediate answer.
	req, inv = call()
	caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
	caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled)
	if i := expect[*wamp.Interrupt](callee); i.Request != inv.Request {
		t.Errorf("INTERRUPT for %d, want %d", i.Request, inv.Request)
	}

	// kill: INTERRUPT, then the callee's answer is forwarded.
	req, inv = call()
	caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "kill"}})
	expect[*wamp.Interrupt](callee)
	caller.expectNothing(50 * time.Millisecond)
	callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: wamp.ErrCanceled, Payload: wamp.Payload{Args: wamp.List{"stopped"}}})
	e := caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled)
	deepEqual(t, "kill answer", argsOf(t, &e.Payload), wamp.List{"stopped"})

	// Cancel for an unknown call is ignored.
	caller.send(&wamp.Cancel{Request: 9999, Options: wamp.Dict{}})
	caller.expectNothing(50 * time.Millisecond)
}

func TestCallTimeout(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "cbor", "json")
	callee.register("com.example.slow", wamp.Dict{})
	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"timeout": 50}, Procedure: "com.example.slow"})
	inv := expect[*wamp.Invocation](callee)
	caller.expectError(wamp.TypeCall, req, wamp.ErrTimeout)
	intr := expect[*wamp.Interrupt](callee)
	if intr.Request != inv.Request {
		t.Errorf("INTERRUPT for %d, want %d", intr.Request, inv.Request)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	caller.expectNothing(50 * time.Millisecond)
}

func TestSharedRegistration(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller := dialPeer(t, srv, "ws", "json")
	caller.join()
	callees := make([]*peer, 3)
	var regID wamp.ID
	for i := range callees {
		callees[i] = dialPeer(t, srv, "tcp", "json")
		callees[i].join()
		id := callees[i].register("com.example.shared", wamp.Dict{"invoke": "roundrobin"})
		if i > 0 && id != regID {
			t.Fatalf("shared registration ids differ: %d vs %d", id, regID)
		}
		regID = id
	}
	// A different policy on the same URI is refused.
	odd := dialPeer(t, srv, "tcp", "json")
	odd.join()
	req := odd.next()
	odd.send(&wamp.Register{Request: req, Options: wamp.Dict{"invoke": "random"}, Procedure: "com.example.shared"})
	odd.expectError(wamp.TypeRegister, req, wamp.ErrProcedureAlreadyExists)

	for round := range 2 {
		for i, c := range callees {
			req := caller.next()
			caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.shared"})
			inv := expect[*wamp.Invocation](c)
			c.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
			r := expect[*wamp.Result](caller)
			deepEqual(t, fmt.Sprintf("round %d callee", round), argsOf(t, &r.Payload), wamp.List{int64(i)})
		}
	}
}

func TestPatternRegistration(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "json")
	prefix := callee.register("com.example", wamp.Dict{"match": "prefix"})
	wild := callee.register("com..get", wamp.Dict{"match": "wildcard"})
	exact := callee.register("com.example.get", wamp.Dict{})
	for _, c := range []struct {
		proc wamp.URI
		reg  wamp.ID
	}{
		{"com.example.get", exact},
		{"com.example.put", prefix},
		{"com.other.get", wild},
	} {
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: c.proc})
		inv := expect[*wamp.Invocation](callee)
		if inv.Registration != c.reg {
			t.Errorf("%s routed to registration %d, want %d", c.proc, inv.Registration, c.reg)
		}
		proc, hasProc := wamp.OptString(inv.Details, "procedure")
		if c.reg == exact && hasProc || c.reg != exact && proc != string(c.proc) {
			t.Errorf("%s: INVOCATION.Details.procedure = %v", c.proc, inv.Details["procedure"])
		}
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		expect[*wamp.Result](caller)
	}
}

// TestCallReusingInFlightRequestID: a CALL whose request ID is still in
// flight breaks the spec's request-ID rule: the caller's session is
// aborted with protocol_violation; the callee keeps its session and the
// first call is settled (canceled to nobody: the caller is gone).
func TestCallReusingInFlightRequestID(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "msgpack")
	callee.register("com.example.slow", wamp.Dict{})
	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	expect[*wamp.Invocation](callee)
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	expectAbort(caller, wamp.ErrProtocolViolation)
	caller.expectClosed()
	// The callee is unaffected: a fresh caller still reaches it.
	other := dialPeer(t, srv, "tcp", "cbor")
	other.join()
	req2 := other.next()
	other.send(&wamp.Call{Request: req2, Options: wamp.Dict{}, Procedure: "com.example.slow"})
	for {
		m := callee.recv()
		if inv, ok := m.(*wamp.Invocation); ok {
			callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
			break
		}
	}
	if res := expect[*wamp.Result](other); res.Request != req2 {
		t.Errorf("RESULT for request %d, want %d", res.Request, req2)
	}
}
