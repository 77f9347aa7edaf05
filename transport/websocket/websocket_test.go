package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cws "github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type acceptResult struct {
	c   transport.Conn
	err error
}

type server struct {
	*httptest.Server
	url     string // ws:// or wss:// URL of /ws
	results chan acceptResult
	tls     *tls.Config // client config trusting the server
}

// startServer runs Accept(o) on 127.0.0.1:0, plain or TLS.
func startServer(t testing.TB, o ServerOptions, useTLS bool) *server {
	t.Helper()
	s := &server{results: make(chan acceptResult, 16)}
	var (
		mu    sync.Mutex
		conns []transport.Conn
	)
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, o)
		if c != nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
		s.results <- acceptResult{c, err}
	}))
	s.Config.ErrorLog = log.New(io.Discard, "", 0) // refused TLS handshakes are expected
	s.Listener = signalListener{s.Listener}
	if useTLS {
		s.StartTLS()
		s.tls = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
		s.url = "wss" + strings.TrimPrefix(s.URL, "https") + "/ws"
	} else {
		s.Start()
		s.url = "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	}
	t.Cleanup(func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		s.Close()
	})
	return s
}

func (s *server) accepted(t testing.TB) acceptResult {
	t.Helper()
	select {
	case r := <-s.results:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no Accept result")
		return acceptResult{}
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, s *server, o DialOptions) (client, srv *Conn) {
	t.Helper()
	o.TLSConfig = s.tls
	c, err := Dial(ctxT(t), s.url, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	r := s.accepted(t)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	return c.(*Conn), r.c.(*Conn)
}

// testFrames returns frames valid for the codec's batch framing.
func testFrames(cd codec.Codec) [][]byte {
	if cd.Binary() {
		return [][]byte{{0x93, 0x18, 0x1E, 0x00}, bytes.Repeat([]byte{0x18}, 3000), {1}}
	}
	return [][]byte{[]byte(`[1,"realm1",{}]`), []byte(strings.Repeat(`"x",`, 1000)), []byte(`[6,{},"wamp.close.normal"]`)}
}

func exchange(t *testing.T, from, to transport.Conn) {
	t.Helper()
	ctx := ctxT(t)
	want := testFrames(from.Codec())
	errc := make(chan error, 1)
	go func() { errc <- from.Write(ctx, want) }()
	for i, w := range want {
		got, err := to.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("Read %d: got %q, want %q", i, got, w)
		}
		// Appending to a returned message must not clobber the next one.
		_ = append(got, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestMatrix(t *testing.T) {
	t.Parallel()
	for _, useTLS := range []bool{false, true} {
		for _, cd := range codec.All() {
			for _, batched := range []bool{false, true} {
				name := fmt.Sprintf("tls=%v/%s", useTLS, codec.Subprotocol(cd, batched))
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					s := startServer(t, ServerOptions{AuthHeaders: []string{"x-TEST", "Sec-WebSocket-Protocol"}}, useTLS)
					hdr := http.Header{"X-Test": {"yes"}, "X-Other": {"no"}}
					cc, sc := dial(t, s, DialOptions{Serializer: cd, Batched: batched, HTTPHeader: hdr})
					proto := codec.Subprotocol(cd, batched)
					for _, c := range []*Conn{cc, sc} {
						in := c.Info()
						if in.Kind != transport.KindWebSocket || in.Protocol != proto || in.Serializer != cd.Name() || in.Network != "tcp" {
							t.Errorf("Info = %+v", in)
						}
						if (in.TLS != nil) != useTLS {
							t.Errorf("Info.TLS = %v", in.TLS)
						}
						if c.Codec() != cd || c.Batched() != batched || c.MaxSendSize() != 0 {
							t.Errorf("Codec/Batched/MaxSendSize = %s %v %d", c.Codec().Name(), c.Batched(), c.MaxSendSize())
						}
					}
					si := sc.Info()
					if si.Path != "/ws" || si.HTTPHeaders.Get("X-Test") != "yes" || si.HTTPHeaders.Get("Sec-WebSocket-Protocol") != proto || len(si.HTTPHeaders) != 2 {
						t.Errorf("server Info path %q headers %v", si.Path, si.HTTPHeaders)
					}
					if ci := cc.Info(); ci.LocalAddr != si.RemoteAddr || ci.RemoteAddr != si.LocalAddr || ci.LocalAddr == "" {
						t.Errorf("addresses: client %s->%s, server %s<-%s", ci.LocalAddr, ci.RemoteAddr, si.LocalAddr, si.RemoteAddr)
					}
					exchange(t, cc, sc)
					exchange(t, sc, cc)
				})
			}
		}
	}
}

// rawDial connects with plain coder/websocket, offering protos.
func rawDial(t *testing.T, s *server, protos ...string) *cws.Conn {
	t.Helper()
	ws, _, err := cws.Dial(ctxT(t), s.url, &cws.DialOptions{Subprotocols: protos})
	if err != nil {
		t.Fatalf("raw Dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

// TestWireFormat checks message types and batch framing as seen by a
// plain WebSocket peer.
func TestWireFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		proto string
		typ   cws.MessageType
		wire  []byte   // what our Write([a b]) puts on the wire, one message
		in    []byte   // what the peer sends
		want  [][]byte // what our Read yields from in
	}{
		{"wamp.2.json", cws.MessageText, nil, []byte(`[1]`), [][]byte{[]byte(`[1]`)}},
		{"wamp.2.msgpack", cws.MessageBinary, nil, []byte{0x91, 0x01}, [][]byte{{0x91, 0x01}}},
		{"wamp.2.json.batched", cws.MessageText, []byte("a\x18b\x18"), []byte("[1]\x18[2]\x1e[3]"), [][]byte{[]byte("[1]"), []byte("[2]"), []byte("[3]")}},
		{"wamp.2.cbor.batched", cws.MessageBinary, []byte{0, 0, 0, 1, 'a', 0, 0, 0, 1, 'b'}, []byte{0, 0, 0, 2, 0x81, 1, 0, 0, 0, 1, 0x80}, [][]byte{{0x81, 1}, {0x80}}},
	}
	for _, tt := range tests {
		t.Run(tt.proto, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ServerOptions{}, false)
			ws := rawDial(t, s, "wamp.2.bogus", tt.proto)
			if ws.Subprotocol() != tt.proto {
				t.Fatalf("server chose %q", ws.Subprotocol())
			}
			r := s.accepted(t)
			if r.err != nil {
				t.Fatal(r.err)
			}
			sc := r.c
			ctx := ctxT(t)
			if err := sc.Write(ctx, [][]byte{[]byte("a"), []byte("b")}); err != nil {
				t.Fatal(err)
			}
			typ, got, err := ws.Read(ctx)
			if err != nil || typ != tt.typ {
				t.Fatalf("peer Read: %v %v, want %v", typ, err, tt.typ)
			}
			if tt.wire != nil && !bytes.Equal(got, tt.wire) {
				t.Fatalf("wire % X, want % X", got, tt.wire)
			}
			if tt.wire == nil { // unbatched: one message per frame
				if _, got2, err := ws.Read(ctx); string(got) != "a" || string(got2) != "b" || err != nil {
					t.Fatalf("unbatched messages %q %q %v", got, got2, err)
				}
			}
			if err := ws.Write(ctx, tt.typ, tt.in); err != nil {
				t.Fatal(err)
			}
			for i, w := range tt.want {
				m, err := sc.Read(ctx)
				if err != nil || !bytes.Equal(m, w) {
					t.Fatalf("Read %d = % X, %v; want % X", i, m, err, w)
				}
			}
		})
	}
}

func TestSubprotocolPreference(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{Serializers: []string{"cbor", "json"}}, false)
	ws := rawDial(t, s, "wamp.2.msgpack", "wamp.2.cbor.batched", "wamp.2.json")
	if ws.Subprotocol() != "wamp.2.cbor.batched" {
		t.Errorf("chose %q, want the client's first acceptable wamp.2.cbor.batched", ws.Subprotocol())
	}
	if r := s.accepted(t); r.err != nil {
		t.Fatal(r.err)
	}
}

func TestBadBatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		proto   string
		typ     cws.MessageType
		in      []byte
		wantErr string
		status  cws.StatusCode
	}{
		{"wrong type json", "wamp.2.json", cws.MessageBinary, []byte("[1]"), "got a MessageBinary message, wamp.2.json uses MessageText", cws.StatusUnsupportedData},
		{"wrong type msgpack", "wamp.2.msgpack", cws.MessageText, []byte("[1]"), "got a MessageText message", cws.StatusUnsupportedData},
		{"wrong type batched", "wamp.2.json.batched", cws.MessageBinary, []byte("[1]\x18"), "got a MessageBinary", cws.StatusUnsupportedData},
		{"empty batch", "wamp.2.json.batched", cws.MessageText, nil, "empty batch", cws.StatusInvalidFramePayloadData},
		{"empty json message", "wamp.2.json.batched", cws.MessageText, []byte("\x18"), "empty message in JSON batch", cws.StatusInvalidFramePayloadData},
		{"short prefix", "wamp.2.msgpack.batched", cws.MessageBinary, []byte{0, 0, 1}, "3 trailing bytes", cws.StatusInvalidFramePayloadData},
		{"zero length", "wamp.2.cbor.batched", cws.MessageBinary, []byte{0, 0, 0, 0}, "zero-length message", cws.StatusInvalidFramePayloadData},
		{"truncated", "wamp.2.cbor.batched", cws.MessageBinary, []byte{0, 0, 0, 9, 1, 2}, "9 bytes but only 2 remain", cws.StatusInvalidFramePayloadData},
		{"huge prefix", "wamp.2.cbor.batched", cws.MessageBinary, []byte{0xFF, 0xFF, 0xFF, 0xFF, 1}, "only 1 remain", cws.StatusInvalidFramePayloadData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ServerOptions{}, false)
			ws := rawDial(t, s, tt.proto)
			r := s.accepted(t)
			if r.err != nil {
				t.Fatal(r.err)
			}
			ctx := ctxT(t)
			// The peer reads so it answers our close handshake.
			peer := make(chan error, 1)
			go func() {
				_, _, err := ws.Read(ctx)
				peer <- err
			}()
			if err := ws.Write(ctx, tt.typ, tt.in); err != nil {
				t.Fatal(err)
			}
			_, err := r.c.Read(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %v, want %q", err, tt.wantErr)
			}
			if got := cws.CloseStatus(<-peer); got != tt.status {
				t.Errorf("peer saw close status %v, want %v", got, tt.status)
			}
			if _, err := r.c.Read(ctx); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Read after failure = %v, want ErrClosed", err)
			}
		})
	}
}

