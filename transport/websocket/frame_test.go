package websocket

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
)

// rawPeer is a hand-written WebSocket client that sends frames as bytes,
// including what a WebSocket library would refuse to send.
type rawPeer struct {
	t  testing.TB
	nc net.Conn
	br *bufio.Reader
}

// rawConnect upgrades a plain TCP connection to s with subprotocol proto
// and returns the peer and the server's Conn.
func rawConnect(t testing.TB, s *server, proto string) (*rawPeer, *Conn) {
	t.Helper()
	p := rawUpgrade(t, s.Server, proto)
	r := s.accepted(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return p, r.c.(*Conn)
}

// rawUpgrade sends the opening handshake on a new TCP connection to s and
// checks the answer.
func rawUpgrade(t testing.TB, s *httptest.Server, proto string) *rawPeer {
	t.Helper()
	nc, err := net.Dial("tcp", s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(nc, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		s.Listener.Addr(), proto)
	p := &rawPeer{t: t, nc: nc, br: bufio.NewReader(nc)}
	resp, err := http.ReadResponse(p.br, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The accept value is the one RFC 6455 section 1.3 gives for this key.
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" ||
		resp.Header.Get("Sec-WebSocket-Protocol") != proto {
		t.Fatalf("handshake response %d %v", resp.StatusCode, resp.Header)
	}
	return p
}

// mkFrame encodes one frame; b0 is FIN|RSV|opcode. Masked frames use a
// fixed key.
func mkFrame(b0 byte, masked bool, payload []byte) []byte {
	var b []byte
	m := byte(0)
	if masked {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b = append(b, b0, m|byte(n))
	case n < 1<<16:
		b = append(b, b0, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if !masked {
		return append(b, payload...)
	}
	key := [4]byte{0x37, 0xFA, 0x21, 0x3D}
	b = append(b, key[:]...)
	for i, c := range payload {
		b = append(b, c^key[i%4])
	}
	return b
}

func closeFrame(code uint16, reason string) []byte {
	return mkFrame(0x88, true, append(binary.BigEndian.AppendUint16(nil, code), reason...))
}

func (p *rawPeer) send(frames ...[]byte) {
	p.t.Helper()
	if _, err := p.nc.Write(bytes.Join(frames, nil)); err != nil {
		p.t.Fatalf("peer write: %v", err)
	}
}

// read reads one frame from the server, which must be final and unmasked.
func (p *rawPeer) read() (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err := io.ReadFull(p.br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0xF0 != 0x80 || h[1]&0x80 != 0 {
		return 0, nil, fmt.Errorf("server frame header % X: want FIN, no RSV, unmasked", h)
	}
	n := int(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		_, err = io.ReadFull(p.br, e[:])
		n = int(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		_, err = io.ReadFull(p.br, e[:])
		n = int(binary.BigEndian.Uint64(e[:]))
	}
	if err != nil {
		return 0, nil, err
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(p.br, payload)
	return h[0] & 0x0F, payload, err
}

// expectClose reads until the server's close frame and checks its code,
// then expects the server to end the TCP connection.
func (p *rawPeer) expectClose(want StatusCode) {
	p.t.Helper()
	for {
		op, payload, err := p.read()
		if err != nil {
			p.t.Fatalf("peer read before close frame: %v", err)
		}
		if op != opClose {
			continue
		}
		if len(payload) < 2 || StatusCode(binary.BigEndian.Uint16(payload)) != want {
			p.t.Fatalf("close frame % X, want code %d", payload, want)
		}
		break
	}
	if _, _, err := p.read(); err != io.EOF {
		p.t.Fatalf("after the close frame: %v, want EOF", err)
	}
}

// readAsync runs sc.Read in a goroutine.
func readAsync(t testing.TB, sc *Conn) <-chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		m, err := sc.Read(ctxT(t))
		ch <- readResult{m, err}
	}()
	return ch
}

type readResult struct {
	msg []byte
	err error
}

func TestFragmentedWithControlFrames(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{MaxMessageSize: 1 << 20}, false)
	p, sc := rawConnect(t, s, "wamp.2.json")
	big := strings.Repeat("x", 70000) // 64-bit length encoding, over the pre-join limit
	sc.Joined()
	res := readAsync(t, sc)
	p.send(
		mkFrame(0x01, true, []byte("[\"caf\xC3")), // a rune split across fragments is fine
		mkFrame(0x89, true, []byte("p1")),         // ping in the middle
		mkFrame(0x00, true, []byte("\xA9\",\"")),
		mkFrame(0x8A, true, []byte("unsolicited")), // pong in the middle
		mkFrame(0x00, true, []byte(big)),
		mkFrame(0x80, true, []byte(`"]`)),
	)
	op, payload, err := p.read()
	if err != nil || op != opPong || string(payload) != "p1" {
		t.Fatalf("peer got %X %q %v, want pong p1", op, payload, err)
	}
	r := <-res
	if want := `["café","` + big + `"]`; r.err != nil || string(r.msg) != want {
		t.Fatalf("Read = %d bytes %v, want %d bytes", len(r.msg), r.err, len(want))
	}

	// Binary fragments, batched: the batch is split after assembly.
	p2, sc2 := rawConnect(t, s, "wamp.2.msgpack.batched")
	p2.send(mkFrame(0x02, true, []byte{0, 0, 0, 2, 0x91}), mkFrame(0x80, true, []byte{0x01, 0, 0, 0, 1, 0xC0}))
	for _, want := range [][]byte{{0x91, 0x01}, {0xC0}} {
		if m, err := sc2.Read(ctxT(t)); err != nil || !bytes.Equal(m, want) {
			t.Fatalf("Read = % X %v, want % X", m, err, want)
		}
	}
}

func TestProtocolViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		proto   string
		in      []byte
		code    StatusCode
		wantErr string
	}{
		{"unmasked", "wamp.2.json", mkFrame(0x81, false, []byte("[1]")), StatusProtocolError, "unmasked frame"},
		{"reserved bits", "wamp.2.json", mkFrame(0xC1, true, []byte("[1]")), StatusProtocolError, "reserved bits"},
		{"reserved data opcode", "wamp.2.json", mkFrame(0x83, true, nil), StatusProtocolError, "reserved data opcode 0x3"},
		{"reserved control opcode", "wamp.2.json", mkFrame(0x8B, true, nil), StatusProtocolError, "reserved control opcode 0xB"},
		{"lone continuation", "wamp.2.json", mkFrame(0x80, true, []byte("[1]")), StatusProtocolError, "continuation frame without"},
		{"new message while fragmented", "wamp.2.json", append(mkFrame(0x01, true, []byte("[1")), mkFrame(0x81, true, []byte("]"))...),
			StatusProtocolError, "new data frame inside"},
		{"fragmented ping", "wamp.2.json", mkFrame(0x09, true, nil), StatusProtocolError, "control frame 0x9 fragmented"},
		{"long ping", "wamp.2.json", mkFrame(0x89, true, make([]byte, 126)), StatusProtocolError, "126-byte payload"},
		{"1-byte close", "wamp.2.json", mkFrame(0x88, true, []byte{3}), StatusProtocolError, "1-byte close"},
		{"close code 1005", "wamp.2.json", closeFrame(1005, ""), StatusProtocolError, "invalid close code 1005"},
		{"close reason not UTF-8", "wamp.2.json", closeFrame(1000, "\xFF"), StatusInvalidFramePayloadData, "not valid UTF-8"},
		{"text not UTF-8", "wamp.2.json", mkFrame(0x81, true, []byte("[\"\xC3\"]")), StatusInvalidFramePayloadData, "text message is not valid UTF-8"},
		{"binary on json", "wamp.2.json", mkFrame(0x82, true, []byte("[1]")), StatusUnsupportedData, "got a MessageBinary message"},
		{"huge length", "wamp.2.json", []byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}, StatusProtocolError, "most significant bit"},
		// Only a header announcing 1 GiB: refused at once, nothing reserved.
		{"header of a huge frame", "wamp.2.json", []byte{0x81, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4}, StatusMessageTooBig, "at least 1073741824 bytes over the 65536-byte limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, ServerOptions{}, false)
			p, sc := rawConnect(t, s, tt.proto)
			res := readAsync(t, sc)
			p.send(tt.in)
			p.expectClose(tt.code)
			r := <-res
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Fatalf("Read = %v, want %q", r.err, tt.wantErr)
			}
			if _, err := sc.Read(ctxT(t)); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("Read after failure = %v, want ErrClosed", err)
			}
		})
	}
}

