package router_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// parkSoon parks idle sessions after 20 ms instead of 2 s.
func parkSoon(o *router.Options) { o.IdleParkAfter = 20 * time.Millisecond }

func waitParked(t testing.TB, srv *routertest.Server, n int) {
	t.Helper()
	waitStats(t, srv, fmt.Sprintf("%d parked", n), func(st router.Stats) bool { return st.Parked == n })
}

// eachParked runs f in parallel on each of kinds, each against its own
// router that parks idle sessions soon.
func eachParked(t *testing.T, kinds []string, f func(t *testing.T, kind string, srv *routertest.Server)) {
	t.Parallel()
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			f(t, kind, routertest.Start(t, parkSoon))
		})
	}
}

// An idle session parks on every transport, and a parked one works as
// before: it answers requests, gets events, exchanges GOODBYE and starts a
// new session on the same connection, and parks again in between.
func TestIdleSessionParks(t *testing.T) {
	eachParked(t, transports, func(t *testing.T, kind string, srv *routertest.Server) {
		sub := dialPeer(t, srv, kind, "json")
		sub.join()
		topic := wamp.URI("com.example.parked." + kind)
		sub.subscribe(topic, nil)
		pub := dialPeer(t, srv, kind, "msgpack")
		pub.join()
		waitParked(t, srv, 2)

		// The publisher wakes; the subscriber gets the event while parked.
		pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{"acknowledge": true}, Topic: topic, Payload: wamp.Payload{Args: wamp.List{1}}})
		expect[*wamp.Published](pub)
		expect[*wamp.Event](sub)
		waitParked(t, srv, 2)

		// The subscriber wakes, says GOODBYE, joins again, parks again.
		sub.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
		expect[*wamp.Goodbye](sub)
		sub.join()
		waitParked(t, srv, 2)
		sub.subscribe(topic+".again", nil)
		waitParked(t, srv, 2)
		if st := srv.Router().Stats(); st.Sessions != 2 {
			t.Fatalf("%d sessions, want 2", st.Sessions)
		}
	})
}

// A parked session whose peer goes away leaves as usual: on_leave is
// published and nothing stays parked.
func TestParkedPeerLeaves(t *testing.T) {
	eachParked(t, transports, func(t *testing.T, kind string, srv *routertest.Server) {
		watcher := dialPeer(t, srv, kind, "json")
		watcher.join()
		watcher.subscribe("wamp.session.on_leave", nil)
		idle := dialPeer(t, srv, kind, "cbor")
		id := idle.join().Session
		waitParked(t, srv, 2)
		idle.tc.Close()
		ev := expect[*wamp.Event](watcher)
		if args := argsOf(t, &ev.Payload); len(args) == 0 || fmt.Sprint(args[0]) != fmt.Sprint(id) {
			t.Fatalf("on_leave %v, want session %d", args, id)
		}
		waitStats(t, srv, "one session, parked", func(st router.Stats) bool { return st.Sessions == 1 && st.Parked == 1 })
	})
}

// The meta API kills a parked session: it gets GOODBYE, and its reply ends
// the connection.
func TestParkedSessionKilled(t *testing.T) {
	eachParked(t, transports, func(t *testing.T, kind string, srv *routertest.Server) {
		admin := dialPeer(t, srv, kind, "json")
		admin.join()
		victim := dialPeer(t, srv, kind, "json")
		id := victim.join().Session
		waitParked(t, srv, 2)
		admin.send(&wamp.Call{Request: admin.next(), Options: wamp.Dict{}, Procedure: "wamp.session.kill", Payload: wamp.Payload{Args: wamp.List{id}}})
		expect[*wamp.Result](admin)
		expect[*wamp.Goodbye](victim)
		victim.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
		victim.expectClosed()
		waitStats(t, srv, "the victim gone", func(st router.Stats) bool { return st.Sessions == 1 })
	})
}

