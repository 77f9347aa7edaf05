package router_test

import (
	"context"
	"errors"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// peer is a raw WAMP peer for protocol-level tests: it sends exactly the
// messages a test builds, including ones a proper client never would.
type peer struct {
	t  testing.TB
	tc transport.Conn
	c  codec.Codec
	id wamp.ID
	// req is the next request id.
	req wamp.ID
	// in receives what a background reader reads: transports close the
	// connection when a Read's ctx ends, so timed reads wait on this instead.
	in chan inbound
}

type inbound struct {
	m   wamp.Message
	err error
	eof bool // the read failed: the reader has stopped
}

var transports = []string{"ws", "tcp", "unix"}

func dialPeer(t testing.TB, srv *routertest.Server, kind, ser string) *peer {
	t.Helper()
	return dialURL(t, srv.URL(kind), ser)
}

// dialURL connects to ws://, tcp:// or unix:// URLs.
func dialURL(t testing.TB, rawURL, ser string) *peer {
	t.Helper()
	c, err := codec.ByName(ser)
	if err != nil {
		t.Fatal(err)
	}
	return newPeer(t, dialConn(t, rawURL, c))
}

// newPeer reads tc in the background; the test's cleanup closes it.
func newPeer(t testing.TB, tc transport.Conn) *peer {
	c := tc.Codec()
	p := &peer{t: t, tc: tc, c: c, req: 1, in: make(chan inbound, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			b, err := tc.Read(context.Background())
			if err != nil {
				p.in <- inbound{err: err, eof: true}
				return
			}
			m, err := c.Decode(b)
			p.in <- inbound{m: m, err: err}
		}
	}()
	t.Cleanup(func() { tc.Close(); <-done })
	return p
}

// dialConn connects to a ws://, tcp:// or unix:// URL with serializer c.
// Nothing reads the connection and nothing closes it: that is the caller's.
func dialConn(t testing.TB, rawURL string, c codec.Codec) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	var tc transport.Conn
	switch u.Scheme {
	case "ws":
		tc, err = websocket.Dial(ctx, rawURL, websocket.DialOptions{Serializer: c})
	case "tcp":
		tc, err = rawsocket.Dial(ctx, "tcp", u.Host, rawsocket.DialOptions{Serializer: c})
	case "unix":
		tc, err = rawsocket.Dial(ctx, "unix", u.Path, rawsocket.DialOptions{Serializer: c})
	default:
		t.Fatalf("unknown URL scheme in %q", rawURL)
	}
	if err != nil {
		t.Fatalf("dial %s/%s: %v", rawURL, c.Name(), err)
	}
	return tc
}

// rawRPC writes m to a connection that dialConn made (and nobody else
// reads) and returns the next message the router sends on it.
func rawRPC(t testing.TB, ctx context.Context, tc transport.Conn, m wamp.Message) wamp.Message {
	t.Helper()
	f, err := tc.Codec().Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	if err := tc.Write(ctx, [][]byte{f}); err != nil {
		t.Fatal(err)
	}
	data, err := tc.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	reply, err := tc.Codec().Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

func (p *peer) send(m wamp.Message) {
	p.t.Helper()
	b, err := p.c.Encode(nil, m)
	if err != nil {
		p.t.Fatalf("encode %v: %v", m.MessageType(), err)
	}
	p.sendRaw(b)
}

func (p *peer) sendRaw(b []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.tc.Write(ctx, [][]byte{b}); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// recv returns the next message, failing the test after 5 s.
func (p *peer) recv() wamp.Message {
	p.t.Helper()
	m, err := p.tryRecv(5 * time.Second)
	if err != nil {
		p.t.Fatalf("recv: %v", err)
	}
	return m
}

// errClosedEarlier is reported after the reader has seen the end of the connection.
var errClosedEarlier = errors.New("connection already closed")

func (p *peer) tryRecv(d time.Duration) (wamp.Message, error) {
	select {
	case in, ok := <-p.in:
		if !ok {
			return nil, errClosedEarlier
		}
		if in.eof {
			close(p.in) // the reader has stopped; later reads see errClosedEarlier
		}
		return in.m, in.err
	case <-time.After(d):
		return nil, context.DeadlineExceeded
	}
}

// expectNothing asserts that no message arrives within d.
func (p *peer) expectNothing(d time.Duration) {
	p.t.Helper()
	m, err := p.tryRecv(d)
	if err == nil {
		p.t.Fatalf("expected no message, got %v %+v", m.MessageType(), m)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		p.t.Fatalf("expected silence, got error %v", err)
	}
}

// expectClosed asserts that the router closes the connection.
func (p *peer) expectClosed() {
	p.t.Helper()
	m, err := p.tryRecv(5 * time.Second)
	if err == nil {
		p.t.Fatalf("expected the connection to close, got %v", m.MessageType())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		p.t.Fatal("expected the connection to close; it stayed open")
	}
}

func expect[T wamp.Message](p *peer) T {
	p.t.Helper()
	m := p.recv()
	v, ok := m.(T)
	if !ok {
		var want T
		p.t.Fatalf("expected %T, got %v %+v", want, m.MessageType(), m)
	}
	return v
}

var clientRoles = wamp.Dict{
	"publisher":  wamp.Dict{"features": wamp.Dict{"publisher_exclusion": true, "subscriber_blackwhite_listing": true}},
	"subscriber": wamp.Dict{"features": wamp.Dict{"pattern_based_subscription": true}},
	"caller":     wamp.Dict{"features": wamp.Dict{"progressive_call_results": true, "call_canceling": true, "call_timeout": true}},
	"callee":     wamp.Dict{"features": wamp.Dict{"progressive_call_results": true, "call_canceling": true, "pattern_based_registration": true, "shared_registration": true}},
}

// join sends HELLO for realm1 and expects WELCOME.
func (p *peer) join() *wamp.Welcome {
	p.t.Helper()
	p.send(&wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}})
	return p.welcomed()
}

