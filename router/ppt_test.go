package router_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// pptRoles announces payload_passthru_mode for every client role.
var pptRoles = wamp.Dict{
	"publisher":  wamp.Dict{"features": wamp.Dict{"payload_passthru_mode": true}},
	"subscriber": wamp.Dict{"features": wamp.Dict{"payload_passthru_mode": true, "pattern_based_subscription": true}},
	"caller":     wamp.Dict{"features": wamp.Dict{"payload_passthru_mode": true, "progressive_call_results": true, "call_canceling": true}},
	"callee":     wamp.Dict{"features": wamp.Dict{"payload_passthru_mode": true, "progressive_call_results": true, "call_canceling": true}},
}

var pptOpts = wamp.Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "xsalsa20poly1305", "ppt_keyid": "0xAbC123"}

func withPPT(extra wamp.Dict) wamp.Dict {
	d := wamp.Dict{}
	for k, v := range pptOpts {
		d[k] = v
	}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

func checkPPT(t *testing.T, what string, details wamp.Dict) {
	t.Helper()
	for k, v := range pptOpts {
		if details[k] != v {
			t.Errorf("%s details %v: %s = %v, want %v", what, details, k, details[k], v)
		}
	}
}

// checkBlob: the payload is exactly one binary element, byte for byte.
func checkBlob(t *testing.T, what string, pl *wamp.Payload, blob []byte) {
	t.Helper()
	args, kwargs, err := pl.Values()
	if err != nil || len(args) != 1 || kwargs != nil {
		t.Fatalf("%s payload %v %v %v, want one binary argument", what, args, kwargs, err)
	}
	if b, ok := args[0].([]byte); !ok || !bytes.Equal(b, blob) {
		t.Fatalf("%s payload %#v, want the blob %x unchanged", what, args[0], blob)
	}
}

// TestPayloadPassthruPubSub: ppt_* options reach every subscriber as
// EVENT.Details, and the one-binary payload arrives unchanged whatever the
// subscriber's serializer (JSON gets it through the binary convention).
func TestPayloadPassthruPubSub(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	blob := []byte{0x00, 0xff, 0x10, 'w', 'a', 'm', 'p', 0x80}
	pub := joinWith(t, srv.URL("tcp"), "msgpack", pptRoles)
	var subs []*peer
	for _, ser := range serializers {
		s := joinWith(t, srv.URL("ws"), ser, pptRoles)
		s.subscribe("com.secure", wamp.Dict{"match": "prefix"})
		subs = append(subs, s)
	}
	pub.send(&wamp.Publish{Request: pub.next(), Options: withPPT(wamp.Dict{"acknowledge": true}), Topic: "com.secure.news", Payload: wamp.Payload{Args: wamp.List{blob}}})
	expect[*wamp.Published](pub)
	for _, s := range subs {
		ev := expect[*wamp.Event](s)
		checkPPT(t, s.c.Name()+" EVENT", ev.Details)
		checkBlob(t, s.c.Name()+" EVENT", &ev.Payload, blob)
		if s.c.Name() == "msgpack" && (ev.Raw == nil || !bytes.Contains(ev.Raw.Args, blob)) {
			t.Errorf("same serializer: the encoded payload was not passed through as is")
		}
	}

	// Errors.
	req := pub.next()
	pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true, "ppt_scheme": "wamp", "ppt_keyid": 7}, Topic: "com.secure.x"})
	pub.expectError(wamp.TypePublish, req, wamp.ErrInvalidArgument)
	req = pub.next()
	pub.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true, "ppt_cipher": "aes256gcm"}, Topic: "com.secure.x"})
	pub.expectError(wamp.TypePublish, req, wamp.ErrInvalidArgument)
	for _, s := range subs {
		s.expectNothing(20 * time.Millisecond)
	}
	// A publisher that did not announce PPT commits a protocol violation.
	plain := dialPeer(t, srv, "tcp", "json")
	plain.join()
	plain.send(&wamp.Publish{Request: plain.next(), Options: withPPT(nil), Topic: "com.secure.x", Payload: wamp.Payload{Args: wamp.List{blob}}})
	expectAbort(plain, wamp.ErrProtocolViolation)
	plain.expectClosed()
}