func TestPreJoinLimit(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{MaxMessageSize: 200 << 10}, false)
	over := []byte(`"` + strings.Repeat("y", 64<<10) + `"`) // 64 KiB + 2

	// Before Joined: the default pre-join limit applies.
	p, sc := rawConnect(t, s, "wamp.2.json")
	if sc.MaxReceiveSize() != transport.DefaultPreJoinMaxMessageSize {
		t.Errorf("MaxReceiveSize before join = %d", sc.MaxReceiveSize())
	}
	res := readAsync(t, sc)
	p.send(mkFrame(0x81, true, over))
	p.expectClose(StatusMessageTooBig)
	if r := <-res; !errors.Is(r.err, transport.ErrMessageTooBig) {
		t.Fatalf("Read before join = %v, want ErrMessageTooBig", r.err)
	}

	// After Joined: up to MaxMessageSize, counted over all fragments.
	p2, sc2 := rawConnect(t, s, "wamp.2.json")
	sc2.Joined()
	if sc2.MaxReceiveSize() != 200<<10 {
		t.Errorf("MaxReceiveSize after join = %d", sc2.MaxReceiveSize())
	}
	p2.send(mkFrame(0x81, true, over))
	if m, err := sc2.Read(ctxT(t)); err != nil || len(m) != len(over) {
		t.Fatalf("Read after join = %d bytes, %v", len(m), err)
	}
	res = readAsync(t, sc2)
	p2.send(mkFrame(0x01, true, over), mkFrame(0x00, true, over), mkFrame(0x00, true, over), mkFrame(0x80, true, over))
	p2.expectClose(StatusMessageTooBig)
	if r := <-res; !errors.Is(r.err, transport.ErrMessageTooBig) {
		t.Fatalf("Read of 4 × 64 KiB fragments = %v, want ErrMessageTooBig", r.err)
	}

	// A configured pre-join limit, and a MaxMessageSize below the default one.
	s3 := startServer(t, ServerOptions{PreJoinMaxMessageSize: 100}, false)
	_, sc3 := rawConnect(t, s3, "wamp.2.json")
	s4 := startServer(t, ServerOptions{MaxMessageSize: 1000}, false)
	_, sc4 := rawConnect(t, s4, "wamp.2.json")
	if sc3.MaxReceiveSize() != 100 || sc4.MaxReceiveSize() != 1000 {
		t.Errorf("MaxReceiveSize = %d, %d; want 100, 1000", sc3.MaxReceiveSize(), sc4.MaxReceiveSize())
	}
	sc3.Joined()
	if sc3.MaxReceiveSize() != DefaultMaxMessageSize {
		t.Errorf("MaxReceiveSize after join = %d", sc3.MaxReceiveSize())
	}
}

