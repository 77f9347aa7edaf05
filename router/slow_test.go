package router_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// A subscriber that stops reading is disconnected once its bounded queue
// is full; the publisher and other subscribers carry on.
func TestSlowConsumerDisconnected(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) { o.MaxQueueBytes = 64 << 10 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The slow subscriber is driven by hand so nothing reads its socket.
	tc := dialConn(t, srv.URL("tcp"), codec.JSON)
	defer tc.Close()
	if _, ok := rawRPC(t, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
		t.Fatal("no WELCOME")
	}
	if _, ok := rawRPC(t, ctx, tc, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.flood"}).(*wamp.Subscribed); !ok {
		t.Fatal("no SUBSCRIBED")
	}

	fast := dialPeer(t, srv, "tcp", "msgpack")
	fast.join()
	fast.subscribe("com.flood", wamp.Dict{})
	pub := dialPeer(t, srv, "tcp", "json")
	pub.join()

	big := strings.Repeat("x", 32<<10)
	deadline := time.Now().Add(8 * time.Second)
	for srv.Router().Stats().SlowConsumers == 0 {
		if time.Now().After(deadline) {
			t.Fatal("slow subscriber was never disconnected")
		}
		pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.flood", Payload: wamp.Payload{Args: wamp.List{big}}})
		expect[*wamp.Event](fast)
	}
	// The slow connection ends: reading drains what was buffered, then fails.
	for {
		if _, err := tc.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("slow subscriber's connection stayed open")
			}
			break
		}
	}
	// Everyone else is fine.
	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{"acknowledge": true}, Topic: "com.flood"})
	expect[*wamp.Event](fast)
	expect[*wamp.Published](pub)
}

// Serve puts WebSocket and RawSocket on one port; the first byte decides.
func TestUniversalListener(t *testing.T) {
	t.Parallel()
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.Serve(ln) }()
	defer func() {
		r.Shutdown(context.Background())
		if err := <-served; err != router.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	raw, err := rawsocket.Dial(ctx, "tcp", ln.Addr().String(), rawsocket.DialOptions{Serializer: codec.CBOR})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ws, err := websocket.Dial(ctx, "ws://"+ln.Addr().String()+"/any/path", websocket.DialOptions{Serializer: codec.MsgPack})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	for _, tc := range []interface {
		Write(context.Context, [][]byte) error
		Read(context.Context) ([]byte, error)
		Codec() codec.Codec
	}{raw, ws} {
		b, _ := tc.Codec().Encode(nil, &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
		if err := tc.Write(ctx, [][]byte{b}); err != nil {
			t.Fatal(err)
		}
		data, err := tc.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m, err := tc.Codec().Decode(data); err != nil || m.MessageType() != wamp.TypeWelcome {
			t.Fatalf("%s: got %v, %v; want WELCOME", tc.Codec().Name(), m, err)
		}
	}

	// Plain HTTP on the same port gets a clear refusal, not a hang.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	if !bytes.HasPrefix(buf[:n], []byte("HTTP/1.1 4")) {
		t.Errorf("plain GET answered %q, want a 4xx", buf[:n])
	}
}

// A RawSocket message over the router's limit ends the connection.
func TestOversizeMessageClosesConnection(t *testing.T) {
	t.Parallel()
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeTransport(ln, router.Transport{RawSocket: &router.RawSocketOptions{MaxMessageSize: 1024}})
	defer r.Shutdown(context.Background())
	// Speak RawSocket by hand: handshake, then a frame over the limit.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0x7F, 0xF1, 0, 0})
	reply := make([]byte, 4)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatal(err)
	}
	if reply[1] != 0x11 { // 2^(9+1) = 1 KiB, JSON
		t.Fatalf("handshake reply %x, want limit exponent 1 for 1 KiB", reply)
	}
	frame := append([]byte{0, 0, 0x07, 0xD0}, bytes.Repeat([]byte{' '}, 2000)...)
	c.Write(frame)
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("connection not closed cleanly: %v", err)
	}
	// Whatever came before the close (an ABORT) is at most one small frame.
	if len(rest) > 200 {
		t.Errorf("router sent %d bytes after an oversize frame", len(rest))
	}
}