// A peer that stopped in the middle of a frame is not parked (the reader
// is inside the frame), while one quiet at a boundary is; the rest of the
// frame then arrives and is handled.
func TestHalfFrameNotParked(t *testing.T) {
	eachParked(t, []string{"tcp", "ws"}, func(t *testing.T, kind string, srv *routertest.Server) {
		half := dialHalf(t, srv, kind)
		ref := dialPeer(t, srv, kind, "json")
		ref.join()
		waitParked(t, srv, 1)
		// The reference parked after the half frame was sent: both have
		// been quiet for the idle time. For ten idle times more, the
		// half frame's reader still must not park.
		for end := time.Now().Add(10 * 20 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
			if st := srv.Router().Stats(); st.Parked > 1 {
				t.Fatalf("%d parked: the reader inside a frame parked", st.Parked)
			}
		}
		half.finish()
		expect[*wamp.Subscribed](half.p)
		waitParked(t, srv, 2)
	})
}

// halfPeer has sent all but the last bytes of a SUBSCRIBE.
type halfPeer struct {
	p    *peer
	rest []byte
	w    func([]byte)
}

var _ transport.Conn = (*handWS)(nil)

func (h *halfPeer) finish() { h.w(h.rest) }

// dialHalf joins a session over a raw socket (RawSocket framing or
// WebSocket frames written by hand) and sends half a SUBSCRIBE frame.
func dialHalf(t *testing.T, srv *routertest.Server, kind string) *halfPeer {
	t.Helper()
	raw := dialRawFrames(t, srv, kind)
	p := raw.peer
	p.join()
	msg, err := codec.JSON.Encode(nil, &wamp.Subscribe{Request: p.next(), Options: wamp.Dict{}, Topic: "com.example.half"})
	if err != nil {
		t.Fatal(err)
	}
	frame := raw.frame(msg)
	cut := len(frame) / 2
	raw.write(frame[:cut])
	return &halfPeer{p: p, rest: frame[cut:], w: raw.write}
}

// Router shutdown with many parked sessions finishes promptly: those that
// answer GOODBYE leave at once, the others at GoodbyeTimeout.
func TestShutdownWithParked(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, parkSoon, func(o *router.Options) { o.GoodbyeTimeout = 300 * time.Millisecond })
	var peers []*peer
	for i := range 30 {
		p := dialPeer(t, srv, transports[i%len(transports)], "json")
		p.join()
		peers = append(peers, p)
	}
	waitParked(t, srv, len(peers))
	start := time.Now()
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		done <- srv.Router().Shutdown(ctx)
	}()
	for i, p := range peers {
		expect[*wamp.Goodbye](p)
		if i%2 == 0 {
			p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with parked sessions", d)
	}
	if st := srv.Router().Stats(); st.Sessions != 0 || st.Parked != 0 {
		t.Fatalf("after shutdown: %d sessions, %d parked", st.Sessions, st.Parked)
	}
}

// Many parked sessions becoming readable at once all get their answers,
// and park again.
func TestManyParkedWakeAtOnce(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, parkSoon)
	n := 300
	peers := make([]*peer, n)
	for i := range peers {
		peers[i] = dialPeer(t, srv, transports[i%len(transports)], "msgpack")
		peers[i].join()
	}
	waitParked(t, srv, n)
	for i, p := range peers {
		p.send(&wamp.Subscribe{Request: p.next(), Options: wamp.Dict{}, Topic: wamp.URI(fmt.Sprintf("com.example.wake.%d", i))})
	}
	for _, p := range peers {
		expect[*wamp.Subscribed](p)
	}
	waitParked(t, srv, n)
}

// Closes racing readiness: parked sessions are woken by their peer while
// the router kills them, or their peer closes at the same time; every
// session leaves once, nothing stays parked or leaks (goleak).
func TestParkedCloseRacesReadiness(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, parkSoon, func(o *router.Options) { o.GoodbyeTimeout = 100 * time.Millisecond })
	admin := dialPeer(t, srv, "tcp", "json")
	admin.join()
	const n = 60
	peers := make([]*peer, n)
	ids := make([]wamp.ID, n)
	for i := range peers {
		peers[i] = dialPeer(t, srv, transports[i%len(transports)], "json")
		ids[i] = peers[i].join().Session
	}
	waitParked(t, srv, n+1)
	var wg sync.WaitGroup
	for i, p := range peers {
		wg.Go(func() {
			b, err := p.c.Encode(nil, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.example.race"})
			if err != nil {
				t.Error(err)
				return
			}
			_ = p.tc.Write(context.Background(), [][]byte{b})
			if i%3 == 0 {
				p.tc.Close()
			}
		})
		admin.send(&wamp.Call{Request: admin.next(), Options: wamp.Dict{}, Procedure: "wamp.session.kill", Payload: wamp.Payload{Args: wamp.List{ids[i]}}})
	}
	wg.Wait()
	for range n {
		switch m := admin.recv().(type) {
		case *wamp.Result:
		case *wamp.Error:
			if m.Error != wamp.ErrNoSuchSession {
				t.Fatalf("kill: %v", m.Error)
			}
		default:
			t.Fatalf("kill answered with %v", m.MessageType())
		}
	}
	waitStats(t, srv, "only the admin left", func(st router.Stats) bool { return st.Sessions == 1 })
}

