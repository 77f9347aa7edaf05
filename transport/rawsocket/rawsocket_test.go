package rawsocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func TestLengthExponent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		size int
		l    uint8
	}{
		{0, 15}, {-1, 15}, {1, 0}, {511, 0}, {512, 0}, {1023, 0}, {1024, 1},
		{65535, 6}, {65536, 7}, {1 << 23, 14}, {1<<24 - 1, 14}, {1 << 24, 15}, {1 << 30, 15},
	}
	for _, tt := range tests {
		if got := lengthExponent(tt.size); got != tt.l {
			t.Errorf("lengthExponent(%d) = %d, want %d", tt.size, got, tt.l)
		}
	}
	if sendLimit(15) != 1<<24-1 || sendLimit(14) != 1<<23 || sendLimit(0) != 512 {
		t.Errorf("sendLimit: %d %d %d", sendLimit(15), sendLimit(14), sendLimit(0))
	}
}

// TestHandshakeMatrix dials every serializer over TCP, Unix and TLS and
// exchanges messages both ways.
func TestHandshakeMatrix(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"tcp", "unix", "tls"} {
		for _, cd := range codec.All() {
			t.Run(kind+"/"+cd.Name(), func(t *testing.T) {
				t.Parallel()
				l, ch := acceptServer(t, kind, ServerOptions{})
				ctx := ctxT(t)
				cc, err := Dial(ctx, l.network, l.addr, l.dialOpts(DialOptions{Serializer: cd}))
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer cc.Close()
				r := recv(t, ch)
				if r.err != nil {
					t.Fatalf("Accept: %v", r.err)
				}
				sc := r.c
				sc.(transport.Joiner).Joined() // exchange sends 70000 bytes, over the pre-join limit
				for _, c := range []transport.Conn{cc, sc} {
					if c.Codec() != cd {
						t.Errorf("Codec = %s, want %s", c.Codec().Name(), cd.Name())
					}
					if c.MaxSendSize() != 1<<24-1 {
						t.Errorf("MaxSendSize = %d, want 2^24-1", c.MaxSendSize())
					}
					in := c.Info()
					wantNet := map[string]string{"tcp": "tcp", "tls": "tcp", "unix": "unix"}[kind]
					if in.Kind != transport.KindRawSocket || in.Serializer != cd.Name() || in.Network != wantNet || in.Protocol != "" {
						t.Errorf("Info = %+v", in)
					}
					if (in.TLS != nil) != (kind == "tls") {
						t.Errorf("Info.TLS = %v for %s", in.TLS, kind)
					}
					if in.TLS != nil && !in.TLS.HandshakeComplete {
						t.Errorf("TLS handshake not complete in Info")
					}
				}
				if kind == "tcp" && cc.Info().LocalAddr != sc.Info().RemoteAddr {
					t.Errorf("client local %s != server remote %s", cc.Info().LocalAddr, sc.Info().RemoteAddr)
				}
				exchange(t, cc, sc)
				exchange(t, sc, cc)
			})
		}
	}
}

