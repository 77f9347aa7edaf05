package transport_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/testcert"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// pair is a server-side Conn (written through a started Queue) and the
// client end that reads it.
type pair struct {
	server, client transport.Conn
}

// smallSendBuffer makes a socket's send buffer small, so that a peer that
// does not read fills it sooner. (Small receive buffers too would make
// loopback TCP stall on its persist timer once the peer reads again.)
func smallSendBuffer(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
	}
}

func rawPair(t *testing.T) pair { return rawPairBuf(t, false, nil) }

// rawPairSmall is rawPair with a small send buffer on the server's socket.
func rawPairSmall(t *testing.T) pair { return rawPairBuf(t, true, nil) }

// rawPairBuf is a RawSocket pair, with a small send buffer on the
// server's socket if small, over TLS if certs is not nil.
func rawPairBuf(t *testing.T, small bool, certs *testcert.Pair) pair {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if certs != nil {
		ln = tls.NewListener(ln, certs.Server)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	type res struct {
		c   transport.Conn
		err error
	}
	accepted := make(chan res, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			accepted <- res{nil, err}
			return
		}
		if small {
			smallSendBuffer(nc)
		}
		c, err := rawsocket.Accept(ctx, nc, rawsocket.ServerOptions{})
		accepted <- res{c, err}
	}()
	var nc net.Conn
	if certs != nil {
		nc, err = tls.Dial("tcp", ln.Addr().String(), certs.Client)
	} else {
		nc, err = net.Dial("tcp", ln.Addr().String())
	}
	if err != nil {
		t.Fatal(err)
	}
	client, err := rawsocket.Client(ctx, nc, rawsocket.DialOptions{Serializer: codec.MsgPack})
	if err != nil {
		t.Fatal(err)
	}
	r := <-accepted
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { client.Close(); r.c.Close() })
	return pair{r.c, client}
}

func wsPair(t *testing.T) pair {
	t.Helper()
	accepted := make(chan transport.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, websocket.ServerOptions{})
		if err != nil {
			t.Error(err)
			close(accepted)
			return
		}
		accepted <- c
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), websocket.DialOptions{Serializer: codec.MsgPack})
	if err != nil {
		t.Fatal(err)
	}
	c := <-accepted
	if c == nil {
		t.FailNow()
	}
	t.Cleanup(func() { client.Close(); c.Close() })
	return pair{c, client}
}

// frame is message i of a stream: its number, then filler up to size.
func frame(i, size int) []byte {
	f := make([]byte, size)
	binary.BigEndian.PutUint32(f, uint32(i))
	for j := 4; j < size; j++ {
		f[j] = byte(i + j)
	}
	return f
}

// readFrames reads n frames from c and checks that they are 0..n-1 in order
// and intact.
func readFrames(t *testing.T, c transport.Conn, n, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range n {
		got, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("reading frame %d of %d: %v", i, n, err)
		}
		if want := frame(i, size); string(got) != string(want) {
			t.Fatalf("frame %d: got #%d (%d bytes), want #%d (%d bytes)", i, binary.BigEndian.Uint32(got), len(got), i, len(want))
		}
	}
}

// Peers that do not read never hold the shared writers: with more stalled
// peers than there are shared writers, a reading peer still gets its
// frames at once, and the stalled peers get theirs, in order and intact,
// once they read (the rest of a write the socket took only part of goes
// out first).
func TestQueueSharedWritersStalledPeers(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) pair{"rawsocket": rawPairSmall, "websocket": wsPair} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const size, stalledFrames = 1000, 3000 // 3 MB: far over the socket buffers
			stalled := make([]pair, runtime.GOMAXPROCS(0)+3)
			live := mk(t)
			for i := range stalled {
				stalled[i] = mk(t)
			}
			if tw, ok := live.server.(transport.TryWriter); !ok || !tw.CanTryWrite() {
				t.Fatal("a plain TCP server connection cannot TryWrite")
			}
			start := func(c transport.Conn) *transport.Queue {
				q := transport.NewQueue(c, transport.QueueOptions{MaxBytes: 8 << 20})
				q.Start(context.Background(), func(err error) { t.Errorf("write failed: %v", err) })
				t.Cleanup(func() { q.Close(); c.Close(); q.Wait() })
				return q
			}
			lq := start(live.server)
			sqs := make([]*transport.Queue, len(stalled))
			for i, p := range stalled {
				sqs[i] = start(p.server)
			}
			for i := range stalledFrames { // in bursts, as a fan-out sends them
				for _, q := range sqs {
					if err := q.Send(frame(i, size)); err != nil {
						t.Fatal(err)
					}
				}
				if i%20 == 19 {
					runtime.Gosched()
				}
			}
			for i := range 50 {
				if err := lq.Send(frame(i, size)); err != nil {
					t.Fatal(err)
				}
			}
			readFrames(t, live.client, 50, size)
			for _, p := range stalled {
				readFrames(t, p.client, stalledFrames, size)
			}
		})
	}
}

