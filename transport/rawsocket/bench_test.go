package rawsocket

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/tollgate-wamp/tollgate/transport"
)

// BenchmarkQueueTCP measures Queue.Send through the writer loop and a
// RawSocket over loopback TCP to a reading peer: the coalesced write path.
func BenchmarkQueueTCP(b *testing.B) {
	cc, sc := pair(b, ServerOptions{}, DialOptions{})
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
	cc, sc := pair(b, ServerOptions{}, DialOptions{})
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
	if err := <-writeErr; err != nil {
		b.Fatal(err)
	}
}
