package dealer

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestReroute: a call its callee never got moves once to the other
// callee, which answers it; it is not moved again, a single registration
// is never rerouted, and the old callee's late answer is dropped.
func TestReroute(t *testing.T) {
	var seq wamp.Sequence
	d := New(&seq)
	a, b := &chanSession{id: 1, ch: make(chan wamp.Message, 4)}, &chanSession{id: 2, ch: make(chan wamp.Message, 4)}
	pa, pb := NewPeer(a), NewPeer(b)
	for _, p := range []*Peer{pa, pb} {
		if _, errURI := d.Register(p, "p", RegisterOptions{Invoke: InvokeFirst}); errURI != "" {
			t.Fatal(errURI)
		}
	}
	cs := &chanSession{id: 3, ch: make(chan wamp.Message, 4)}
	caller := NewPeer(cs)
	if errURI := call(d, caller, &wamp.Call{Request: 7, Procedure: "p", Payload: wamp.Payload{Args: wamp.List{"x"}}}, CallOptions{}); errURI != "" {
		t.Fatal(errURI)
	}
	inv := (<-a.ch).(*wamp.Invocation)
	if !d.Reroute(pa, inv) {
		t.Fatal("not rerouted")
	}
	moved := (<-b.ch).(*wamp.Invocation)
	if moved.Payload.Args[0] != "x" || moved.Registration != inv.Registration {
		t.Fatalf("rerouted INVOCATION %+v", moved)
	}
	if d.Reroute(pb, moved) {
		t.Fatal("rerouted twice")
	}
	if d.Yield(pa, &wamp.Yield{Request: inv.Request}); len(cs.ch) != 0 {
		t.Fatal("the first callee's late answer reached the caller")
	}
	d.Yield(pb, &wamp.Yield{Request: moved.Request, Payload: wamp.Payload{Args: wamp.List{"ok"}}})
	if res := (<-cs.ch).(*wamp.Result); res.Request != 7 || res.Payload.Args[0] != "ok" {
		t.Fatalf("answer %+v", res)
	}
	if _, n := tableSizes(caller); n != 0 {
		t.Errorf("caller still holds %d calls", n)
	}

	if _, errURI := d.Register(pa, "s", RegisterOptions{}); errURI != "" {
		t.Fatal(errURI)
	}
	if errURI := call(d, caller, &wamp.Call{Request: 8, Procedure: "s"}, CallOptions{}); errURI != "" {
		t.Fatal(errURI)
	}
	if d.Reroute(pa, (<-a.ch).(*wamp.Invocation)) {
		t.Fatal("a single registration's call rerouted")
	}
}