// exchange writes three frames in one Write and reads them back.
func exchange(t *testing.T, from, to transport.Conn) {
	t.Helper()
	ctx := ctxT(t)
	want := [][]byte{[]byte(`[1,"realm"]`), {}, bytes.Repeat([]byte{0xAB}, 70000)}
	errc := make(chan error, 1)
	go func() { errc <- from.Write(ctx, want) }()
	for i, w := range want {
		got, err := to.Read(ctx)
		if err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		if !bytes.Equal(got, w) {
			t.Fatalf("Read %d: got %d bytes, want %d", i, len(got), len(w))
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// rawClient connects with a plain net.Conn, writes hello and returns the
// connection and the server's 4-byte reply (nil if it closed).
func rawClient(t *testing.T, l *listener, hello []byte, closeWrite bool) (net.Conn, []byte) {
	t.Helper()
	nc, err := net.Dial(l.network, l.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write(hello); err != nil {
		t.Fatal(err)
	}
	if closeWrite {
		nc.(*net.TCPConn).CloseWrite()
	}
	reply := make([]byte, 4)
	if _, err := io.ReadFull(nc, reply); err != nil {
		return nc, nil
	}
	return nc, reply
}

func TestAcceptRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    ServerOptions
		hello   []byte
		reply   []byte // nil: connection closed without reply
		wantErr string
	}{
		{"bad magic", ServerOptions{}, []byte("GET "), nil, "bad magic octet 0x47"},
		{"reserved octet 2", ServerOptions{}, []byte{0x7F, 0xF1, 0x01, 0x00}, []byte{0x7F, 0x30, 0, 0}, "reserved handshake octets"},
		{"reserved octet 3", ServerOptions{}, []byte{0x7F, 0xF1, 0x00, 0x80}, []byte{0x7F, 0x30, 0, 0}, "reserved handshake octets"},
		{"serializer 0", ServerOptions{}, []byte{0x7F, 0xF0, 0, 0}, []byte{0x7F, 0x10, 0, 0}, "illegal serializer 0"},
		{"serializer 7", ServerOptions{}, []byte{0x7F, 0xF7, 0, 0}, []byte{0x7F, 0x10, 0, 0}, "unsupported serializer 7"},
		{"ubjson", ServerOptions{}, []byte{0x7F, 0xF4, 0, 0}, []byte{0x7F, 0x10, 0, 0}, "unsupported serializer 4"},
		{"not allowed", ServerOptions{Serializers: []string{"json"}}, []byte{0x7F, 0xF2, 0, 0}, []byte{0x7F, 0x10, 0, 0}, "unsupported serializer 2"},
		{"short hello", ServerOptions{}, []byte{0x7F, 0xF1}, nil, "reading handshake"},
		{"bad config", ServerOptions{Serializers: []string{"xml"}}, []byte{0x7F, 0xF1, 0, 0}, nil, `unknown serializer "xml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, ch := acceptServer(t, "tcp", tt.opts)
			nc, reply := rawClient(t, l, tt.hello, tt.name == "short hello")
			if !bytes.Equal(reply, tt.reply) {
				t.Errorf("reply % X, want % X", reply, tt.reply)
			}
			r := recv(t, ch)
			if r.err == nil || !strings.Contains(r.err.Error(), tt.wantErr) {
				t.Fatalf("Accept error = %v, want containing %q", r.err, tt.wantErr)
			}
			if r.c != nil {
				t.Error("Accept returned a Conn with an error")
			}
			// After a refusal the server closes the connection.
			if _, err := nc.Read(make([]byte, 1)); err == nil {
				t.Error("connection still open after refusal")
			}
		})
	}
}

func TestServerOptionsValidate(t *testing.T) {
	t.Parallel()
	if err := (ServerOptions{Serializers: []string{"json", "cbor"}}).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	if err := (ServerOptions{Serializers: []string{"json", "bert"}}).Validate(); err == nil || !strings.Contains(err.Error(), "bert") {
		t.Errorf("bad serializer: %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code ErrorCode
		text string
	}{
		{"serializer", CodeSerializerUnsupported, "serializer unsupported (error 1)"},
		{"max length", CodeMaxLengthUnacceptable, "maximum message length unacceptable (error 2)"},
		{"reserved bits", CodeReservedBitsUsed, "reserved bits"},
		{"max connections", CodeMaxConnections, "maximum connection count reached (error 4)"},
		{"reserved code", 9, "reserved error code 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			refused := make(chan error, 1)
			l := listen(t, "tcp", func(nc net.Conn) {
				refused <- Refuse(context.Background(), nc, tt.code)
			})
			_, err := Dial(ctxT(t), "tcp", l.addr, DialOptions{})
			var he *HandshakeError
			if !errors.As(err, &he) || he.Code != tt.code {
				t.Fatalf("Dial error = %v, want HandshakeError code %d", err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not say %q", err, tt.text)
			}
			if err := <-refused; err != nil {
				t.Errorf("Refuse: %v", err)
			}
		})
	}
}

func TestDialSerializerNotAllowed(t *testing.T) {
	t.Parallel()
	l, ch := acceptServer(t, "tcp", ServerOptions{Serializers: []string{"json"}})
	_, err := Dial(ctxT(t), "tcp", l.addr, DialOptions{Serializer: codec.CBOR})
	var he *HandshakeError
	if !errors.As(err, &he) || he.Code != CodeSerializerUnsupported {
		t.Fatalf("Dial = %v, want serializer unsupported", err)
	}
	if r := recv(t, ch); r.err == nil || !strings.Contains(r.err.Error(), "unsupported serializer 3") {
		t.Errorf("Accept = %v", r.err)
	}
}

func TestRefuseBadCode(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer b.Close()
	if err := Refuse(context.Background(), a, 0); err == nil {
		t.Error("Refuse with code 0 succeeded")
	}
	if err := Refuse(context.Background(), a, 16); err == nil {
		t.Error("Refuse with code 16 succeeded")
	}
}

// TestClientBadReply checks the client's validation of the router reply.
func TestClientBadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		reply   []byte
		wantErr string
	}{
		{"bad magic", []byte("HTTP"), "bad magic octet 0x48"},
		{"wrong serializer", []byte{0x7F, 0xF2, 0, 0}, "router answered serializer 2, we asked for 1 (json)"},
		{"reserved octets", []byte{0x7F, 0xF1, 0, 1}, "reserved octets set in handshake reply"},
		{"short", []byte{0x7F}, "reading handshake reply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := listen(t, "tcp", func(nc net.Conn) {
				defer nc.Close()
				io.ReadFull(nc, make([]byte, 4))
				nc.Write(tt.reply)
			})
			_, err := Dial(ctxT(t), "tcp", l.addr, DialOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Dial = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDialErrors(t *testing.T) {
	t.Parallel()
	if _, err := Dial(context.Background(), "udp", "127.0.0.1:1", DialOptions{}); err == nil || !strings.Contains(err.Error(), `unsupported network "udp"`) {
		t.Errorf("udp: %v", err)
	}
	// A listener that never answers: the ctx bounds the handshake.
	l := listen(t, "tcp", func(nc net.Conn) {
		defer nc.Close()
		io.Copy(io.Discard, nc)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Dial(ctx, "tcp", l.addr, DialOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent router: %v, want DeadlineExceeded", err)
	}
}

func TestAcceptCtx(t *testing.T) {
	t.Parallel()
	res := make(chan error, 1)
	l := listen(t, "tcp", func(nc net.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := Accept(ctx, nc, ServerOptions{})
		res <- err
	})
	nc, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := <-res; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Accept on silent client = %v, want DeadlineExceeded", err)
	}
}

// pair returns a connected client/server pair over TCP.
func pair(t testing.TB, so ServerOptions, do DialOptions) (client, server *Conn) {
	t.Helper()
	l, ch := acceptServer(t, "tcp", so)
	cc, err := Dial(ctxT(t), "tcp", l.addr, do)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { cc.Close() })
	r := recv(t, ch)
	if r.err != nil {
		t.Fatalf("Accept: %v", r.err)
	}
	return cc.(*Conn), r.c.(*Conn)
}

func TestMaxLengthNegotiation(t *testing.T) {
	t.Parallel()
	cc, sc := pair(t, ServerOptions{MaxMessageSize: 1500}, DialOptions{MaxMessageSize: 512})
	if cc.MaxSendSize() != 1024 || sc.MaxSendSize() != 512 {
		t.Fatalf("MaxSendSize client %d server %d, want 1024 and 512", cc.MaxSendSize(), sc.MaxSendSize())
	}
	if cc.MaxReceiveSize() != 512 || sc.MaxReceiveSize() != 1024 {
		t.Fatalf("MaxReceiveSize client %d server %d", cc.MaxReceiveSize(), sc.MaxReceiveSize())
	}
	ctx := ctxT(t)
	// Over the peer's limit: refused locally, nothing sent, conn usable.
	if err := cc.Write(ctx, [][]byte{[]byte("ok"), make([]byte, 1025)}); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("client Write 1025 = %v, want ErrMessageTooBig", err)
	}
	if err := sc.Write(ctx, [][]byte{make([]byte, 513)}); !errors.Is(err, transport.ErrMessageTooBig) {
		t.Fatalf("server Write 513 = %v, want ErrMessageTooBig", err)
	}
	go cc.Write(ctx, [][]byte{make([]byte, 1024)})
	if b, err := sc.Read(ctx); err != nil || len(b) != 1024 {
		t.Fatalf("server Read = %d bytes, %v; want the 1024-byte frame first", len(b), err)
	}
	go sc.Write(ctx, [][]byte{make([]byte, 512)})
	if b, err := cc.Read(ctx); err != nil || len(b) != 512 {
		t.Fatalf("client Read = %d bytes, %v", len(b), err)
	}
}

// rawPair returns a server Conn (via Accept) and the raw client socket
// after a successful handshake announcing client exponent cl.
func rawPair(t *testing.T, so ServerOptions, cl uint8) (*Conn, net.Conn) {
	t.Helper()
	l, ch := acceptServer(t, "tcp", so)
	nc, reply := rawClient(t, l, []byte{0x7F, cl<<4 | 1, 0, 0}, false)
	if reply == nil || reply[0] != 0x7F || reply[1]&0x0F != 1 {
		t.Fatalf("handshake reply % X", reply)
	}
	r := recv(t, ch)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.c.(*Conn), nc
}

func TestReadViolations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		limit   int
		input   []byte
		wantErr string
		tooBig  bool
	}{
		{"over limit", 1024, frame(0, make([]byte, 1025)), "1025-byte frame over our 1024-byte limit", true},
		{"ping over limit", 1024, frame(1, make([]byte, 2000)), "over our", true},
		{"X bit over limit", 1024, []byte{0x08, 0, 0, 0}, "16777216-byte frame", true},
		{"X bit with length", 0, []byte{0x08, 0, 0, 1}, "bit 25 set with nonzero", false},
		{"reserved type 3", 0, frame(3, []byte("x")), "reserved frame type 3", false},
		{"reserved type 7", 0, frame(7, nil), "reserved frame type 7", false},
		{"reserved bits", 0, frame(0x10, []byte("x")), "reserved bits set in frame header octet 0x10", false},
		{"truncated payload", 0, frame(0, []byte("abc"))[:5], "unexpected EOF", false},
		{"truncated header", 0, []byte{0, 0}, "unexpected EOF", false},
		{"eof", 0, nil, "connection closed by peer", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sc, nc := rawPair(t, ServerOptions{MaxMessageSize: tt.limit}, 15)
			nc.Write(tt.input)
			nc.(*net.TCPConn).CloseWrite()
			_, err := sc.Read(ctxT(t))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Read = %v, want %q", err, tt.wantErr)
			}
			if errors.Is(err, transport.ErrMessageTooBig) != tt.tooBig {
				t.Errorf("errors.Is(ErrMessageTooBig) = %v", !tt.tooBig)
			}
			// Errors are terminal.
			if _, err := sc.Read(ctxT(t)); !errors.Is(err, transport.ErrClosed) {
				t.Errorf("second Read = %v, want ErrClosed", err)
			}
		})
	}
}

// A frame with the X bit carries exactly 2^24 bytes and is accepted at the
// default limit.
func TestReadXBit(t *testing.T) {
	t.Parallel()
	sc, nc := rawPair(t, ServerOptions{}, 15)
	sc.Joined()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<20)
	go func() {
		nc.Write([]byte{0x08, 0, 0, 0})
		nc.Write(payload)
	}()
	got, err := sc.Read(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("got %d bytes, want 2^24 equal bytes", len(got))
	}
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	sc, nc := rawPair(t, ServerOptions{}, 15)
	ctx := ctxT(t)
	// Peer PINGs, then sends a message split into single bytes.
	in := append(frame(1, []byte("are you there")), frame(2, []byte("unsolicited pong"))...)
	in = append(in, frame(0, []byte(`[1,"a"]`))...)
	go func() {
		for i := range in {
			if _, err := nc.Write(in[i : i+1]); err != nil {
				return
			}
		}
	}()
	got, err := sc.Read(ctx)
	if err != nil || string(got) != `[1,"a"]` {
		t.Fatalf("Read = %q, %v", got, err)
	}
	pong := make([]byte, 4+13)
	if _, err := io.ReadFull(nc, pong); err != nil {
		t.Fatal(err)
	}
	if want := frame(2, []byte("are you there")); !bytes.Equal(pong, want) {
		t.Fatalf("PONG % X, want % X", pong, want)
	}

	// Our Ping: the peer answers, our Read (running) matches the PONG.
	readErr := make(chan error, 1)
	go func() {
		_, err := sc.Read(ctx)
		readErr <- err
	}()
	go func() {
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(nc, hdr); err != nil {
			return
		}
		p := make([]byte, int(hdr[3]))
		io.ReadFull(nc, p)
		if hdr[0] == 1 {
			nc.Write(frame(2, p))
		}
	}()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sc.Ping(pctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	sc.Close()
	if err := <-readErr; !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Read after Close = %v, want ErrClosed", err)
	}
	if err := sc.Ping(ctx); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}

func TestPingBetweenOurConns(t *testing.T) {
	t.Parallel()
	cc, sc := pair(t, ServerOptions{}, DialOptions{Serializer: codec.MsgPack})
	ctx := ctxT(t)
	var wg sync.WaitGroup
	wg.Go(func() { sc.Read(ctx) }) // answers PINGs until closed
	wg.Go(func() { cc.Read(ctx) }) // receives PONGs
	for range 3 {
		if err := cc.Ping(ctx); err != nil {
			t.Fatalf("client Ping: %v", err)
		}
		if err := sc.Ping(ctx); err != nil {
			t.Fatalf("server Ping: %v", err)
		}
	}
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	<-short.Done()
	if err := cc.Ping(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping with expired ctx = %v", err)
	}
	cc.Close()
	sc.Close()
	wg.Wait()
}

func TestLargeMessage(t *testing.T) {
	t.Parallel()
	cc, sc := pair(t, ServerOptions{}, DialOptions{Serializer: codec.CBOR})
	sc.Joined()
	ctx := ctxT(t)
	big := make([]byte, cc.MaxSendSize())
	for i := range big {
		big[i] = byte(i * 7)
	}
	go cc.Write(ctx, [][]byte{big, []byte("after")})
	got, err := sc.Read(ctx)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Read big: %d bytes, %v", len(got), err)
	}
	if got, err := sc.Read(ctx); err != nil || string(got) != "after" {
		t.Fatalf("Read after big: %q, %v", got, err)
	}
}

func TestConcurrentReadWrite(t *testing.T) {
	t.Parallel()
	cc, sc := pair(t, ServerOptions{}, DialOptions{})
	ctx := ctxT(t)
	const n = 2000
	var writers, readers, gotAll sync.WaitGroup
	for _, p := range [][2]*Conn{{cc, sc}, {sc, cc}} {
		from, to := p[0], p[1]
		writers.Go(func() {
			for i := 0; i < n; i += 4 {
				var batch [][]byte
				for j := i; j < i+4; j++ {
					batch = append(batch, fmt.Appendf(nil, "msg %d", j))
				}
				if err := from.Write(ctx, batch); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
		gotAll.Add(1)
		readers.Go(func() {
			signalled := false
			defer func() {
				if !signalled {
					gotAll.Done()
				}
			}()
			for i := 0; ; i++ {
				if i == n {
					signalled = true
					gotAll.Done()
				}
				b, err := to.Read(ctx)
				if err != nil {
					if i < n {
						t.Errorf("Read %d: %v", i, err)
					}
					return // keeps reading (answering PINGs) until closed
				}
				if want := fmt.Sprintf("msg %d", i); string(b) != want {
					t.Errorf("Read %q, want %q", b, want)
					return
				}
			}
		})
	}
	// Pings interleave with the writes on the same socket.
	for _, c := range []*Conn{cc, sc} {
		writers.Go(func() {
			for range 20 {
				pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				err := c.Ping(pctx)
				cancel()
				if err != nil {
					t.Errorf("Ping: %v", err)
					return
				}
			}
		})
	}
	writers.Wait()
	gotAll.Wait()
	cc.Close()
	sc.Close()
	readers.Wait()
}

func TestCloseAndCtx(t *testing.T) {
	t.Parallel()
	cc, sc := pair(t, ServerOptions{}, DialOptions{})
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := sc.Read(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with deadline = %v, want DeadlineExceeded", err)
	}
	if _, err := sc.Read(context.Background()); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Read after ctx failure = %v, want ErrClosed (terminal)", err)
	}
	if err := sc.Write(context.Background(), [][]byte{[]byte("x")}); !errors.Is(err, transport.ErrClosed) {
		t.Errorf("Write after close = %v, want ErrClosed", err)
	}
	// The peer sees EOF.
	if _, err := cc.Read(ctxT(t)); err == nil || !errors.Is(err, io.EOF) {
		t.Errorf("peer Read = %v, want EOF", err)
	}
	for range 3 {
		if err := cc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}

}

// blockedReadPair returns a client and a server Conn whose reader reports
// on the returned channel when a Read is blocked in the socket, waiting for
// a frame: cancellation tests then act on a Read that really waits.
func blockedReadPair(t *testing.T) (client transport.Conn, server *Conn, blocked <-chan struct{}) {
	t.Helper()
	waiting := make(chan struct{}, 1)
	res := make(chan acceptResult, 1)
	l := listen(t, "tcp", func(nc net.Conn) {
		c, err := Accept(ctxT(t), &watchConn{Conn: nc, after: 4, waiting: waiting}, ServerOptions{})
		res <- acceptResult{c, err}
	})
	cc, err := Dial(ctxT(t), "tcp", l.addr, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	r := recv(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return cc, r.c.(*Conn), waiting
}

// Cancelling the ctx, or closing, unblocks a Read blocked in the socket.
func TestBlockedReadUnblocks(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			_, sc, blocked := blockedReadPair(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			errc := make(chan error, 1)
			go func() {
				_, err := sc.Read(ctx)
				errc <- err
			}()
			select {
			case <-blocked:
			case <-time.After(10 * time.Second):
				t.Fatal("Read never reached the socket")
			}
			want := context.Canceled
			if how == "cancel" {
				cancel()
			} else {
				sc.Close()
				want = transport.ErrClosed
			}
			select {
			case err := <-errc:
				if !errors.Is(err, want) {
					t.Fatalf("Read after %s = %v, want %v", how, err, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s did not unblock a blocked Read", how)
			}
		})
	}
}

// A successful Read with a cancellable ctx leaves no deadline behind.
func TestCtxNoLeftoverDeadline(t *testing.T) {
	t.Parallel()
	cc, sc := pair(t, ServerOptions{}, DialOptions{})
	var last context.Context
	for i := range 2 {
		// The message is in the socket buffer before Read starts.
		if err := cc.Write(context.Background(), [][]byte{[]byte("x")}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := sc.Read(ctx); err != nil {
			t.Fatalf("Read %d: %v", i, err)
		}
		last = ctx
	}
	<-last.Done() // both old deadlines have passed
	if !errors.Is(last.Err(), context.DeadlineExceeded) {
		t.Fatalf("ctx ended with %v, want its deadline", last.Err())
	}
	go cc.Write(context.Background(), [][]byte{[]byte("y")})
	if b, err := sc.Read(context.Background()); err != nil || string(b) != "y" {
		t.Fatalf("Read after expired ctxs = %q, %v", b, err)
	}
}

type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

// Info.TLS is found through a wrapper exposing NetConn.
func TestInfoTLSThroughWrapper(t *testing.T) {
	t.Parallel()
	res := make(chan acceptResult, 1)
	l := listen(t, "tls", func(nc net.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := nc.(*tls.Conn).HandshakeContext(ctx); err != nil {
			res <- acceptResult{nil, err}
			return
		}
		c, err := Accept(ctx, wrapped{nc}, ServerOptions{})
		res <- acceptResult{c, err}
	})
	cc, err := Dial(ctxT(t), "tcp", l.addr, l.dialOpts(DialOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	r := recv(t, res)
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.c.Close()
	if r.c.Info().TLS == nil {
		t.Error("Info.TLS nil through a NetConn wrapper")
	}
}
