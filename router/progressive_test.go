package router_test

import (
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Roles for progressive call invocations (spec §11.2): the callee must
// announce call_canceling too.
var (
	streamCaller = wamp.Dict{"caller": wamp.Dict{"features": wamp.Dict{
		"progressive_call_invocations": true, "progressive_call_results": true, "call_canceling": true}}}
	streamCallee = wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{
		"progressive_call_invocations": true, "progressive_call_results": true, "call_canceling": true, "shared_registration": true}}}
	plainCallee = wamp.Dict{"callee": wamp.Dict{"features": wamp.Dict{"call_canceling": true}}}
)

func chunk(req wamp.ID, proc wamp.URI, progress bool, arg any) *wamp.Call {
	o := wamp.Dict{}
	if progress {
		o["progress"] = true
	}
	return &wamp.Call{Request: req, Options: o, Procedure: proc, Payload: wamp.Payload{Args: wamp.List{arg}}}
}

// expectChunk expects an INVOCATION with id inv (0: any) and progress flag.
func expectChunk(t *testing.T, p *peer, inv wamp.ID, progress bool, arg any) *wamp.Invocation {
	t.Helper()
	m := expect[*wamp.Invocation](p)
	if inv != 0 && m.Request != inv {
		t.Fatalf("INVOCATION %d, want the same invocation %d", m.Request, inv)
	}
	if got, _ := wamp.OptBool(m.Details, "progress"); got != progress {
		t.Fatalf("INVOCATION details %v, want progress=%v", m.Details, progress)
	}
	deepEqual(t, "chunk", argsOf(t, &m.Payload), wamp.List{arg})
	return m
}

func TestProgressiveCallInvocations(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	url := srv.URL("tcp")
	callee := joinWith(t, url, "msgpack", streamCallee)
	callee.register("com.upload", wamp.Dict{})
	caller := joinWith(t, url, "json", streamCaller)

	t.Run("stream in, one result", func(t *testing.T) {
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, "c1"))
		inv := expectChunk(t, callee, 0, true, "c1")
		caller.send(chunk(req, "com.upload", true, "c2"))
		expectChunk(t, callee, inv.Request, true, "c2")
		caller.send(chunk(req, "com.upload", false, "c3")) // last chunk
		expectChunk(t, callee, inv.Request, false, "c3")
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"3 chunks"}}})
		if r := expect[*wamp.Result](caller); r.Request != req {
			t.Fatalf("RESULT for %d, want %d", r.Request, req)
		}
		// A late chunk of the finished call is discarded silently.
		caller.send(chunk(req, "com.upload", true, "late"))
		callee.expectNothing(50 * time.Millisecond)
		caller.expectNothing(10 * time.Millisecond)
	})

	t.Run("full duplex with progressive results", func(t *testing.T) {
		req := caller.next()
		c := chunk(req, "com.upload", true, "in1")
		c.Options["receive_progress"] = true
		caller.send(c)
		inv := expectChunk(t, callee, 0, true, "in1")
		if inv.Details["receive_progress"] != true {
			t.Errorf("INVOCATION details %v, want receive_progress", inv.Details)
		}
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{"out1"}}})
		if r := expect[*wamp.Result](caller); r.Details["progress"] != true {
			t.Errorf("RESULT %+v, want progress", r)
		}
		caller.send(chunk(req, "com.upload", false, "in2"))
		expectChunk(t, callee, inv.Request, false, "in2")
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		if r := expect[*wamp.Result](caller); r.Details["progress"] == true {
			t.Errorf("final RESULT %+v", r)
		}
	})

	t.Run("callee ends the call early", func(t *testing.T) {
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, "c1"))
		inv := expectChunk(t, callee, 0, true, "c1")
		callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.app.error.full"})
		caller.expectError(wamp.TypeCall, req, "com.app.error.full")
		caller.send(chunk(req, "com.upload", true, "c2"))
		caller.send(chunk(req, "com.upload", false, "c3"))
		callee.expectNothing(50 * time.Millisecond)
		caller.expectNothing(10 * time.Millisecond)
	})

	t.Run("cancel mid-stream", func(t *testing.T) {
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, "c1"))
		inv := expectChunk(t, callee, 0, true, "c1")
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
		caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled)
		if in := expect[*wamp.Interrupt](callee); in.Request != inv.Request {
			t.Errorf("INTERRUPT for %d, want %d", in.Request, inv.Request)
		}
		caller.send(chunk(req, "com.upload", true, "c2"))
		callee.expectNothing(50 * time.Millisecond)
	})

	t.Run("options are frozen by the first chunk", func(t *testing.T) {
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, "c1"))
		inv := expectChunk(t, callee, 0, true, "c1")
		c := chunk(req, "com.upload", false, "c2")
		c.Options["disclose_me"] = true
		c.Options["timeout"] = "not even valid"
		caller.send(c)
		last := expectChunk(t, callee, inv.Request, false, "c2")
		if _, disclosed := last.Details["caller"]; disclosed {
			t.Errorf("a later chunk's options were applied: %v", last.Details)
		}
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		expect[*wamp.Result](caller)
	})
}

