package rawsocket

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
)

// watchConn is a server-side net.Conn that reports, once, when its reader
// asks for more bytes after at least `after` bytes have arrived: the
// server has then taken whatever it allocates for those bytes and is
// blocked waiting for the rest. With after2 > after it reports again once
// after2 bytes have arrived.
type watchConn struct {
	net.Conn
	after, after2 int
	got           int // owned by the one reading goroutine
	once, once2   sync.Once
	waiting       chan<- struct{}
}

func (w *watchConn) Read(p []byte) (int, error) {
	if w.got >= w.after {
		w.once.Do(func() { w.waiting <- struct{}{} })
	}
	if w.after2 > w.after && w.got >= w.after2 {
		w.once2.Do(func() { w.waiting <- struct{}{} })
	}
	n, err := w.Conn.Read(p)
	w.got += n
	return n, err
}

// heapCase is one memory measurement: n connections that each send
// clientSends after the handshake, served by serve on the server side,
// which is blocked (has reported through its watchConn) or done when the
// measurement is taken.
type heapCase struct {
	n           int
	clientSends []byte
	after       int    // bytes a server reads before it blocks (handshake included)
	then        []byte // sent by each client once every server blocked (optional)
	serve       func(wc *watchConn) error
	wantServe   func(err error) bool // nil: servers stay blocked; else: servers end with such an error
}

// liveHeap is the heap in use after full collections (two: the first
// only moves sync.Pool contents to its victim cache).
func liveHeap() (alloc, inuse uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.HeapInuse
}

// rss is the process's resident set in bytes (Linux; 0 elsewhere).
func rss() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res float64
	fmt.Sscan(string(b), &size, &res)
	return res * float64(os.Getpagesize())
}

// heapPerConn runs hc and returns the live-heap growth per connection
// (HeapAlloc, HeapInuse), connections of both ends included, and logs the
// RSS growth too. Everything is closed before it returns.
func heapPerConn(tb testing.TB, hc heapCase) (alloc, inuse float64) {
	tb.Helper()
	waiting := make(chan struct{}, hc.n)
	served := make(chan error, hc.n)
	l := listen(tb, "tcp", func(nc net.Conn) {
		served <- hc.serve(&watchConn{Conn: nc, after: hc.after, after2: hc.after + len(hc.then), waiting: waiting})
	})
	a0, i0 := liveHeap()
	r0 := rss()
	clients := make([]net.Conn, 0, hc.n)
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for range hc.n {
		nc, err := net.Dial("tcp", l.addr)
		if err != nil {
			tb.Fatal(err)
		}
		clients = append(clients, nc)
		nc.SetDeadline(time.Now().Add(20 * time.Second))
		if _, err := nc.Write([]byte{Magic, 0xF1, 0, 0}); err != nil {
			tb.Fatal(err)
		}
		reply := make([]byte, 4)
		if _, err := io.ReadFull(nc, reply); err != nil || reply[1] != 0xF1 {
			tb.Fatalf("handshake reply % X, %v (want the full 16 MiB announced)", reply, err)
		}
		if _, err := nc.Write(hc.clientSends); err != nil {
			tb.Fatal(err)
		}
	}
	awaitServers(tb, hc, waiting, served)
	if hc.then != nil {
		for _, nc := range clients {
			if _, err := nc.Write(hc.then); err != nil {
				tb.Fatal(err)
			}
		}
		awaitServers(tb, hc, waiting, served)
	}
	a1, i1 := liveHeap()
	n := float64(hc.n)
	if testing.Verbose() {
		tb.Logf("%d connections: RSS %.0f -> %.0f KiB (%.0f B/conn)", hc.n, r0/1024, rss()/1024, (rss()-r0)/n)
	}
	return (float64(a1) - float64(a0)) / n, (float64(i1) - float64(i0)) / n
}

// awaitServers waits until each of hc.n servers reported on waiting (or,
// with hc.wantServe, ended as expected).
func awaitServers(tb testing.TB, hc heapCase, waiting <-chan struct{}, served <-chan error) {
	tb.Helper()
	deadline := time.After(20 * time.Second)
	for i := 0; i < hc.n; {
		select {
		case <-waiting:
			if hc.wantServe == nil {
				i++
			} // else: a server reading past where it should have refused
		case err := <-served:
			i++
			if hc.wantServe == nil || !hc.wantServe(err) {
				tb.Fatalf("server %d ended with %v", i, err)
			}
		case <-deadline:
			tb.Fatalf("%d of %d servers not blocked/done after 20 s", i, hc.n)
		}
	}
}

