package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"

	cws "github.com/coder/websocket"
)

// The benchmarks run the server side of a connection over loopback TCP,
// ours against coder/websocket (what the router used before), and count
// write(2) calls with the listener's signalConn. The peer is a raw socket
// that discards what it gets (write path) or replays pre-encoded masked
// frames (read path), so the peer costs little.

const benchPayload = 64

// benchFrames returns n JSON frames of about benchPayload bytes.
func benchFrames(n int) [][]byte {
	fs := make([][]byte, n)
	for i := range fs {
		fs[i] = fmt.Appendf(nil, `[36,1,%d,{},["%s"]]`, i, bytes.Repeat([]byte("x"), benchPayload-20))
	}
	return fs
}

type coderConn struct {
	ws  *cws.Conn
	sig *signalConn // the connection under it, counting write(2) calls
}

type connKey struct{}

// coderServer serves coder/websocket upgrades on a counting listener.
func coderServer(b *testing.B) (*httptest.Server, <-chan coderConn) {
	ch := make(chan coderConn, 1)
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := cws.Accept(w, r, &cws.AcceptOptions{Subprotocols: []string{"wamp.2.json"}})
		if err != nil {
			b.Error(err)
			return
		}
		ws.SetReadLimit(-1)
		ch <- coderConn{ws, r.Context().Value(connKey{}).(*signalConn)}
	}))
	s.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Listener = signalListener{s.Listener}
	s.Start()
	b.Cleanup(s.Close)
	return s, ch
}

func BenchmarkWrite(b *testing.B) {
	for _, batch := range []int{1, 10} {
		frames := benchFrames(batch)
		b.Run(fmt.Sprintf("impl=tollgate/frames=%d", batch), func(b *testing.B) {
			s := startServer(b, ServerOptions{}, false)
			p, sc := rawConnect(b, s, "wamp.2.json")
			go io.Copy(io.Discard, p.nc)
			benchWrite(b, batch, sc.nc.(*signalConn), func(ctx context.Context) error { return sc.Write(ctx, frames) })
		})
		b.Run(fmt.Sprintf("impl=coder/frames=%d", batch), func(b *testing.B) {
			s, ch := coderServer(b)
			p := rawUpgrade(b, s, "wamp.2.json")
			cc := <-ch
			defer cc.ws.CloseNow()
			go io.Copy(io.Discard, p.nc)
			benchWrite(b, batch, cc.sig, func(ctx context.Context) error {
				for _, f := range frames {
					if err := cc.ws.Write(ctx, cws.MessageText, f); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
}

func benchWrite(b *testing.B, batch int, sig *signalConn, write func(context.Context) error) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(batch * benchPayload))
	start := sig.writes.Load()
	b.ResetTimer()
	for b.Loop() {
		if err := write(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	writes := sig.writes.Load() - start
	b.ReportMetric(float64(b.N*batch)/float64(writes), "frames/write")
	b.ReportMetric(float64(b.N*batch), "frames")
}

func BenchmarkRead(b *testing.B) {
	// 256 masked frames, replayed as one block.
	var block []byte
	for _, f := range benchFrames(256) {
		block = append(block, mkFrame(0x81, true, f)...)
	}
	feed := func(p *rawPeer, done <-chan struct{}) {
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := p.nc.Write(block); err != nil {
				return
			}
		}
	}
	b.Run("impl=tollgate", func(b *testing.B) {
		s := startServer(b, ServerOptions{}, false)
		p, sc := rawConnect(b, s, "wamp.2.json")
		done := make(chan struct{})
		defer close(done)
		go feed(p, done)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(benchPayload)
		for b.Loop() {
			if _, err := sc.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
		sc.Close()
	})
	b.Run("impl=coder", func(b *testing.B) {
		s, ch := coderServer(b)
		p := rawUpgrade(b, s, "wamp.2.json")
		ws := (<-ch).ws
		done := make(chan struct{})
		defer close(done)
		go feed(p, done)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(benchPayload)
		for b.Loop() {
			if _, _, err := ws.Read(ctx); err != nil {
				b.Fatal(err)
			}
		}
		ws.CloseNow()
	})
}

// BenchmarkIdleConn reports the server-side memory of idle connections
// (heap and goroutine stacks, each with a Read blocked on it, as in the
// router), ours against coder/websocket.
func BenchmarkIdleConn(b *testing.B) {
	const n = 100
	type idle struct {
		read  func() // blocks until the connection closes
		close func()
	}
	run := func(b *testing.B, open func() idle) {
		var total float64
		for b.Loop() {
			conns := make([]idle, n)
			var wg sync.WaitGroup
			before := memInUse()
			for i := range conns {
				conns[i] = open()
				wg.Go(conns[i].read)
			}
			total += float64(memInUse()-before) / n
			for _, c := range conns {
				c.close()
			}
			wg.Wait()
		}
		b.ReportMetric(total/float64(b.N), "B/conn")
	}
	b.Run("impl=tollgate", func(b *testing.B) {
		s := startServer(b, ServerOptions{}, false)
		run(b, func() idle {
			p, sc := rawConnect(b, s, "wamp.2.json")
			p.br = nil
			return idle{read: func() { sc.Read(context.Background()) }, close: func() { p.nc.Close(); sc.Close() }}
		})
	})
	b.Run("impl=coder", func(b *testing.B) {
		s, ch := coderServer(b)
		run(b, func() idle {
			p := rawUpgrade(b, s, "wamp.2.json")
			ws := (<-ch).ws
			p.br = nil
			return idle{read: func() { ws.Read(context.Background()) }, close: func() { p.nc.Close(); ws.CloseNow() }}
		})
	})
}

// memInUse is heap plus stack memory in use after a collection.
func memInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse + ms.StackInuse)
}

// BenchmarkAccept opens and closes one connection per op: TCP connect,
// opening handshake, Accept, close (both sides in this process).
func BenchmarkAccept(b *testing.B) {
	b.Run("impl=tollgate", func(b *testing.B) {
		s := startServer(b, ServerOptions{}, false)
		b.ReportAllocs()
		for b.Loop() {
			p, sc := rawConnect(b, s, "wamp.2.json")
			sc.Close()
			p.nc.Close()
		}
	})
	b.Run("impl=coder", func(b *testing.B) {
		s, ch := coderServer(b)
		b.ReportAllocs()
		for b.Loop() {
			p := rawUpgrade(b, s, "wamp.2.json")
			(<-ch).ws.CloseNow()
			p.nc.Close()
		}
	})
}
