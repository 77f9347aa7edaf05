package chaos_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/chaos"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
)

// Many idle connections from one address: past MaxConnectionsPerIP the
// router closes each at accept; closing the held ones frees the slots.
func TestFDPressure(t *testing.T) {
	t.Parallel()
	const perIP, extra = 8, 24
	srv := routertest.Start(t, func(o *router.Options) { o.MaxConnectionsPerIP = perIP })
	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := range perIP + extra {
		c, err := net.Dial("tcp", srv.Addr(kinds[i%2]))
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
	}
	// Exactly the extra ones are closed by the router (EOF) once it has
	// accepted them all; the other perIP stay open (their reads time out).
	deadline := time.Now().Add(10 * time.Second)
	for srv.Router().Stats().RefusedConnections < extra && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	closed := 0
	for _, c := range held {
		if chaos.WaitClosed(ctxT(t, 200*time.Millisecond), c) == nil {
			closed++
		}
	}
	if closed != extra {
		t.Errorf("%d connections closed, want %d", closed, extra)
	}
	if got := srv.Router().Stats().RefusedConnections; got != extra {
		t.Errorf("RefusedConnections = %d, want %d", got, extra)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	// The slots come free as the router sees the closes: bounded retry.
	deadline = time.Now().Add(5 * time.Second)
	for _, kind := range kinds {
		for {
			err := roundTrip(ctxT(t, 5*time.Second), srv.URL(kind))
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("fresh session on %s after the attack: %v", kind, err)
			}
		}
	}
}

// A 16 MiB frame header before HELLO is over the pre-join limit: the
// router closes each such connection at once, without buffering.
func TestPreJoinHugeFrame(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			const n = 20
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := ctxT(t, 5*time.Second)
					c, err := chaos.Handshake(ctx, kind, srv.Addr(kind))
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					if err := chaos.AnnounceFrame(c, kind, chaos.MaxRawSocketFrame, []byte(`[1,"realm1"`)); err != nil {
						errs <- err
						return
					}
					errs <- chaos.WaitClosed(ctx, c)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			healthy(t, srv, kind)
		})
	}
}

// Connections that never finish the handshake are closed at HelloTimeout
// from accept, whatever they send: transport handshake only, a HELLO one
// byte at a time (slow-loris), an HTTP keep-alive GET / left idle.
func TestHandshakeStall(t *testing.T) {
	t.Parallel()
	const hello = 300 * time.Millisecond
	srv := routertest.Start(t, func(o *router.Options) { o.HelloTimeout = hello })
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			before := srv.Router().Stats().HandshakeTimeouts
			ctx := ctxT(t, 5*time.Second)
			idle, err := chaos.Handshake(ctx, kind, srv.Addr(kind))
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			loris, err := chaos.Handshake(ctx, kind, srv.Addr(kind))
			if err != nil {
				t.Fatal(err)
			}
			defer loris.Close()
			start := time.Now()
			// The trickle ends with a write error once the router closes.
			body := []byte(`[1,"realm1",{"roles":{"caller":{}}}]` + string(make([]byte, 200)))
			chaos.AnnounceFrame(loris, kind, len(body), nil)
			// Silent: not even the transport handshake (the edge's guard
			// closes it and counts it; the others are WAMP sessions by
			// then, which time out their HELLO).
			silent, err := net.Dial("tcp", srv.Addr(kind))
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			trickled := make(chan error, 1)
			go func() { trickled <- chaos.Trickle(ctx, loris, body, 20*time.Millisecond) }()
			for _, c := range []net.Conn{idle, loris, silent} {
				if err := chaos.WaitClosed(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if err := <-trickled; err == nil {
				t.Error("the whole slow-loris HELLO went through")
			}
			if d := time.Since(start); d > hello+2*time.Second {
				t.Errorf("closed after %v, want about %v", d, hello)
			}
			if got := srv.Router().Stats().HandshakeTimeouts - before; got < 1 {
				t.Errorf("HandshakeTimeouts grew by %d, want ≥ 1", got)
			}
			healthy(t, srv, kind)
		})
	}
	t.Run("http-keepalive", func(t *testing.T) {
		ctx := ctxT(t, 5*time.Second)
		c, err := chaos.KeepAliveGET(ctx, srv.Addr(chaos.WebSocket))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := chaos.WaitClosed(ctx, c); err != nil {
			t.Fatal(err)
		}
		healthy(t, srv, chaos.WebSocket)
	})
}