func TestPayloadPassthruRPC(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	blob, answer := []byte{1, 2, 3, 0, 254}, []byte{9, 8, 7}
	callee := joinWith(t, srv.URL("unix"), "cbor", pptRoles)
	callee.register("com.secure.rpc", wamp.Dict{})
	plainCallee := dialPeer(t, srv, "tcp", "json")
	plainCallee.join()
	plainCallee.register("com.plain.rpc", wamp.Dict{})

	t.Run("round trip across serializers", func(t *testing.T) {
		caller := joinWith(t, srv.URL("ws"), "json", pptRoles)
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: withPPT(wamp.Dict{"receive_progress": true}), Procedure: "com.secure.rpc", Payload: wamp.Payload{Args: wamp.List{blob}}})
		inv := expect[*wamp.Invocation](callee)
		checkPPT(t, "INVOCATION", inv.Details)
		checkBlob(t, "INVOCATION", &inv.Payload, blob)
		callee.send(&wamp.Yield{Request: inv.Request, Options: withPPT(wamp.Dict{"progress": true}), Payload: wamp.Payload{Args: wamp.List{answer}}})
		res := expect[*wamp.Result](caller)
		checkPPT(t, "progressive RESULT", res.Details)
		checkBlob(t, "progressive RESULT", &res.Payload, answer)
		callee.send(&wamp.Yield{Request: inv.Request, Options: withPPT(nil), Payload: wamp.Payload{Args: wamp.List{answer}}})
		res = expect[*wamp.Result](caller)
		checkPPT(t, "RESULT", res.Details)
		checkBlob(t, "RESULT", &res.Payload, answer)
		// An application error keeps its ppt_* details.
		req = caller.next()
		caller.send(&wamp.Call{Request: req, Options: withPPT(nil), Procedure: "com.secure.rpc", Payload: wamp.Payload{Args: wamp.List{blob}}})
		inv = expect[*wamp.Invocation](callee)
		callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: withPPT(nil), Error: "com.app.error.denied", Payload: wamp.Payload{Args: wamp.List{answer}}})
		e := caller.expectError(wamp.TypeCall, req, "com.app.error.denied")
		checkPPT(t, "ERROR", e.Details)
		checkBlob(t, "ERROR", &e.Payload, answer)
	})
	t.Run("callee without PPT", func(t *testing.T) {
		caller := joinWith(t, srv.URL("ws"), "msgpack", pptRoles)
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: withPPT(nil), Procedure: "com.plain.rpc", Payload: wamp.Payload{Args: wamp.List{blob}}})
		e := caller.expectError(wamp.TypeCall, req, wamp.ErrFeatureNotSupported)
		if a := argsOf(t, &e.Payload); len(a) == 0 || !containsAll(a[0].(string), "payload_passthru_mode") {
			t.Errorf("error message %v", a)
		}
		plainCallee.expectNothing(30 * time.Millisecond)
	})
	t.Run("caller without PPT gets a PPT answer", func(t *testing.T) {
		caller := dialPeer(t, srv, "tcp", "msgpack")
		caller.join()
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.secure.rpc"})
		inv := expect[*wamp.Invocation](callee)
		callee.send(&wamp.Yield{Request: inv.Request, Options: withPPT(nil), Payload: wamp.Payload{Args: wamp.List{answer}}})
		callee.expectError(wamp.TypeInvocation, inv.Request, wamp.ErrFeatureNotSupported)
		caller.expectError(wamp.TypeCall, req, wamp.ErrFeatureNotSupported)
	})
	t.Run("caller that did not announce PPT uses it", func(t *testing.T) {
		caller := dialPeer(t, srv, "tcp", "json")
		caller.join()
		caller.send(&wamp.Call{Request: caller.next(), Options: withPPT(nil), Procedure: "com.secure.rpc", Payload: wamp.Payload{Args: wamp.List{blob}}})
		expectAbort(caller, wamp.ErrProtocolViolation)
		callee.expectNothing(20 * time.Millisecond)
	})
	t.Run("callee that did not announce PPT uses it", func(t *testing.T) {
		caller := joinWith(t, srv.URL("ws"), "json", pptRoles)
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.plain.rpc"})
		inv := expect[*wamp.Invocation](plainCallee)
		plainCallee.send(&wamp.Yield{Request: inv.Request, Options: withPPT(nil), Payload: wamp.Payload{Args: wamp.List{answer}}})
		expectAbort(plainCallee, wamp.ErrProtocolViolation)
		caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled) // the callee is gone
	})
	t.Run("callee that did not announce PPT errs with it", func(t *testing.T) {
		other := dialPeer(t, srv, "tcp", "json")
		other.join()
		other.register("com.plain.rpc2", wamp.Dict{})
		caller := joinWith(t, srv.URL("ws"), "json", pptRoles)
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.plain.rpc2"})
		inv := expect[*wamp.Invocation](other)
		other.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: withPPT(nil), Error: "com.app.error.x"})
		expectAbort(other, wamp.ErrProtocolViolation)
		caller.expectError(wamp.TypeCall, req, wamp.ErrCanceled)
	})
	t.Run("bad ppt option", func(t *testing.T) {
		caller := joinWith(t, srv.URL("ws"), "json", pptRoles)
		req := caller.next()
		caller.send(&wamp.Call{Request: req, Options: wamp.Dict{"ppt_scheme": true}, Procedure: "com.secure.rpc"})
		caller.expectError(wamp.TypeCall, req, wamp.ErrInvalidArgument)
	})
}