// rawFrames is a peer whose test can also write bytes of its own between
// (or inside) frames: RawSocket over a socket it dialed, or a WebSocket
// client written by hand (handWS).
type rawFrames struct {
	peer  *peer
	nc    net.Conn
	frame func(msg []byte) []byte
}

func (r *rawFrames) write(b []byte) {
	if _, err := r.nc.Write(b); err != nil {
		r.peer.t.Fatalf("write: %v", err)
	}
}

func dialRawFrames(t *testing.T, srv *routertest.Server, kind string) *rawFrames {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", srv.Addr(kind))
	if err != nil {
		t.Fatal(err)
	}
	if kind == "tcp" {
		tc, err := rawsocket.Client(ctx, nc, rawsocket.DialOptions{Serializer: codec.JSON})
		if err != nil {
			t.Fatal(err)
		}
		return &rawFrames{peer: newPeer(t, tc), nc: nc, frame: func(msg []byte) []byte {
			return append([]byte{0, byte(len(msg) >> 16), byte(len(msg) >> 8), byte(len(msg))}, msg...)
		}}
	}
	hw := &handWS{Conn: nc, br: bufio.NewReader(nc)}
	hw.upgrade(t, srv.URL("ws"))
	return &rawFrames{peer: newPeer(t, hw), nc: nc, frame: wsClientFrame}
}

// wsClientFrame is msg as one masked text frame (mask key 0: the payload
// reads as is).
func wsClientFrame(msg []byte) []byte {
	f := []byte{0x81}
	if len(msg) < 126 {
		f = append(f, 0x80|byte(len(msg)))
	} else {
		f = append(f, 0x80|126, byte(len(msg)>>8), byte(len(msg)))
	}
	return append(append(f, 0, 0, 0, 0), msg...)
}

// handWS is a minimal WAMP-over-WebSocket client (JSON, unfragmented
// frames, no control frames expected).
type handWS struct {
	net.Conn
	br *bufio.Reader
}

func (h *handWS) upgrade(t *testing.T, rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(h.Conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n", u.Path, u.Host)
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
}

func (h *handWS) Read(context.Context) ([]byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(h.br, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(h.br, b[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(h.br, b[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint64(b[:]))
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(h.br, msg); err != nil {
		return nil, err
	}
	if op := hdr[0] & 0x0F; op != 1 {
		return nil, fmt.Errorf("websocket opcode %d", op)
	}
	return msg, nil
}

func (h *handWS) Write(_ context.Context, frames [][]byte) error {
	for _, f := range frames {
		if _, err := h.Conn.Write(wsClientFrame(f)); err != nil {
			return err
		}
	}
	return nil
}

func (h *handWS) Codec() codec.Codec   { return codec.JSON }
func (h *handWS) MaxSendSize() int     { return 0 }
func (h *handWS) Info() transport.Info { return transport.Info{Kind: transport.KindWebSocket} }
func (h *handWS) Close() error         { return h.Conn.Close() }

// tollgate_connections_parked follows the parked connections: both idle
// sessions counted, one less after its peer goes.
func TestParkedMetric(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, parkSoon)
	url := "http://" + strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{Metrics: []string{"/metrics"}}), "tcp://") + "/metrics"
	a, b := dialPeer(t, srv, "tcp", "json"), dialPeer(t, srv, "ws", "json")
	a.join()
	b.join()
	waitParked(t, srv, 2)
	waitMetric(t, url, 2, "tollgate_connections_parked")
	if err := a.tc.Close(); err != nil {
		t.Fatal(err)
	}
	waitMetric(t, url, 1, "tollgate_connections_parked")
}
