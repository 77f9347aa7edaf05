package transport

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recConn is an in-memory Conn that records Write calls. If gate is
// non-nil each Write waits for a token from it first.
type recConn struct {
	gate    chan struct{}
	entered chan struct{} // receives once per Write call, if non-nil
	err     error

	mu      sync.Mutex
	batches [][][]byte
}

func (c *recConn) Codec() codec.Codec                   { return codec.JSON }
func (c *recConn) Read(context.Context) ([]byte, error) { return nil, ErrClosed }
func (c *recConn) MaxSendSize() int                     { return 0 }
func (c *recConn) Info() Info                           { return Info{} }
func (c *recConn) Close() error                         { return nil }

func (c *recConn) Write(ctx context.Context, frames [][]byte) error {
	if c.entered != nil {
		c.entered <- struct{}{}
	}
	if c.gate != nil {
		select {
		case <-c.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if c.err != nil {
		return c.err
	}
	c.mu.Lock()
	c.batches = append(c.batches, append([][]byte(nil), frames...))
	c.mu.Unlock()
	return nil
}

func (c *recConn) frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out [][]byte
	for _, b := range c.batches {
		out = append(out, b...)
	}
	return out
}

func runQueue(t *testing.T, q *Queue) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.Run(ctx) }()
	t.Cleanup(func() {
		q.Close()
		cancel()
		<-errc
	})
	return errc
}

