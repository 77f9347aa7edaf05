package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestLateChunksStartNothing: a chunk of a progressive call invocation
// that arrives after the handler answered (the router forwarded it before
// it saw the YIELD) is dropped instead of starting a new invocation. The
// race cannot be forced through the router, so the chunks are fed to the
// link's router-message handler directly, with the id of an invocation the
// router already settled; the rest runs against the real router.
func TestLateChunksStartNothing(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dialOne := func() *Session {
		s, err := Dial(ctx, srv.URL("tcp"), Config{Realm: routertest.Realm, MaxConcurrentHandlers: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}
	callee, caller := dialOne(), dialOne()

	var (
		mu   sync.Mutex
		runs []string
	)
	reg, err := callee.Register(ctx, "com.stream", func(ctx context.Context, inv *Invocation) (Result, error) {
		mu.Lock()
		runs = append(runs, fmt.Sprint(inv.Args...))
		mu.Unlock()
		if inv.ProgressiveInput() {
			c, err := inv.NextChunk(ctx)
			if err != nil || c.Last || fmt.Sprint(c.Args...) != "second" {
				return Result{}, fmt.Errorf("chunk %+v, %v", c, err)
			}
		}
		return Result{}, nil // answers before the last chunk
	})
	if err != nil {
		t.Fatal(err)
	}
	lk, err := callee.current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The fake invocation reuses the id of an answered one: the router
	// drops the handler's late answer quietly (an id it never issued would
	// be a protocol violation).
	if _, err := caller.Call(ctx, "com.stream", wamp.List{"warm"}, nil); err != nil {
		t.Fatal(err)
	}
	const id = wamp.ID(1) // the router's first invocation id for this callee
	chunk := func(progress bool, arg string) *wamp.Invocation {
		d := wamp.Dict{}
		if progress {
			d["progress"] = true
		}
		return &wamp.Invocation{Request: id, Registration: reg.ID, Details: d, Payload: wamp.Payload{Args: wamp.List{arg}}}
	}
	lk.route(chunk(true, "first"))
	lk.route(chunk(true, "second"))
	for { // until the handler answered and the invocation is gone
		lk.mu.Lock()
		_, running := lk.invs[id]
		lk.mu.Unlock()
		if !running {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("the handler did not finish")
		case <-time.After(time.Millisecond):
		}
	}
	lk.route(chunk(true, "late"))
	lk.route(chunk(false, "late-last"))

	// One handler at a time, in arrival order: a run for the late chunks
	// would come before this call's.
	if _, err := caller.Call(ctx, "com.stream", wamp.List{"real"}, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := fmt.Sprint(runs)
	mu.Unlock()
	if got != "[warm first real]" {
		t.Fatalf("handler runs %s, want [warm first real]", got)
	}
	var inv Invocation
	if _, err := inv.NextChunk(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("NextChunk of an ordinary invocation = %v, want io.EOF", err)
	}
}