// acceptThen serves a connection with Accept, then fn on the Conn; the
// Conn is closed when fn returns.
func acceptThen(fn func(*Conn) error) func(*watchConn) error {
	return func(wc *watchConn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := Accept(ctx, wc, ServerOptions{})
		if err != nil {
			return err
		}
		defer c.Close()
		return fn(c.(*Conn))
	}
}

func readOnce(c *Conn) error {
	_, err := c.Read(context.Background())
	return err
}

// announce16MiB is a frame header for a 2^24-1 byte message.
var announce16MiB = []byte{0, 0xFF, 0xFF, 0xFF}

// Issue 17 #2: 8 bytes must not reserve 16 MiB. Not parallel: it measures
// the process heap.
func TestAnnouncedFrameHeap(t *testing.T) {
	const conns = 200
	t.Run("pre-join", func(t *testing.T) {
		alloc, inuse := heapPerConn(t, heapCase{
			n: conns, clientSends: announce16MiB, after: 8,
			serve: acceptThen(readOnce),
			wantServe: func(err error) bool {
				return errors.Is(err, transport.ErrMessageTooBig)
			},
		})
		t.Logf("pre-join, refused: heap %.0f B/conn (HeapInuse %.0f)", alloc, inuse)
		if alloc > 64<<10 {
			t.Fatalf("heap grew %.0f bytes per connection announcing 16 MiB before join", alloc)
		}
	})
	t.Run("joined", func(t *testing.T) {
		alloc, inuse := heapPerConn(t, heapCase{
			n: conns, clientSends: announce16MiB, after: 8,
			serve: acceptThen(func(c *Conn) error { c.Joined(); return readOnce(c) }),
		})
		t.Logf("joined, waiting for 16 MiB: heap %.0f B/conn (HeapInuse %.0f)", alloc, inuse)
		if alloc > 64<<10 {
			t.Fatalf("heap grew %.0f bytes per connection waiting for an announced 16 MiB payload", alloc)
		}
	})
}

// Issue 12 #3: an idle connection holds no big buffer: none when fresh or
// when its last read was small, one pooled 16 KiB read buffer at most when
// it went quiet right after a big read.
func TestIdleConnHeap(t *testing.T) {
	big := frame(0, make([]byte, 40<<10))
	small := frame(0, []byte(`[1,"small"]`))
	for _, hc := range []struct {
		name  string
		hc    heapCase
		bound float64
	}{
		{"fresh", heapCase{n: 200, after: 4, serve: acceptThen(readOnce)}, 4 << 10},
		{"after-40KiB-then-small", heapCase{n: 200, clientSends: big, after: 4 + len(big), then: small,
			serve: acceptThen(readThrice)}, 4 << 10},
		{"right-after-40KiB", heapCase{n: 200, clientSends: big, after: 4 + len(big), serve: acceptThen(readTwice)}, 4<<10 + pooledReadSize},
	} {
		alloc, inuse := heapPerConn(t, hc.hc)
		t.Logf("idle %s: heap %.0f B/conn (HeapInuse %.0f), both ends", hc.name, alloc, inuse)
		if alloc > hc.bound {
			t.Fatalf("an idle connection (%s) holds %.0f heap bytes, want <= %.0f", hc.name, alloc, hc.bound)
		}
	}
}

// readThrice joins, reads two messages and blocks reading the next.
func readThrice(c *Conn) error {
	if err := readTwice(c); err != nil {
		return err
	}
	return readOnce(c)
}

// readTwice joins, reads a message and blocks reading the next.
func readTwice(c *Conn) error {
	c.Joined()
	if err := readOnce(c); err != nil {
		return err
	}
	return readOnce(c)
}