// hello sends HELLO for realm1 with extra details (authmethods, authid…).
func (p *peer) hello(details wamp.Dict) {
	p.t.Helper()
	d := wamp.Dict{"roles": clientRoles}
	for k, v := range details {
		d[k] = v
	}
	p.send(&wamp.Hello{Realm: routertest.Realm, Details: d})
}

// welcomed expects WELCOME and records the session id.
func (p *peer) welcomed() *wamp.Welcome {
	p.t.Helper()
	w := expect[*wamp.Welcome](p)
	p.id = w.Session
	return w
}

func (p *peer) next() wamp.ID {
	id := p.req
	p.req++
	return id
}

func (p *peer) subscribe(topic wamp.URI, opts wamp.Dict) wamp.ID {
	p.t.Helper()
	req := p.next()
	p.send(&wamp.Subscribe{Request: req, Options: opts, Topic: topic})
	s := expect[*wamp.Subscribed](p)
	if s.Request != req {
		p.t.Fatalf("SUBSCRIBED for request %d, want %d", s.Request, req)
	}
	return s.Subscription
}

func (p *peer) register(proc wamp.URI, opts wamp.Dict) wamp.ID {
	p.t.Helper()
	req := p.next()
	p.send(&wamp.Register{Request: req, Options: opts, Procedure: proc})
	r := expect[*wamp.Registered](p)
	if r.Request != req {
		p.t.Fatalf("REGISTERED for request %d, want %d", r.Request, req)
	}
	return r.Registration
}

// settle returns once p's session has handled everything p sent before (a
// session handles its messages in order), including what a request does
// after its answer: the meta events and the revoke re-check that follow
// SUBSCRIBED and REGISTERED. The probe is a SUBSCRIBE refused for its URI,
// before any authorization.
func (p *peer) settle() {
	p.t.Helper()
	req := p.next()
	p.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "settle..probe"})
	p.expectError(wamp.TypeSubscribe, req, wamp.ErrInvalidURI)
}

// expectError expects ERROR for (type, req) with uri.
func (p *peer) expectError(t wamp.MessageType, req wamp.ID, uri wamp.URI) *wamp.Error {
	p.t.Helper()
	e := expect[*wamp.Error](p)
	if e.RequestType != t || e.Request != req || e.Error != uri {
		p.t.Fatalf("got ERROR %v/%d %s %v, want %v/%d %s", e.RequestType, e.Request, e.Error, argsOf(p.t, &e.Payload), t, req, uri)
	}
	return e
}

func expectAbort(p *peer, reason wamp.URI) *wamp.Abort {
	p.t.Helper()
	a := expect[*wamp.Abort](p)
	if a.Reason != reason {
		p.t.Fatalf("ABORT reason %q (%v), want %q", a.Reason, a.Details, reason)
	}
	return a
}

func argsOf(t testing.TB, pl *wamp.Payload) wamp.List {
	t.Helper()
	a, _, err := pl.Values()
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	return a
}

func kwargsOf(t testing.TB, pl *wamp.Payload) wamp.Dict {
	t.Helper()
	_, k, err := pl.Values()
	if err != nil {
		t.Fatalf("decode payload: %v", err)
	}
	return k
}

func deepEqual(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// waitStats polls the router's Stats until ok holds, for counters that move
// after the last message a test can see (e.g. an unacknowledged PUBLISH
// dropped once an authorizer answers), failing after 5s.
func waitStats(t testing.TB, srv *routertest.Server, what string, ok func(router.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for st := srv.Router().Stats(); !ok(st); st = srv.Router().Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: stats %+v", what, st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