// A batch with a valid message before a bad one yields the good one first.
func TestBatchGoodThenBad(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{}, false)
	ws := rawDial(t, s, "wamp.2.msgpack.batched")
	r := s.accepted(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	ctx := ctxT(t)
	go ws.Read(ctx)
	ws.Write(ctx, cws.MessageBinary, []byte{0, 0, 0, 1, 0xC0, 0, 0})
	if m, err := r.c.Read(ctx); err != nil || !bytes.Equal(m, []byte{0xC0}) {
		t.Fatalf("first Read = % X, %v", m, err)
	}
	if _, err := r.c.Read(ctx); err == nil || !strings.Contains(err.Error(), "2 trailing bytes") {
		t.Fatalf("second Read = %v", err)
	}
}

func TestNoCommonSubprotocol(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{Serializers: []string{"json"}}, false)

	_, err := Dial(ctxT(t), s.url, DialOptions{Serializer: codec.MsgPack})
	if err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("Dial msgpack to json-only server = %v, want HTTP 400", err)
	}
	r := s.accepted(t)
	if r.err == nil || !strings.Contains(r.err.Error(), `no common WAMP subprotocol: client offered ["wamp.2.msgpack"]`) {
		t.Errorf("Accept = %v", r.err)
	}

	// A plain client offering nothing sees the reason in the 400 body.
	req, _ := http.NewRequest("GET", s.URL+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "wamp.2.json") {
		t.Errorf("status %d body %q", resp.StatusCode, body)
	}
	s.accepted(t)
	http.DefaultClient.CloseIdleConnections()
}

