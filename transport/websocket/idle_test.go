package websocket

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
)

// plainServer is startServer without the signalListener wrapper, whose
// connections cannot park (they do not expose their socket).
func plainServer(t *testing.T, o ServerOptions) *server {
	t.Helper()
	s := &server{results: make(chan acceptResult, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, o)
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		s.results <- acceptResult{c, err}
	}))
	s.url = "ws" + strings.TrimPrefix(s.URL, "http") + "/ws"
	t.Cleanup(s.Close)
	return s
}

// parkOnce waits in ReadOrIdle until the connection is idle, parks it and
// waits for the resume; a message read instead is returned.
func parkOnce(t *testing.T, c *Conn) []byte {
	t.Helper()
	if c.fr.rr == nil {
		t.Fatal("the connection cannot park")
	}
	m, err := c.ReadOrIdle(context.Background(), 10*time.Millisecond)
	if err != transport.ErrIdle {
		if err != nil {
			t.Fatalf("ReadOrIdle: %v", err)
		}
		return m
	}
	woke := make(chan struct{})
	if !c.Park(func() { close(woke) }) {
		t.Fatal("Park refused a plain socket")
	}
	<-woke
	return nil
}

// Keep-alive pings go on while the connection is parked: each pong
// resumes it, is consumed, and the connection parks again; messages still
// arrive.
func TestParkedKeepAlive(t *testing.T) {
	t.Parallel()
	s := plainServer(t, ServerOptions{PingInterval: 30 * time.Millisecond})
	cc, sc := dial(t, s, DialOptions{})
	go cc.Read(context.Background()) // answers pings until the cleanup closes it
	deadline := time.Now().Add(10 * time.Second)
	parks := 0
	for sc.ka.acked.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("%d pongs acknowledged after %d parkings", sc.ka.acked.Load(), parks)
		}
		if m := parkOnce(t, sc); m != nil {
			t.Fatalf("unexpected message %q", m)
		}
		parks++
	}
	if err := sc.Write(ctxT(t), [][]byte{[]byte(`[0]`)}); err != nil {
		t.Fatal(err)
	}
	// The client's reader is busy answering pings; a second client sends.
	cc2, sc2 := dial(t, s, DialOptions{})
	go cc2.Read(context.Background())
	if m := parkOnce(t, sc2); m != nil {
		t.Fatalf("unexpected message %q", m)
	}
	if err := cc2.Write(ctxT(t), [][]byte{[]byte(`[1]`)}); err != nil {
		t.Fatal(err)
	}
	for {
		if time.Now().After(deadline) {
			t.Fatal("the message did not arrive")
		}
		if m := parkOnce(t, sc2); m != nil {
			if string(m) != `[1]` {
				t.Fatalf("got %q", m)
			}
			break
		}
	}
}

// A parked connection whose peer stops answering pings is closed by the
// keep-alive, which resumes it: the read reports the keep-alive failure.
func TestParkedKeepAliveTimeout(t *testing.T) {
	t.Parallel()
	s := plainServer(t, ServerOptions{PingInterval: 30 * time.Millisecond})
	rawDial(t, s, "wamp.2.json") // never reads
	r := s.accepted(t)
	if r.err != nil {
		t.Fatal(r.err)
	}
	sc := r.c.(*Conn)
	if sc.fr.rr == nil {
		t.Fatal("the connection cannot park")
	}
	parked := false
	for {
		m, err := sc.ReadOrIdle(context.Background(), 10*time.Millisecond)
		if err == transport.ErrIdle {
			woke := make(chan struct{})
			if sc.Park(func() { close(woke) }) {
				parked = true
				<-woke
			}
			continue
		}
		if !parked {
			t.Fatal("never parked")
		}
		if err == nil || !strings.Contains(err.Error(), "keep-alive failed") {
			t.Fatalf("ReadOrIdle = %q, %v; want keep-alive failure", m, err)
		}
		return
	}
}
