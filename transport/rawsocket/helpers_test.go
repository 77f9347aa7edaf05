package rawsocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/internal/testcert"
	"github.com/tollgate-wamp/tollgate/transport"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// listener is a test server running fn on each accepted connection.
type listener struct {
	network, addr string
	ln            net.Listener
	wg            sync.WaitGroup
	clientTLS     *tls.Config // trusts the server's certificate ("tls" only)
}

// listen starts a listener on "tcp" (127.0.0.1:0), "unix" (a socket in a
// temp dir) or "tls" (TCP + TLS) and runs fn for each connection.
func listen(t testing.TB, kind string, fn func(net.Conn)) *listener {
	t.Helper()
	l := &listener{network: "tcp"}
	var err error
	switch kind {
	case "tcp", "tls":
		l.ln, err = net.Listen("tcp", "127.0.0.1:0")
	case "unix":
		dir, derr := os.MkdirTemp("", "rs")
		if derr != nil {
			t.Fatal(derr)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		l.network = "unix"
		l.ln, err = net.Listen("unix", filepath.Join(dir, "s"))
	default:
		t.Fatalf("unknown listener kind %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	if kind == "tls" {
		p := testcert.New(t)
		l.ln = tls.NewListener(l.ln, p.Server)
		// No ServerName: Dial derives it from the address.
		l.clientTLS = p.Client.Clone()
		l.clientTLS.ServerName = ""
	}
	l.addr = l.ln.Addr().String()
	l.wg.Go(func() {
		for {
			c, err := l.ln.Accept()
			if err != nil {
				return
			}
			l.wg.Go(func() { fn(c) })
		}
	})
	t.Cleanup(func() {
		l.ln.Close()
		l.wg.Wait()
	})
	return l
}

type acceptResult struct {
	c   transport.Conn
	err error
}

// acceptServer runs Accept with o on each connection and delivers the
// result on the returned channel; accepted conns are closed at cleanup.
func acceptServer(t testing.TB, kind string, o ServerOptions) (*listener, <-chan acceptResult) {
	t.Helper()
	ch := make(chan acceptResult, 16)
	var (
		mu    sync.Mutex
		conns []transport.Conn
	)
	l := listen(t, kind, func(nc net.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Accept(ctx, nc, o)
		if c != nil {
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
		ch <- acceptResult{c, err}
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l, ch
}

// dialOpts returns o with the client TLS config of a "tls" listener.
func (l *listener) dialOpts(o DialOptions) DialOptions {
	if l.clientTLS != nil {
		o.TLSConfig = l.clientTLS
	}
	return o
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func recv(t testing.TB, ch <-chan acceptResult) acceptResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no Accept result")
		return acceptResult{}
	}
}

// memConn is an in-memory net.Conn reading from r and recording writes;
// deadlines are ignored. It feeds fuzz inputs without goroutines.
type memConn struct {
	r   io.Reader
	out bytes.Buffer
}

func (m *memConn) Read(p []byte) (int, error)         { return m.r.Read(p) }
func (m *memConn) Write(p []byte) (int, error)        { return m.out.Write(p) }
func (m *memConn) Close() error                       { return nil }
func (m *memConn) LocalAddr() net.Addr                { return &net.UnixAddr{Name: "mem", Net: "unix"} }
func (m *memConn) RemoteAddr() net.Addr               { return &net.UnixAddr{Name: "mem", Net: "unix"} }
func (m *memConn) SetDeadline(t time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(t time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(t time.Time) error { return nil }

// splitReader returns data as two reads split in the middle, to exercise
// partial reads.
func splitReader(data []byte) io.Reader {
	h := len(data) / 2
	return io.MultiReader(bytes.NewReader(data[:h]), bytes.NewReader(data[h:]))
}

// frame builds a raw frame header + payload.
func frame(typ byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, payload...)
}