func TestDialChecksSubprotocol(t *testing.T) {
	t.Parallel()
	// A server that upgrades without choosing a subprotocol.
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := cws.Accept(w, r, nil)
		if err == nil {
			<-done
			ws.CloseNow()
		}
	}))
	defer srv.Close()
	defer close(done)
	_, err := Dial(ctxT(t), "ws"+strings.TrimPrefix(srv.URL, "http"), DialOptions{})
	if err == nil || !strings.Contains(err.Error(), `server did not agree to subprotocol wamp.2.json (answered "")`) {
		t.Fatalf("Dial = %v", err)
	}
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		allowed []string
		origin  string
		ok      bool
	}{
		{"any origin by default", nil, "https://evil.example.org", true},
		{"pattern match", []string{"*.example.com"}, "https://app.example.com", true},
		{"pattern case", []string{"*.example.com"}, "https://APP.Example.com", true},
		{"pattern miss", []string{"*.example.com"}, "https://evil.example.org", false},
		{"no origin header", []string{"*.example.com"}, "", true},
		{"scheme pattern", []string{"https://app.example.com"}, "https://app.example.com", true},
		{"scheme pattern miss", []string{"https://app.example.com"}, "http://app.example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ServerOptions{AllowedOrigins: tt.allowed}, false)
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			c, err := Dial(ctxT(t), s.url, DialOptions{HTTPHeader: hdr})
			r := s.accepted(t)
			if tt.ok {
				if err != nil || r.err != nil {
					t.Fatalf("Dial %v, Accept %v", err, r.err)
				}
				c.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), "403") {
				t.Errorf("Dial = %v, want 403", err)
			}
			if r.err == nil || !strings.Contains(r.err.Error(), "not authorized") {
				t.Errorf("Accept = %v", r.err)
			}
		})
	}
}

func TestServerOptionsValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		o       ServerOptions
		wantErr string
	}{
		{ServerOptions{Serializers: []string{"json", "msgpack"}, AllowedOrigins: []string{"*.a.com"}}, ""},
		{ServerOptions{Serializers: []string{"yaml"}}, `unknown serializer "yaml"`},
		{ServerOptions{AllowedOrigins: []string{"[bad"}}, `bad origin pattern "[bad"`},
		{ServerOptions{PingInterval: -1}, "negative ping interval"},
		{ServerOptions{AuthHeaders: []string{"*", "Cookie", "x-forwarded-for"}}, ""},
		{ServerOptions{AuthHeaders: []string{"x forwarded"}}, `header name "x forwarded": character ' ' is not allowed`},
		{ServerOptions{AuthHeaders: []string{""}}, "empty header name"},
	}
	for _, tt := range tests {
		err := tt.o.Validate()
		if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Validate(%+v) = %v, want %q", tt.o, err, tt.wantErr)
		}
	}
	s := startServer(t, ServerOptions{Serializers: []string{"yaml"}}, false)
	if _, err := Dial(ctxT(t), s.url, DialOptions{}); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("Dial to misconfigured server = %v, want 500", err)
	}
	if r := s.accepted(t); r.err == nil {
		t.Error("Accept with bad options succeeded")
	}
}

func TestMessageTooBig(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{MaxMessageSize: 1024}, false)
	cc, sc := dial(t, s, DialOptions{MaxMessageSize: 2048, Serializer: codec.CBOR})
	ctx := ctxT(t)

	go cc.Write(ctx, [][]byte{make([]byte, 1024), make([]byte, 1025)})
	if m, err := sc.Read(ctx); err != nil || len(m) != 1024 {
		t.Fatalf("Read at limit = %d bytes, %v", len(m), err)
	}
	if _, err := sc.Read(ctx); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("Read over limit = %v, want ErrMessageTooBig", err)
	}

	// Client side limit, batched: the whole batch counts.
	s2 := startServer(t, ServerOptions{}, false)
	cc2, sc2 := dial(t, s2, DialOptions{MaxMessageSize: 2048, Batched: true})
	go sc2.Write(ctx, [][]byte{make([]byte, 1500), make([]byte, 1500)})
	if _, err := cc2.Read(ctx); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("client Read of 3 KB batch = %v, want ErrMessageTooBig", err)
	}
}

