package rawsocket

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/tollgate-wamp/tollgate/transport"
)

// BenchmarkQueueTCP measures Queue.Send through the writer loop and a
// RawSocket over loopback TCP to a reading peer: the coalesced write path.
func BenchmarkQueueTCP(b *testing.B) {
	cc, sc, reads := countedPair(b)
	frame := make([]byte, 128)
	q := transport.NewQueue(cc, transport.QueueOptions{})
	ctx := context.Background()
	runErr := make(chan error, 1)
	go func() { runErr <- q.Run(ctx) }()
	n := b.N
	readErr := make(chan error, 1)
	go func() {
		for range n {
			if _, err := sc.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
		readErr <- nil
	}()
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		for {
			err := q.Send(frame)
			if err == nil {
				break
			}
			if !errors.Is(err, transport.ErrQueueFull) {
				b.Fatal(err)
			}
			runtime.Gosched() // full: let the writer catch up
		}
	}
	if err := <-readErr; err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(reads.Load())/float64(n), "reads/msg")
	if err := q.Drain(ctx); err != nil {
		b.Fatal(err)
	}
	if err := <-runErr; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkWriteOne is the uncoalesced baseline: one Write (one flush,
// one syscall) per message.
func BenchmarkWriteOne(b *testing.B) {
	cc, sc := pair(b, ServerOptions{}, DialOptions{})
	frame := [][]byte{make([]byte, 128)}
	ctx := context.Background()
	n := b.N
	readErr := make(chan error, 1)
	go func() {
		for range n {
			if _, err := sc.Read(ctx); err != nil {
				readErr <- err
				return
			}
		}
		readErr <- nil
	}()
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		if err := cc.Write(ctx, frame); err != nil {
			b.Fatal(err)
		}
	}
	if err := <-readErr; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkReadBatches is the read path: the peer writes batches of 16
// 128-byte frames (2 KiB, one write each) and the server reads them.
func BenchmarkReadBatches(b *testing.B) {
	cc, sc, reads := countedPair(b)
	batch := make([][]byte, 16)
	for i := range batch {
		batch[i] = make([]byte, 128)
	}
	ctx := context.Background()
	n := b.N
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; i < n; i += len(batch) {
			if err := cc.Write(ctx, batch[:min(len(batch), n-i)]); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for range n {
		if _, err := sc.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(reads.Load())/float64(n), "reads/msg")
	if err := <-writeErr; err != nil {
		b.Fatal(err)
	}
}

// countConn counts the reads (system calls) on a server connection.
type countConn struct {
	net.Conn
	reads *atomic.Int64
}

func (c countConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.Conn.Read(p)
}

// countedPair is pair with the server's socket reads counted (from after
// the handshake).
func countedPair(b *testing.B) (client transport.Conn, server *Conn, reads *atomic.Int64) {
	b.Helper()
	reads = new(atomic.Int64)
	res := make(chan acceptResult, 1)
	l := listen(b, "tcp", func(nc net.Conn) {
		c, err := Accept(ctxT(b), countConn{nc, reads}, ServerOptions{})
		res <- acceptResult{c, err}
	})
	cc, err := Dial(ctxT(b), "tcp", l.addr, DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cc.Close() })
	r := recv(b, res)
	if r.err != nil {
		b.Fatal(r.err)
	}
	b.Cleanup(func() { r.c.Close() })
	reads.Store(0)
	return cc, r.c.(*Conn), reads
}

// BenchmarkReadPaced is the read path when the reader keeps up: the peer
// writes a 2 KiB batch of 16 frames only after the previous batch was
// read, so every read finds exactly one batch. reads/msg shows whether the
// reader does one read per batch (1/16).
func BenchmarkReadPaced(b *testing.B) {
	cc, sc, reads := countedPair(b)
	batch := make([][]byte, 16)
	for i := range batch {
		batch[i] = make([]byte, 128)
	}
	ctx := context.Background()
	n := max(b.N/16, 1) * 16
	next := make(chan struct{}, 1)
	writeErr := make(chan error, 1)
	go func() {
		for i := 0; i < n; i += 16 {
			<-next
			if err := cc.Write(ctx, batch); err != nil {
				writeErr <- err
				return
			}
		}
		writeErr <- nil
	}()
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range n {
		if i%16 == 0 {
			next <- struct{}{}
		}
		if _, err := sc.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(reads.Load())/float64(n), "reads/msg")
	if err := <-writeErr; err != nil {
		b.Fatal(err)
	}
}