func TestQueueOrderAndDrain(t *testing.T) {
	t.Parallel()
	c := &recConn{}
	q := NewQueue(c, QueueOptions{})
	errc := make(chan error, 1)
	for i := range 1000 {
		if err := q.Send(fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	go func() { errc <- q.Run(context.Background()) }()
	for i := range 1000 {
		if err := q.Send(fmt.Appendf(nil, "n%d", i)); err != nil {
			t.Fatalf("Send n%d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.Drain(ctx); err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("Run after Drain: %v, want nil", err)
	}
	got := c.frames()
	if len(got) != 2000 {
		t.Fatalf("wrote %d frames, want 2000", len(got))
	}
	for i := range 1000 {
		if w := fmt.Sprintf("m%d", i); string(got[i]) != w {
			t.Fatalf("frame %d = %q, want %q", i, got[i], w)
		}
		if w := fmt.Sprintf("n%d", i); string(got[1000+i]) != w {
			t.Fatalf("frame %d = %q, want %q", 1000+i, got[1000+i], w)
		}
	}
	if len(c.batches[0]) < 1000 {
		t.Errorf("first batch has %d frames, want all >= 1000 queued before Run", len(c.batches[0]))
	}
	if err := q.Send([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Drain = %v, want ErrClosed", err)
	}
	if m, b := q.Len(); m != 0 || b != 0 {
		t.Errorf("Len after Drain = %d, %d", m, b)
	}
}

func TestQueueBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		opts     QueueOptions
		frames   []int // sizes to Send in order
		wantFull int   // index of the first ErrQueueFull, -1 for none
	}{
		{"messages", QueueOptions{MaxMessages: 3, MaxBytes: 1 << 20}, []int{1, 1, 1, 1}, 3},
		{"bytes", QueueOptions{MaxBytes: 10}, []int{4, 4, 2, 1}, 3},
		{"bytes exact fit", QueueOptions{MaxBytes: 10}, []int{5, 5}, -1},
		{"oversize on empty queue accepted", QueueOptions{MaxBytes: 10}, []int{100}, -1},
		{"oversize on busy queue refused", QueueOptions{MaxBytes: 10}, []int{1, 100}, 1},
		{"nothing fits after oversize", QueueOptions{MaxBytes: 10}, []int{100, 1}, 1},
		{"defaults", QueueOptions{}, []int{DefaultQueueMaxBytes, 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := NewQueue(&recConn{}, tt.opts) // Run not started: nothing leaves
			full := -1
			wantBytes := 0
			for i, n := range tt.frames {
				err := q.Send(make([]byte, n))
				if errors.Is(err, ErrQueueFull) {
					if full < 0 {
						full = i
					}
					continue
				}
				if err != nil {
					t.Fatalf("Send %d: %v", i, err)
				}
				wantBytes += n
			}
			if full != tt.wantFull {
				t.Fatalf("first ErrQueueFull at %d, want %d", full, tt.wantFull)
			}
			if _, b := q.Len(); b != wantBytes {
				t.Errorf("Len bytes = %d, want %d", b, wantBytes)
			}
			q.Close()
		})
	}
}

// In-flight frames count against the bounds until their Write returns.
func TestQueueInFlightCounted(t *testing.T) {
	t.Parallel()
	c := &recConn{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	q := NewQueue(c, QueueOptions{MaxMessages: 2, MaxBytes: 100})
	runQueue(t, q)
	if err := q.Send([]byte("a")); err != nil {
		t.Fatal(err)
	}
	<-c.entered // Run took "a" and is blocked writing it
	if err := q.Send([]byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := q.Send([]byte("c")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("third Send = %v, want ErrQueueFull (one in flight, one queued)", err)
	}
	if m, b := q.Len(); m != 2 || b != 2 {
		t.Errorf("Len = %d, %d; want 2, 2", m, b)
	}
	c.gate <- struct{}{} // "a" written
	<-c.entered
	c.gate <- struct{}{} // "b" written
	deadline := time.Now().Add(5 * time.Second)
	for {
		if m, _ := q.Len(); m == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("queue never emptied")
		}
		time.Sleep(time.Millisecond)
	}
	if err := q.Send([]byte("c")); err != nil {
		t.Fatalf("Send after writes done: %v", err)
	}
}

func TestQueueCloseUnblocksRun(t *testing.T) {
	t.Parallel()
	q := NewQueue(&recConn{}, QueueOptions{})
	errc := make(chan error, 1)
	go func() { errc <- q.Run(context.Background()) }()
	q.Close()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run after Close = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if err := q.Send([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	q.Close() // idempotent
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := q.Drain(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Drain after Close = %v, want ErrClosed", err)
	}
}

func TestQueueCloseDiscardsPending(t *testing.T) {
	t.Parallel()
	c := &recConn{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	q := NewQueue(c, QueueOptions{})
	errc := make(chan error, 1)
	go func() { errc <- q.Run(context.Background()) }()
	_ = q.Send([]byte("a"))
	<-c.entered
	_ = q.Send([]byte("b"))
	_ = q.Send([]byte("c"))
	q.Close()
	if m, _ := q.Len(); m != 1 {
		t.Errorf("Len after Close = %d, want 1 (the frame in flight)", m)
	}
	c.gate <- struct{}{}
	if err := <-errc; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if got := c.frames(); len(got) != 1 || string(got[0]) != "a" {
		t.Errorf("written %q, want only \"a\"", got)
	}
}

func TestQueueRunCtx(t *testing.T) {
	t.Parallel()
	q := NewQueue(&recConn{}, QueueOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- q.Run(ctx) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if err := q.Send([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Run ended = %v, want ErrClosed", err)
	}
}

// queueWriters start a queue's writer both ways: Run's loop and Start's
// on-demand writer.
var queueWriters = []struct {
	name  string
	start func(*testing.T, *Queue)
}{
	{"Run", func(t *testing.T, q *Queue) { runQueue(t, q) }},
	{"Start", func(t *testing.T, q *Queue) { startQueue(t, q) }},
}

func TestQueueDrainWaits(t *testing.T) {
	t.Parallel()
	for _, w := range queueWriters {
		t.Run(w.name, func(t *testing.T) {
			t.Parallel()
			c := &recConn{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
			q := NewQueue(c, QueueOptions{})
			w.start(t, q)
			_ = q.Send([]byte("a"))
			<-c.entered
			_ = q.Send([]byte("b"))

			// Drain must not finish while frames are pending.
			short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if err := q.Drain(short); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Drain with writes blocked = %v, want DeadlineExceeded", err)
			}
			if err := q.Send([]byte("x")); !errors.Is(err, ErrClosed) {
				t.Errorf("Send while draining = %v, want ErrClosed", err)
			}
			done := make(chan error, 1)
			go func() { done <- q.Drain(context.Background()) }()
			c.gate <- struct{}{}
			<-c.entered
			c.gate <- struct{}{}
			if err := <-done; err != nil {
				t.Fatalf("Drain = %v", err)
			}
			if got := c.frames(); len(got) != 2 {
				t.Errorf("wrote %d frames, want 2", len(got))
			}
		})
	}
}

func TestQueueWriteError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	c := &recConn{err: boom}
	q := NewQueue(c, QueueOptions{})
	errc := make(chan error, 1)
	go func() { errc <- q.Run(context.Background()) }()
	if err := q.Send([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, boom) {
		t.Fatalf("Run = %v, want boom", err)
	}
	if err := q.Send([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after write error = %v, want ErrClosed", err)
	}
	if err := q.Drain(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Drain after write error = %v, want boom", err)
	}
	if m, b := q.Len(); m != 0 || b != 0 {
		t.Errorf("Len = %d, %d after failure", m, b)
	}
}

func TestQueueConcurrentSend(t *testing.T) {
	t.Parallel()
	c := &recConn{}
	q := NewQueue(c, QueueOptions{MaxMessages: 1 << 20, MaxBytes: 1 << 30})
	errc := make(chan error, 1)
	go func() { errc <- q.Run(context.Background()) }()
	const senders, per = 16, 500
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range per {
				if err := q.Send(fmt.Appendf(nil, "%d/%d", s, i)); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
				if i%50 == 0 {
					q.Len()
				}
			}
		})
	}
	wg.Wait()
	if err := q.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	// Each sender's frames stay in its own order.
	next := make([]int, senders)
	for _, f := range c.frames() {
		var s, i int
		if _, err := fmt.Sscanf(string(f), "%d/%d", &s, &i); err != nil {
			t.Fatalf("bad frame %q", f)
		}
		if i != next[s] {
			t.Fatalf("sender %d: got frame %d, want %d", s, i, next[s])
		}
		next[s]++
	}
	for s, n := range next {
		if n != per {
			t.Errorf("sender %d: %d frames written, want %d", s, n, per)
		}
	}
}

// discardConn is the cheapest possible Conn, to measure the queue itself.
type discardConn struct{ recConn }

func (*discardConn) Write(context.Context, [][]byte) error { return nil }

func BenchmarkQueueSend(b *testing.B) {
	frame := make([]byte, 128)
	q := NewQueue(&discardConn{}, QueueOptions{})
	errc := make(chan error, 1)
	go func() { errc <- q.Run(context.Background()) }()
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		for q.Send(frame) != nil { // full: let the writer catch up
			time.Sleep(time.Microsecond)
		}
	}
	if err := q.Drain(context.Background()); err != nil {
		b.Fatal(err)
	}
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
}