func TestPeerCloseAndPing(t *testing.T) {
	t.Parallel()
	s := startServer(t, ServerOptions{}, false)
	p, sc := rawConnect(t, s, "wamp.2.json")
	p.send(mkFrame(0x89, true, []byte("hello")), mkFrame(0x81, true, []byte("[1]")))
	if m, err := sc.Read(ctxT(t)); err != nil || string(m) != "[1]" {
		t.Fatalf("Read = %q %v", m, err)
	}
	if op, payload, err := p.read(); err != nil || op != opPong || string(payload) != "hello" {
		t.Fatalf("peer got %X %q %v, want pong hello", op, payload, err)
	}
	res := readAsync(t, sc)
	p.send(closeFrame(4000, "bye"))
	p.expectClose(4000) // the server echoes the code, then closes
	r := <-res
	var ce *CloseError
	if !errors.As(r.err, &ce) || ce.Code != 4000 || ce.Reason != "bye" {
		t.Fatalf("Read = %v, want the peer's close 4000 bye", r.err)
	}

	// A close frame without a code is answered with 1000.
	p2, sc2 := rawConnect(t, s, "wamp.2.json")
	res = readAsync(t, sc2)
	p2.send(mkFrame(0x88, true, nil))
	p2.expectClose(StatusNormalClosure)
	if r := <-res; CloseStatus(r.err) != StatusNoStatusRcvd {
		t.Fatalf("Read = %v, want close without status", r.err)
	}
}

// The client side refuses masked frames from a server.
func TestClientRefusesMaskedFrames(t *testing.T) {
	t.Parallel()
	srv := startHijackServer(t, func(nc net.Conn, key string) {
		fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n", acceptKey(key))
		nc.Write(mkFrame(0x81, true, []byte("[1]")))
		// The client answers with a masked close frame 1002.
		var b [8]byte
		io.ReadFull(nc, b[:])
		if b[0] != 0x88 || b[1]&0x80 == 0 {
			t.Errorf("client close frame header % X", b[:2])
		}
		code := binary.BigEndian.Uint16([]byte{b[6] ^ b[2], b[7] ^ b[3]})
		if code != uint16(StatusProtocolError) {
			t.Errorf("client close code %d, want 1002", code)
		}
	})
	c, err := Dial(ctxT(t), srv, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Read(ctxT(t))
	c.Close()
	if err == nil || !strings.Contains(err.Error(), "server sent a masked frame") {
		t.Fatalf("Read = %v", err)
	}
}

// startHijackServer serves one hand-written handshake per connection.
func startHijackServer(t *testing.T, serve func(nc net.Conn, key string)) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		nc, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer nc.Close()
		serve(nc, r.Header.Get("Sec-WebSocket-Key"))
	}))
	t.Cleanup(s.Close)
	return "ws" + strings.TrimPrefix(s.URL, "http")
}

// Connections that announce a 16 MiB frame and send 100 bytes of it make
// the server hold about what arrived, not what was announced (issue 17:
// 300 such RawSocket connections once took 6.5 GiB).
func TestHugeFrameHeadersReserveNothing(t *testing.T) {
	const n = 50
	s := startServer(t, ServerOptions{}, false) // 16 MiB limit after Joined
	header := []byte{0x82, 0x7F, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xF0, 1, 2, 3, 4}
	before := memInUse()
	for range n {
		p, sc := rawConnect(t, s, "wamp.2.cbor")
		sc.Joined()
		sig := sc.nc.(*signalConn)
		sig.arm()
		go sc.Read(context.Background()) // ends when the cleanup closes sc
		sig.waitRead(t)
		sig.arm()
		p.send(header, make([]byte, 100))
		sig.waitRead(t) // a second Read: the header has been taken in
	}
	perConn := (memInUse() - before) / n
	t.Logf("%d bytes in use per connection", perConn)
	if perConn > 64<<10 {
		t.Fatalf("%d bytes per connection holding a 16 MiB frame header", perConn)
	}
}