// TestPreJoinLimit: before Joined, frames over the pre-join limit are
// refused and close the connection, while the handshake announced the full
// limit; after Joined the full limit applies.
func TestPreJoinLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		opts      ServerOptions
		announced byte // L nibble of the reply
		preJoin   int  // largest frame accepted before Joined
		full      int
	}{
		{"default", ServerOptions{}, 15, transport.DefaultPreJoinMaxMessageSize, 1 << 24},
		{"configured", ServerOptions{PreJoinMaxMessageSize: 1000}, 15, 1000, 1 << 24},
		{"over max", ServerOptions{MaxMessageSize: 4096, PreJoinMaxMessageSize: 1 << 20}, 3, 4096, 4096},
		{"disabled", ServerOptions{MaxMessageSize: 1 << 17, PreJoinMaxMessageSize: -1}, 8, 1 << 17, 1 << 17},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, ch := acceptServer(t, "tcp", tt.opts)
			nc, reply := rawClient(t, l, []byte{Magic, 0xF1, 0, 0}, false)
			if reply == nil || reply[1]>>4 != tt.announced {
				t.Fatalf("handshake reply % X, want L=%d", reply, tt.announced)
			}
			r := recv(t, ch)
			if r.err != nil {
				t.Fatal(r.err)
			}
			sc := r.c.(*Conn)
			if sc.MaxReceiveSize() != tt.full {
				t.Fatalf("MaxReceiveSize %d, want %d", sc.MaxReceiveSize(), tt.full)
			}
			ctx := ctxT(t)
			go nc.Write(frame(0, make([]byte, tt.preJoin)))
			if b, err := sc.Read(ctx); err != nil || len(b) != tt.preJoin {
				t.Fatalf("pre-join frame at the limit: %d bytes, %v", len(b), err)
			}
			sc.Joined()
			sc.Joined() // idempotent
			if tt.full > tt.preJoin {
				go nc.Write(frame(0, make([]byte, tt.full-1)))
				if b, err := sc.Read(ctx); err != nil || len(b) != tt.full-1 {
					t.Fatalf("joined frame within the full limit: %d bytes, %v", len(b), err)
				}
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		sc, nc := rawPair(t, ServerOptions{PreJoinMaxMessageSize: 1000}, 15)
		go nc.Write(frame(0, make([]byte, 1001)))
		_, err := sc.Read(ctxT(t))
		if !errors.Is(err, transport.ErrMessageTooBig) || err.Error() != "rawsocket: read: transport: message too big: 1001-byte frame over our 1000-byte pre-join limit" {
			t.Fatalf("Read = %v, want ErrMessageTooBig naming the pre-join limit", err)
		}
		if _, err := sc.Read(ctxT(t)); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("Read after refusal = %v, want ErrClosed", err)
		}
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		// The refused payload was drained: a clean close (FIN), not a reset.
		if _, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
			t.Fatalf("peer read after refusal = %v, want EOF", err)
		}
	})
	t.Run("client has no pre-join limit", func(t *testing.T) {
		t.Parallel()
		cc, sc := pair(t, ServerOptions{}, DialOptions{})
		go sc.Write(ctxT(t), [][]byte{make([]byte, 1<<20)})
		if b, err := cc.Read(ctxT(t)); err != nil || len(b) != 1<<20 {
			t.Fatalf("client Read of 1 MiB: %d bytes, %v", len(b), err)
		}
	})
}

// BenchmarkConnHeap reports the live heap per connection (both ends, in
// this process) against a baseline shaped like the previous reader, which
// allocated a 16 KiB bufio.Reader and a 32 KiB bufio.Writer per connection
// and the whole announced payload at once.
func BenchmarkConnHeap(b *testing.B) {
	eagerIdle := func(c *Conn) error {
		br := bufio.NewReaderSize(c.nc, 16<<10)
		bw := bufio.NewWriterSize(c.nc, 32<<10)
		_, err := br.Peek(4)
		runtime.KeepAlive(bw)
		return err
	}
	eagerFrame := func(c *Conn) error {
		br := bufio.NewReaderSize(c.nc, 16<<10)
		bw := bufio.NewWriterSize(c.nc, 32<<10)
		hdr := make([]byte, 4)
		if _, err := io.ReadFull(br, hdr); err != nil {
			return err
		}
		_, n, _ := parseFrameHeader([4]byte(hdr))
		_, err := io.ReadFull(br, make([]byte, n))
		runtime.KeepAlive(bw)
		return err
	}
	big := frame(0, make([]byte, 40<<10))
	small := frame(0, []byte(`[1,"small"]`))
	cases := []struct {
		name string
		hc   heapCase
	}{
		{"idle/eager-baseline", heapCase{n: 256, after: 4, serve: acceptThen(eagerIdle)}},
		{"idle/rawsocket", heapCase{n: 256, after: 4, serve: acceptThen(readOnce)}},
		{"idle-right-after-40KiB/rawsocket", heapCase{n: 256, clientSends: big, after: 4 + len(big), serve: acceptThen(readTwice)}},
		{"idle-after-40KiB-then-small/rawsocket", heapCase{n: 256, clientSends: big, after: 4 + len(big), then: small, serve: acceptThen(readThrice)}},
		// 16 connections: the baseline really reserves 16 MiB each.
		{"announce16MiB/eager-baseline", heapCase{n: 16, clientSends: announce16MiB, after: 8, serve: acceptThen(eagerFrame)}},
		{"announce16MiB-joined/rawsocket", heapCase{n: 16, clientSends: announce16MiB, after: 8,
			serve: acceptThen(func(c *Conn) error { c.Joined(); return readOnce(c) })}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			var sum float64
			for range b.N {
				alloc, _ := heapPerConn(b, tc.hc)
				sum += alloc
			}
			b.ReportMetric(sum/float64(b.N), "heap-B/conn")
			b.ReportMetric(0, "ns/op")
		})
	}
}
