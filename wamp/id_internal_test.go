package wamp

import (
	"sync"
	"testing"
)

func TestSequenceWraps(t *testing.T) {
	t.Parallel()
	var s Sequence
	if got := s.Next(); got != 1 {
		t.Fatalf("zero Sequence: first Next = %d, want 1", got)
	}
	s.n.Store(uint64(MaxID) - 1)
	for _, want := range []ID{MaxID, 1, 2} {
		if got := s.Next(); got != want {
			t.Fatalf("Next = %d, want %d", got, want)
		}
	}
	// A state beyond MaxID (impossible through Next) still wraps to 1.
	s.n.Store(uint64(MaxID) + 5)
	if got := s.Next(); got != 1 {
		t.Fatalf("Next after out-of-range state = %d, want 1", got)
	}
}

func TestSequenceConcurrentUnique(t *testing.T) {
	t.Parallel()
	var s Sequence
	s.n.Store(uint64(MaxID) - 500) // cross the wrap point under contention
	const workers, each = 8, 1000
	got := make(chan ID, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				got <- s.Next()
			}
		})
	}
	wg.Wait()
	close(got)
	seen := make(map[ID]bool, workers*each)
	for id := range got {
		if !id.Valid() {
			t.Fatalf("invalid id %d", id)
		}
		if seen[id] {
			t.Fatalf("id %d handed out twice", id)
		}
		seen[id] = true
	}
	if len(seen) != workers*each {
		t.Fatalf("got %d ids", len(seen))
	}
}
