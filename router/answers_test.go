package router_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// dialSmallRaw joins a RawSocket peer that announces a 1 KiB receive limit.
func dialSmallRaw(t *testing.T, srv *routertest.Server, ser string) *peer {
	t.Helper()
	c, err := codec.ByName(ser)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc, err := rawsocket.Dial(ctx, "tcp", srv.Addr("tcp"), rawsocket.DialOptions{Serializer: c, MaxMessageSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, tc)
	p.join()
	return p
}

// errorMessage is the first argument of an ERROR, which must be a string.
func errorMessage(t *testing.T, e *wamp.Error) string {
	t.Helper()
	args := argsOf(t, &e.Payload)
	if len(args) == 0 {
		t.Fatalf("ERROR %s has no message", e.Error)
	}
	s, _ := args[0].(string)
	return s
}

func TestAnswerLargerThanCallerAcceptsIsAnError(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	callee := dialPeer(t, srv, "ws", "json")
	callee.join()
	callee.register("com.example.big", wamp.Dict{})
	caller := dialSmallRaw(t, srv, "json")
	big := strings.Repeat("x", 2048)

	for _, viaError := range []bool{false, true} {
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.big"})
		inv := expect[*wamp.Invocation](callee)
		if viaError {
			callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.oops", Payload: wamp.Payload{Args: wamp.List{big}}})
		} else {
			callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{big}}})
		}
		e := caller.expectError(wamp.TypeCall, req, wamp.ErrPayloadSizeExceeded)
		if msg := errorMessage(t, e); !strings.Contains(msg, "at most 1024") {
			t.Errorf("message %q does not name the limit", msg)
		}
	}
	// An answer that fits still goes through.
	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.big"})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	if res := expect[*wamp.Result](caller); res.Request != req {
		t.Fatalf("RESULT for %d, want %d", res.Request, req)
	}
}

func TestNonFiniteResultToJSONCallerIsAnError(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	caller, callee := callPair(t, srv, "json", "msgpack")
	callee.register("com.example.nan", wamp.Dict{})
	for _, v := range []float64{math.NaN(), math.Inf(1)} {
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.nan"})
		inv := expect[*wamp.Invocation](callee)
		callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{v}}})
		e := caller.expectError(wamp.TypeCall, req, wamp.ErrInvalidArgument)
		if msg := errorMessage(t, e); !strings.Contains(msg, "json serializer cannot carry") {
			t.Errorf("message %q does not say why", msg)
		}
	}
}

func TestUndeliverableInvocationAnswersTheCaller(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	// A JSON callee cannot take NaN from a MessagePack caller.
	caller, callee := callPair(t, srv, "msgpack", "json")
	callee.register("com.example.nan_in", wamp.Dict{})
	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.nan_in", Payload: wamp.Payload{Args: wamp.List{math.NaN()}}})
	caller.expectError(wamp.TypeCall, req, wamp.ErrInvalidArgument)

	// A callee that accepts 1 KiB cannot take a 2 KB INVOCATION.
	small := dialSmallRaw(t, srv, "json")
	small.register("com.example.small", wamp.Dict{})
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.small", Payload: wamp.Payload{Args: wamp.List{strings.Repeat("y", 2048)}}})
	caller.expectError(wamp.TypeCall, req, wamp.ErrPayloadSizeExceeded)
	small.expectNothing(100 * time.Millisecond)
}

func TestSessionWithNonFiniteAuthextraIsStillReported(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	watcher := dialPeer(t, srv, "ws", "json")
	watcher.join()
	watcher.subscribe("wamp.session.on_join", wamp.Dict{})

	odd := dialURL(t, srv.Serve(t, "tcp", anonymousTransport("anonymous")), "msgpack")
	odd.hello(wamp.Dict{"authextra": wamp.Dict{"n": math.NaN(), "keep": "me"}})
	odd.welcomed()

	ev := expect[*wamp.Event](watcher)
	details, _ := argsOf(t, &ev.Payload)[0].(wamp.Dict)
	if id, _ := wamp.OptID(details, "session"); id != odd.id {
		t.Fatalf("on_join for %v, want %d", details["session"], odd.id)
	}
	extra, _ := wamp.OptDict(details, "authextra")
	if v, present := extra["n"]; !present || v != nil || extra["keep"] != "me" {
		t.Errorf("authextra = %v, want n: null and keep: me", extra)
	}

	req := watcher.next()
	watcher.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.session.get", Payload: wamp.Payload{Args: wamp.List{odd.id}}})
	res := expect[*wamp.Result](watcher)
	got, _ := argsOf(t, &res.Payload)[0].(wamp.Dict)
	if id, _ := wamp.OptID(got, "session"); res.Request != req || id != odd.id {
		t.Fatalf("wamp.session.get answered %d with %v", res.Request, got)
	}
}