func TestPingKeepAlive(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{PingInterval: 100 * time.Millisecond}, false)
	cc, sc := dial(t, s, DialOptions{})
	ctx := ctxT(t)
	// The server's read loop runs (it receives the pongs); the client reads
	// messages (answering pings) while several pings go by.
	go sc.Read(ctx)
	errc := make(chan error, 1)
	go func() {
		for i := range 15 {
			if err := sc.Write(ctx, [][]byte{fmt.Appendf(nil, "[%d]", i)}); err != nil {
				errc <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		errc <- nil
	}()
	for i := range 15 {
		m, err := cc.Read(ctx)
		if err != nil || string(m) != fmt.Sprintf("[%d]", i) {
			t.Fatalf("Read %d = %q, %v", i, m, err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if sc.ka.acked.Load() == 0 {
		t.Error("no pong came back while messages flowed for three ping intervals")
	}
}

// A peer that never reads never answers pings: the server drops it.
func TestPingKeepAliveTimeout(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{PingInterval: 20 * time.Millisecond}, false)
	rawDial(t, s, "wamp.2.json") // never reads
	r := s.accepted(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	_, err := r.c.Read(ctxT(t))
	if err == nil || !strings.Contains(err.Error(), "keep-alive failed") {
		t.Fatalf("Read = %v, want keep-alive failure", err)
	}
}

func TestCloseAndCtx(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{PingInterval: time.Hour}, false)
	cc, sc := dial(t, s, DialOptions{})
	ctx := ctxT(t)
	errc := make(chan error, 1)
	sig := sc.nc.(*signalConn)
	sig.arm()
	go func() {
		_, err := sc.Read(ctx)
		errc <- err
	}()
	sig.waitRead(t) // Read is in (or about to make) its blocking read(2)
	for range 3 {
		if err := sc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if err := <-errc; !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Read during Close = %v, want ErrClosed", err)
	}
	if err := sc.Write(ctx, [][]byte{[]byte("x")}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Write after Close = %v", err)
	}
	if _, err := cc.Read(ctx); err == nil {
		t.Error("peer Read succeeded after close")
	}

	// Cancelling the context of a blocked Read ends it with the context's error.
	_, sc2 := dial(t, s, DialOptions{})
	sig2 := sc2.nc.(*signalConn)
	sig2.arm()
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		_, err := sc2.Read(cctx)
		errc <- err
	}()
	sig2.waitRead(t)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Read with cancelled context = %v, want context.Canceled", err)
	}

	cc3, _ := dial(t, s, DialOptions{})
	short, cancel3 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel3()
	if _, err := cc3.Read(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Read with deadline = %v", err)
	}
}

// signalListener wraps accepted connections in signalConns, which the
// hijacked connection of a plain (non-TLS) server then is.
type signalListener struct{ net.Listener }

func (l signalListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &signalConn{Conn: nc, entered: make(chan struct{}, 1)}, nil
}

// signalConn tells a test when a Read has reached the socket, so the test
// can act on a Read in progress without sleeping.
type signalConn struct {
	net.Conn
	reads   atomic.Int64  // Read calls so far
	target  atomic.Int64  // waitRead returns once reads reach it
	entered chan struct{} // a token after each Read call past arm
	writes  atomic.Int64  // write(2) calls, for the benchmarks
}

// arm makes waitRead wait for the next Read call.
func (c *signalConn) arm() { c.target.Store(c.reads.Load() + 1) }

func (c *signalConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	select {
	case c.entered <- struct{}{}:
	default: // a token is waiting already; waitRead rechecks the count
	}
	return c.Conn.Read(p)
}

func (c *signalConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

func (c *signalConn) waitRead(t testing.TB) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for c.reads.Load() < c.target.Load() {
		select {
		case <-c.entered:
		case <-deadline:
			t.Fatal("Read never reached the connection")
		}
	}
}

func TestCloseWithStatus(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{}, false)
	cc, sc := dial(t, s, DialOptions{})
	ctx := ctxT(t)
	errc := make(chan error, 1)
	go func() {
		_, err := cc.Read(ctx)
		errc <- err
	}()
	if err := sc.CloseWithStatus(StatusGoingAway, "shutdown"); err != nil {
		t.Errorf("CloseWithStatus: %v", err)
	}
	if got := CloseStatus(<-errc); got != StatusGoingAway {
		t.Errorf("peer close status %v", got)
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	if _, err := Dial(ctxT(t), "ws"+strings.TrimPrefix(srv.URL, "http"), DialOptions{}); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Dial to 404 = %v", err)
	}
	// TLS with an untrusted certificate.
	s := startServer(t, ServerOptions{}, true)
	if _, err := Dial(ctxT(t), s.url, DialOptions{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Dial with untrusted cert = %v", err)
	}
}

// A plain HTTP request gets the library's "upgrade required" answer.
func TestPlainHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{}, false)
	resp, err := http.Get(s.URL + "/ws")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusUpgradeRequired {
		t.Errorf("status %d, want 426", resp.StatusCode)
	}
	if r := s.accepted(t); r.err == nil {
		t.Error("Accept succeeded for plain HTTP")
	}
}