func TestProgressiveCallInvocationsSharedRegistration(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	url := srv.URL("unix")
	a := joinWith(t, url, "cbor", streamCallee)
	b := joinWith(t, url, "cbor", streamCallee)
	a.register("com.upload", wamp.Dict{"invoke": "roundrobin"})
	b.register("com.upload", wamp.Dict{"invoke": "roundrobin"})
	caller := joinWith(t, url, "json", streamCaller)
	for _, first := range []*peer{a, b} {
		other := map[*peer]*peer{a: b, b: a}[first]
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, 1))
		inv := expectChunk(t, first, 0, true, int64(1))
		for i := 2; i <= 4; i++ {
			caller.send(chunk(req, "com.upload", i < 4, i))
			expectChunk(t, first, inv.Request, i < 4, int64(i)) // all chunks to the callee of the first
		}
		other.expectNothing(30 * time.Millisecond)
		first.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
		expect[*wamp.Result](caller)
	}
}

func TestProgressiveCallInvocationErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	url := srv.URL("tcp")
	stream := joinWith(t, url, "json", streamCallee)
	stream.register("com.upload", wamp.Dict{})
	stream.register("com.other", wamp.Dict{})
	plain := joinWith(t, url, "json", plainCallee)
	plain.register("com.plain", wamp.Dict{})

	t.Run("callee without the feature", func(t *testing.T) {
		caller := joinWith(t, url, "json", streamCaller)
		req := caller.next()
		caller.send(chunk(req, "com.plain", true, "c1"))
		e := caller.expectError(wamp.TypeCall, req, wamp.ErrFeatureNotSupported)
		if a := argsOf(t, &e.Payload); len(a) == 0 || !containsAll(a[0].(string), "progressive_call_invocations") {
			t.Errorf("error message %v", a)
		}
		// Its later chunks are discarded, not answered again.
		caller.send(chunk(req, "com.plain", false, "c2"))
		caller.expectNothing(50 * time.Millisecond)
		plain.expectNothing(10 * time.Millisecond)
	})
	t.Run("caller without the feature", func(t *testing.T) {
		caller := dialURL(t, url, "json")
		caller.join() // clientRoles: no progressive_call_invocations
		caller.send(chunk(caller.next(), "com.upload", true, "c1"))
		expectAbort(caller, wamp.ErrProtocolViolation)
		caller.expectClosed()
		stream.expectNothing(10 * time.Millisecond)
	})
	t.Run("chunk for another procedure", func(t *testing.T) {
		caller := joinWith(t, url, "json", streamCaller)
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, "c1"))
		inv := expectChunk(t, stream, 0, true, "c1")
		caller.send(chunk(req, "com.other", true, "c2"))
		expectAbort(caller, wamp.ErrProtocolViolation)
		// The caller is gone: its invocation is interrupted.
		if in := expect[*wamp.Interrupt](stream); in.Request != inv.Request {
			t.Errorf("INTERRUPT %d, want %d", in.Request, inv.Request)
		}
	})
	t.Run("chunk after the last chunk", func(t *testing.T) {
		caller := joinWith(t, url, "json", streamCaller)
		req := caller.next()
		caller.send(chunk(req, "com.upload", true, "c1"))
		inv := expectChunk(t, stream, 0, true, "c1")
		caller.send(chunk(req, "com.upload", false, "c2"))
		expectChunk(t, stream, inv.Request, false, "c2")
		caller.send(chunk(req, "com.upload", true, "c3"))
		expectAbort(caller, wamp.ErrProtocolViolation)
		expect[*wamp.Interrupt](stream)
	})
	t.Run("progress not a bool", func(t *testing.T) {
		caller := joinWith(t, url, "json", streamCaller)
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"progress": "yes"}, Procedure: "com.upload"})
		caller.expectError(wamp.TypeCall, req, wamp.ErrInvalidArgument)
	})
	t.Run("duplicate id of an ordinary call", func(t *testing.T) {
		caller := joinWith(t, url, "json", streamCaller)
		req := caller.next()
		caller.send(chunk(req, "com.upload", false, "whole"))
		inv := expectChunk(t, stream, 0, false, "whole")
		caller.send(chunk(req, "com.upload", false, "again"))
		// The spec's request-ID rule: the caller is aborted, its call interrupted.
		expectAbort(caller, wamp.ErrProtocolViolation)
		if in := expect[*wamp.Interrupt](stream); in.Request != inv.Request {
			t.Errorf("INTERRUPT %d, want %d", in.Request, inv.Request)
		}
	})
}
