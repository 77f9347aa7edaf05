package linger

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) } // lingering goroutines leave

// Work handed over while a goroutine lingers runs on it.
func TestPoolReuses(t *testing.T) {
	p := New(100 * time.Millisecond)
	ids := make(chan string, 2)
	ran := make(chan struct{})
	p.Go(func() { ids <- goroutine(); close(ran) })
	<-ran
	// The goroutine is about to wait for more: a send succeeds once it does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case p.idle <- func() { ids <- goroutine() }:
			if a, b := <-ids, <-ids; a != b {
				t.Fatalf("the second function ran on %q, want the lingering %q", b, a)
			}
			return
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no goroutine lingered for work")
		}
		runtime.Gosched()
	}
}

// goroutine is the calling goroutine's "goroutine N" header.
func goroutine() string {
	buf := make([]byte, 64)
	s := string(buf[:runtime.Stack(buf, false)])
	return s[:strings.Index(s, " [")]
}
