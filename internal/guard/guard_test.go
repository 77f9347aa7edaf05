package guard

import (
	"context"
	"testing"
	"time"
)

// waitQueued waits (with a deadline) until n callers wait in g's queue.
func waitQueued(t *testing.T, g *Guard, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.Stats().Queued != n {
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", g.Stats().Queued, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBoundsAndQueueInOrder(t *testing.T) {
	g := New(Limits{MaxInFlight: 2, MaxQueued: 2})
	ctx := context.Background()
	for range 2 {
		if _, ok := g.Enter(ctx); !ok {
			t.Fatal("free slot refused")
		}
	}
	admitted := make(chan int, 2)
	for i := range 2 {
		go func() {
			if _, ok := g.Enter(ctx); ok {
				admitted <- i
			}
		}()
		waitQueued(t, g, i+1) // so that their order is known
	}
	if r, ok := g.Enter(ctx); ok || r != QueueFull {
		t.Fatalf("full queue: %v %v", r, ok)
	}
	st := g.Stats()
	if st.InFlight != 2 || st.Queued != 2 || st.Rejected[QueueFull] != 1 {
		t.Fatalf("stats %+v", st)
	}
	g.Leave()
	if i := <-admitted; i != 0 {
		t.Errorf("waiter %d admitted first", i)
	}
	g.Leave()
	if i := <-admitted; i != 1 {
		t.Errorf("waiter %d admitted second", i)
	}
	if st := g.Stats(); st.InFlight != 2 || st.Queued != 0 {
		t.Fatalf("slots handed over: %+v", st)
	}
	g.Leave()
	g.Leave()
	if st := g.Stats(); st.InFlight != 0 {
		t.Fatalf("all left: %+v", st)
	}
}

func TestWaitTimeoutLeavesNoSlotBehind(t *testing.T) {
	g := New(Limits{MaxInFlight: 1})
	if g.Limits().MaxQueued != DefaultQueueFactor {
		t.Errorf("default queue %d", g.Limits().MaxQueued)
	}
	g.Enter(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Reason)
	go func() { r, _ := g.Enter(ctx); done <- r }()
	waitQueued(t, g, 1)
	cancel()
	if r := <-done; r != WaitTimeout {
		t.Errorf("reason %v", r)
	}
	g.Leave()
	if st := g.Stats(); st.InFlight != 0 || st.Queued != 0 || st.Rejected[WaitTimeout] != 1 {
		t.Errorf("stats %+v", st)
	}
	// No queue: refused at once.
	n := New(Limits{MaxInFlight: 1, MaxQueued: -1})
	n.Enter(context.Background())
	if r, ok := n.Enter(context.Background()); ok || r != QueueFull {
		t.Errorf("no queue: %v %v", r, ok)
	}
	// Unbounded: counted, never refused.
	u := New(Limits{MaxInFlight: -1})
	for range 1000 {
		if _, ok := u.Enter(context.Background()); !ok {
			t.Fatal("unbounded refused")
		}
	}
	if st := u.Stats(); st.InFlight != 1000 {
		t.Errorf("unbounded in flight %d", st.InFlight)
	}
}

func TestBreaker(t *testing.T) {
	g := New(Limits{MaxInFlight: -1, Threshold: 3, Cooldown: time.Hour})
	for i := range 2 {
		if g.Record(true) {
			t.Fatalf("opened after %d failures", i+1)
		}
	}
	g.Record(false) // a success resets the count
	g.Record(true)
	g.Record(true)
	if !g.Record(true) {
		t.Fatal("3 consecutive failures did not open")
	}
	if g.Record(true) {
		t.Error("opened twice in one cooldown")
	}
	if r, ok := g.Enter(context.Background()); ok || r != CircuitOpen {
		t.Errorf("open breaker: %v %v", r, ok)
	}
	st := g.Stats()
	if !st.Open || st.Opened != 1 || st.Rejected[CircuitOpen] != 1 || st.RejectedTotal() != 1 {
		t.Errorf("stats %+v", st)
	}
	// Half-open after the cooldown: one failure re-opens.
	g.mu.Lock()
	g.openUntil = time.Now()
	g.mu.Unlock()
	if _, ok := g.Enter(context.Background()); !ok {
		t.Fatal("refused after cooldown")
	}
	g.Leave()
	if !g.Record(true) {
		t.Error("failure after the cooldown did not re-open")
	}
}

func TestTable(t *testing.T) {
	var tb Table
	a := tb.Of(Key{"r2", "p"}, Limits{MaxInFlight: 3})
	if b := tb.Of(Key{"r2", "p"}, Limits{MaxInFlight: 9}); b != a || b.Limits().MaxInFlight != 3 {
		t.Error("second Of did not return the first guard")
	}
	tb.Of(Key{"r1", "q"}, Limits{})
	var keys []Key
	tb.Each(func(k Key, _ *Guard) { keys = append(keys, k) })
	if len(keys) != 2 || keys[0].Realm != "r1" {
		t.Errorf("keys %v", keys)
	}
}