func TestAnswerForNeverIssuedInvocationIsAProtocolViolation(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, viaError := range []bool{false, true} {
		caller, callee := callPair(t, srv, "json", "cbor")
		proc := wamp.URI("com.example.late_" + map[bool]string{false: "yield", true: "error"}[viaError])
		callee.register(proc, wamp.Dict{})
		answer := func(id wamp.ID) {
			if viaError {
				callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: id, Details: wamp.Dict{}, Error: "com.example.late"})
			} else {
				callee.send(&wamp.Yield{Request: id, Options: wamp.Dict{}})
			}
		}
		// A late answer after the caller canceled is dropped quietly.
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc})
		inv := expect[*wamp.Invocation](callee)
		caller.send(&wamp.Cancel{Request: req, Options: wamp.Dict{"mode": "killnowait"}})
		caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled)
		expect[*wamp.Interrupt](callee)
		answer(inv.Request)
		req = caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc})
		inv2 := expect[*wamp.Invocation](callee)
		callee.send(&wamp.Yield{Request: inv2.Request, Options: wamp.Dict{}})
		if res := expect[*wamp.Result](caller); res.Request != req {
			t.Fatalf("RESULT for %d, want %d", res.Request, req)
		}
		// An answer to an id the router never issued ends the session.
		answer(inv2.Request + 1000)
		expectAbort(callee, wamp.ErrProtocolViolation)
	}
}

func TestEventJSONCannotCarryIsCounted(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	sub := dialPeer(t, srv, "ws", "json")
	sub.join()
	sub.subscribe("com.example.nan", wamp.Dict{})
	pub := dialPeer(t, srv, "tcp", "msgpack")
	pub.join()
	// PUBLISHED still answers the acknowledged PUBLISH; the JSON
	// subscriber gets the next event, not this one.
	pub.publishAck("com.example.nan", nil, math.NaN())
	next := pub.publishAck("com.example.nan", nil, 1.5)
	if ev := expect[*wamp.Event](sub); ev.Publication != next {
		t.Fatalf("EVENT %d, want %d", ev.Publication, next)
	}
	if got := srv.Router().Stats().Unencodable; got != 1 {
		t.Errorf("Unencodable = %d, want 1", got)
	}
}

func TestUndeliverableProgressiveResultEndsTheCall(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	callee := dialPeer(t, srv, "ws", "json")
	callee.join()
	callee.register("com.example.stream", wamp.Dict{})
	caller := dialSmallRaw(t, srv, "json")
	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"receive_progress": true}, Procedure: "com.example.stream"})
	inv := expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}, Payload: wamp.Payload{Args: wamp.List{strings.Repeat("p", 2048)}}})
	caller.expectError(wamp.TypeCall, req, wamp.ErrPayloadSizeExceeded)
	// The callee (it announced call_canceling) is interrupted; its final
	// YIELD is late now: dropped, the session goes on.
	if intr := expect[*wamp.Interrupt](callee); intr.Request != inv.Request {
		t.Fatalf("INTERRUPT for %d, want %d", intr.Request, inv.Request)
	}
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.stream"})
	inv = expect[*wamp.Invocation](callee)
	callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	if res := expect[*wamp.Result](caller); res.Request != req {
		t.Fatalf("RESULT for %d, want %d", res.Request, req)
	}
}

// TestGoClientCalleeSurvivesALostAnswer: the router tells the callee
// nothing when its answer cannot reach the caller, so a Go client callee
// keeps serving.
func TestGoClientCalleeSurvivesALostAnswer(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callee, err := client.Dial(ctx, srv.URL("ws"), client.Config{Realm: routertest.Realm, Serializer: "msgpack"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = callee.Close(context.Background()) })
	_, err = callee.Register(ctx, "com.example.sized", func(_ context.Context, inv *client.Invocation) (client.Result, error) {
		n, _ := wamp.AsInt(inv.Args[0])
		return client.Result{Args: wamp.List{strings.Repeat("z", int(n))}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	caller := dialSmallRaw(t, srv, "json")
	for _, c := range []struct {
		size int64
		want wamp.URI
	}{{2048, wamp.ErrPayloadSizeExceeded}, {10, ""}, {4096, wamp.ErrPayloadSizeExceeded}, {20, ""}} {
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.sized", Payload: wamp.Payload{Args: wamp.List{c.size}}})
		if c.want != "" {
			caller.expectError(wamp.TypeCall, req, c.want)
		} else if res := expect[*wamp.Result](caller); res.Request != req {
			t.Fatalf("RESULT for %d, want %d", res.Request, req)
		}
	}
}

// TestErrorQuotingALongURIStillAnswers: an ERROR whose message quotes a
// URI too long for the peer's limit goes without the message.
func TestErrorQuotingALongURIStillAnswers(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialSmallRaw(t, srv, "json")
	long := wamp.URI("com.example." + strings.Repeat("Bad", 600)) // invalid: upper case
	req := p.next()
	p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: long})
	if e := p.expectError(wamp.TypeCall, req, wamp.ErrInvalidURI); len(e.Args) != 0 {
		t.Errorf("ERROR kept its %d-byte message", len(fmt.Sprint(e.Args...)))
	}
	req = p.next()
	p.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: long})
	p.expectError(wamp.TypeSubscribe, req, wamp.ErrInvalidURI)
}
