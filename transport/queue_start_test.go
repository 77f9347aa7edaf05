package transport

import (
	"context"
	"errors"
	"testing"
)

// startQueue starts q's on-demand writer; onErr's errors go to the channel.
func startQueue(t *testing.T, q *Queue) <-chan error {
	t.Helper()
	errs := make(chan error, 1)
	q.Start(context.Background(), func(err error) { errs <- err })
	t.Cleanup(func() {
		q.Close()
		q.Wait()
	})
	return errs
}

// The on-demand writer runs only while frames wait, and frames queued
// during a write go out together in the next one.
func TestQueueStartWritesOnDemand(t *testing.T) {
	t.Parallel()
	c := &recConn{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	q := NewQueue(c, QueueOptions{})
	startQueue(t, q)
	q.Wait() // no writer before the first Send
	for _, f := range []string{"a", "b", "c"} {
		if err := q.Send([]byte(f)); err != nil {
			t.Fatal(err)
		}
		if f == "a" {
			<-c.entered // the writer is blocked writing "a"
		}
	}
	c.gate <- struct{}{} // "a" written
	<-c.entered
	c.gate <- struct{}{} // "b" and "c" written
	q.Wait()             // the queue is empty: the writer exited
	if m, b := q.Len(); m != 0 || b != 0 {
		t.Fatalf("Len after the writer exited = %d, %d", m, b)
	}
	if err := q.Send([]byte("d")); err != nil {
		t.Fatal(err)
	}
	<-c.entered
	c.gate <- struct{}{}
	q.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	want := [][]string{{"a"}, {"b", "c"}, {"d"}}
	if len(c.batches) != len(want) {
		t.Fatalf("%d writes, want %d: %q", len(c.batches), len(want), c.batches)
	}
	for i, b := range c.batches {
		if len(b) != len(want[i]) {
			t.Fatalf("write %d = %q, want %q", i, b, want[i])
		}
		for j := range b {
			if string(b[j]) != want[i][j] {
				t.Fatalf("write %d = %q, want %q", i, b, want[i])
			}
		}
	}
}

// Drain of a started queue with nothing queued returns at once;
// TestQueueDrainWaits covers one with frames queued.
func TestQueueStartDrainIdle(t *testing.T) {
	t.Parallel()
	idle := NewQueue(&recConn{}, QueueOptions{})
	startQueue(t, idle)
	if err := idle.Drain(context.Background()); err != nil {
		t.Errorf("Drain of an idle queue = %v, want nil at once", err)
	}
}

func TestQueueStartWriteError(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	q := NewQueue(&recConn{err: boom}, QueueOptions{})
	errs := startQueue(t, q)
	if err := q.Send([]byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, boom) {
		t.Fatalf("onErr got %v, want boom", err)
	}
	if err := q.Send([]byte("b")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after a write error = %v, want ErrClosed", err)
	}
	if err := q.Drain(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Drain after a write error = %v, want boom", err)
	}
}

// Close discards what is queued; a Drain waiting for it ends with ErrClosed
// once the write in flight returns.
func TestQueueStartClose(t *testing.T) {
	t.Parallel()
	c := &recConn{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	q := NewQueue(c, QueueOptions{})
	startQueue(t, q)
	_ = q.Send([]byte("a"))
	<-c.entered
	_ = q.Send([]byte("b"))
	done := make(chan error, 1)
	go func() { done <- q.Drain(context.Background()) }()
	q.Close()
	if m, _ := q.Len(); m != 1 {
		t.Errorf("Len after Close = %d, want 1 (the frame in flight)", m)
	}
	c.gate <- struct{}{}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Drain = %v, want ErrClosed", err)
	}
	q.Wait()
	if got := c.frames(); len(got) != 1 || string(got[0]) != "a" {
		t.Errorf("written %q, want only \"a\"", got)
	}
	if err := q.Send([]byte("c")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
}
