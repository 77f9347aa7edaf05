package router

import (
	"testing"
	"time"
)

// A rise of releaseRise connections since the last release arms one
// release, which waits while connections keep arriving in bulk.
func TestMemReleaseAfterRise(t *testing.T) {
	now := time.Now()
	m := memRelease{base: 10, peak: 10}
	for n := 11; n < 10+releaseRise; n++ {
		if _, ok := m.rose(n, now); ok {
			t.Fatalf("armed at %d open, %d above the base", n, n-10)
		}
	}
	d, ok := m.rose(10+releaseRise, now)
	if !ok || d != releaseDelay {
		t.Fatalf("a rise of %d: release in %v, %v; want %v, true", releaseRise, d, ok, releaseDelay)
	}
	for i := range releaseQuiet {
		if _, ok := m.rose(11+releaseRise+i, now); ok {
			t.Fatal("armed twice")
		}
	}
	if m.settled() {
		t.Fatal("settled with connections still arriving")
	}
	if !m.settled() {
		t.Fatal("not settled after a quiet period")
	}
	// Within releaseEvery of the last release it waits for the rest.
	m = memRelease{lastRise: now, last: now.Add(-time.Hour)}
	if d, ok := m.rose(releaseRise, now.Add(time.Second)); !ok || d != releaseEvery-time.Second {
		t.Fatalf("release in %v, %v; want %v", d, ok, releaseEvery-time.Second)
	}
	// A drop's release is not held back by a rise's.
	m = memRelease{peak: 2 * releaseDrop, lastRise: now}
	if d, ok := m.closed(0, now); !ok || d != releaseDelay {
		t.Fatalf("drop after a rise's release: in %v, %v; want %v", d, ok, releaseDelay)
	}
	// Closes lower the base: a rise counts from the fewest open.
	m = memRelease{base: 500, peak: 500}
	m.closed(100, now)
	if _, ok := m.rose(100+releaseRise, now); !ok {
		t.Fatal("a rise from the fewest open did not arm")
	}
}

// releasePark parkings arm one release, held back by a recent release
// for parkings but not by one for a rise.
func TestMemReleaseAfterParkings(t *testing.T) {
	now := time.Now()
	m := memRelease{lastRise: now}
	for range releasePark - 1 {
		if _, ok := m.parked(now); ok {
			t.Fatal("armed before releasePark parkings")
		}
	}
	if d, ok := m.parked(now); !ok || d != releaseDelay {
		t.Fatalf("after %d parkings: release in %v, %v; want %v", releasePark, d, ok, releaseDelay)
	}
	if !m.park || m.rise {
		t.Fatal("armed release not marked as the parkings'")
	}
	m = memRelease{lastPark: now, parks: releasePark - 1}
	if d, ok := m.parked(now.Add(time.Second)); !ok || d != releaseEvery-time.Second {
		t.Fatalf("right after a parkings' release: %v, %v; want %v", d, ok, releaseEvery-time.Second)
	}
}