// Bursts to many queues at once arrive complete and in order on each
// connection, with frames coalesced into few writes.
func TestQueueSharedWritersFanOut(t *testing.T) {
	t.Parallel()
	const conns, bursts, size = 50, 40, 100
	pairs := make([]pair, conns)
	qs := make([]*transport.Queue, conns)
	for i := range pairs {
		pairs[i] = rawPair(t)
		qs[i] = transport.NewQueue(pairs[i].server, transport.QueueOptions{})
		qs[i].Start(context.Background(), func(err error) { t.Errorf("write failed: %v", err) })
		q, c := qs[i], pairs[i].server
		t.Cleanup(func() { q.Close(); c.Close(); q.Wait() })
	}
	done := make(chan error, conns)
	for _, p := range pairs {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			for i := range bursts {
				got, err := p.client.Read(ctx)
				if err == nil && string(got) != string(frame(i, size)) {
					err = fmt.Errorf("frame %d out of order or damaged", i)
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := range bursts {
		for _, q := range qs {
			if err := q.Send(frame(i, size)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for range conns {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// A TryWrite the socket takes only part of leaves the rest to finish; the
// peer then reads every frame in order and intact.
func TestTryWritePartial(t *testing.T) {
	t.Parallel()
	for name, mk := range map[string]func(*testing.T) pair{"rawsocket": rawPair, "websocket": wsPair} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const size, per = 1000, 30 // batches of 30 KB, under the 32 KiB TryWrite takes
			p := mk(t)
			tw := p.server.(transport.TryWriter)
			var finish func(context.Context) error
			sent := 0
			for finish == nil {
				batch := make([][]byte, per)
				for i := range batch {
					batch[i] = frame(sent+i, size)
				}
				var err error
				finish, err = tw.TryWrite(batch)
				if err != nil {
					t.Fatalf("TryWrite after %d frames: %v (the socket filled up without taking part of a batch)", sent, err)
				}
				sent += per
				if sent > 1<<20 {
					t.Fatal("the socket took 1 GB without filling up")
				}
			}
			if _, err := tw.TryWrite([][]byte{frame(sent, size)}); err != transport.ErrWouldBlock {
				t.Fatalf("TryWrite while the rest of another waits = %v, want ErrWouldBlock", err)
			}
			done := make(chan error, 1)
			go func() {
				if err := finish(context.Background()); err != nil {
					done <- err
					return
				}
				done <- p.server.Write(context.Background(), [][]byte{frame(sent, size)})
			}()
			readFrames(t, p.client, sent+1, size)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A TLS connection cannot write without waiting: its queue keeps writers
// of its own, and writes as before.
func TestQueueTLSWritesWithoutSharedWriters(t *testing.T) {
	t.Parallel()
	p := rawPairBuf(t, false, testcert.New(t))
	if p.server.(transport.TryWriter).CanTryWrite() {
		t.Fatal("a TLS connection says it can TryWrite")
	}
	q := transport.NewQueue(p.server, transport.QueueOptions{})
	q.Start(context.Background(), func(err error) { t.Errorf("write failed: %v", err) })
	t.Cleanup(func() { q.Close(); p.server.Close(); q.Wait() })
	for i := range 100 {
		if err := q.Send(frame(i, 100)); err != nil {
			t.Fatal(err)
		}
	}
	readFrames(t, p.client, 100, 100)
}
