package router

import (
	"testing"
	"time"
)

// Memory goes back after a drop of releaseDrop connections to at most
// half the peak, once per drop, and not sooner than releaseEvery after
// the last release.
func TestMemReleaseDecision(t *testing.T) {
	now := time.Now()
	var m memRelease
	m.opened(3 * releaseDrop)
	if _, ok := m.closed(3*releaseDrop-1, now); ok {
		t.Fatal("released after one close")
	}
	if _, ok := m.closed(2*releaseDrop, now); ok {
		t.Fatal("released above half the peak")
	}
	d, ok := m.closed(releaseDrop, now)
	if !ok || d != releaseDelay {
		t.Fatalf("after a drop to a third: %v, %v; want a release in %v", d, ok, releaseDelay)
	}
	if _, ok := m.closed(0, now); ok {
		t.Fatal("armed twice")
	}
	m = memRelease{peak: 2 * releaseDrop, last: now}
	if d, ok := m.closed(0, now.Add(time.Second)); !ok || d != releaseEvery-time.Second {
		t.Fatalf("right after a release: %v, %v; want one in %v", d, ok, releaseEvery-time.Second)
	}
	m = memRelease{peak: releaseDrop - 1}
	if _, ok := m.closed(0, now); ok {
		t.Fatal("released after a drop smaller than releaseDrop")
	}
}
