// Package routertest starts in-process routers on 127.0.0.1:0 for tests,
// with every transport: WebSocket (path /ws), RawSocket over TCP, and
// RawSocket over a Unix socket. Each Server is shut down by t.Cleanup.
package routertest

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
)

// Realm is the realm every test router serves unless the options replace
// the realm list.
const Realm = "realm1"

// Server is a running test router.
type Server struct {
	r      *router.Router
	wsAddr string
	tcp    string
	unix   string
}

// Start starts a router with realm "realm1" (strict URIs) and applies the
// option functions before creating it. It fails the test on error.
func Start(t testing.TB, opts ...func(*router.Options)) *Server {
	t.Helper()
	o := router.Options{
		Realms:         []router.RealmOptions{{Name: Realm}},
		GoodbyeTimeout: time.Second,
	}
	if os.Getenv("TOLLGATE_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	for _, f := range opts {
		f(&o)
	}
	r, err := router.New(o)
	if err != nil {
		t.Fatalf("routertest: %v", err)
	}
	s := &Server{r: r}
	s.wsAddr = s.listen(t, "tcp", router.Transport{Name: "ws", WebSocket: map[string]router.WebSocketOptions{"/ws": {}}}).Addr().String()
	s.tcp = s.listen(t, "tcp", router.Transport{Name: "tcp", RawSocket: &router.RawSocketOptions{}}).Addr().String()
	s.unix = s.listen(t, "unix", router.Transport{Name: "unix", RawSocket: &router.RawSocketOptions{}}).Addr().String()
	// Runs before the listeners' own cleanups (which then find the router
	// shut down): a bounded shutdown that reports a failure.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("routertest: shutdown: %v", err)
		}
	})
	return s
}

// listen serves tr on a new listener until the router shuts down: on a
// socket in a new temporary directory for network "unix", else on TCP
// 127.0.0.1:0.
func (s *Server) listen(t testing.TB, network string, tr router.Transport) net.Listener {
	t.Helper()
	addr := "127.0.0.1:0"
	if network != "unix" {
		network = "tcp"
	} else {
		dir, err := os.MkdirTemp("", "tollgate")
		if err != nil {
			t.Fatalf("routertest: %v", err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "s.sock") // short path: sun_path is ~100 bytes
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatalf("routertest: listen %s %s: %v", network, addr, err)
	}
	done := make(chan error, 1)
	go func() { done <- s.r.ServeTransport(ln, tr) }()
	t.Cleanup(func() {
		s.r.Shutdown(context.Background())
		<-done
	})
	return ln
}

// Serve serves one more transport on the router, on a new listener of
// network "tcp" (127.0.0.1:0) or "unix", and returns its URL: ws://… when
// t has WebSocket endpoints, with the alphabetically first non-empty path
// (/ws when t only has the any-path endpoint ""), tcp://… or unix://… for
// RawSocket. Use it for transports with their own auth (a backdoor for
// backend components, say). Stopped with the router.
func (s *Server) Serve(t testing.TB, network string, tr router.Transport) string {
	t.Helper()
	ln := s.listen(t, network, tr)
	switch {
	case len(tr.WebSocket) > 0:
		var paths []string
		for p := range tr.WebSocket {
			if p != "" {
				paths = append(paths, "/"+strings.TrimPrefix(p, "/"))
			}
		}
		path := "/ws" // any path is served
		if len(paths) > 0 {
			path = slices.Min(paths)
		}
		return "ws://" + ln.Addr().String() + path
	case network == "unix":
		return "unix://" + ln.Addr().String()
	}
	return "tcp://" + ln.Addr().String()
}

// Router returns the running router.
func (s *Server) Router() *router.Router { return s.r }

// URL returns the URL of one transport: kind "ws" (ws://127.0.0.1:port/ws),
// "tcp" (tcp://127.0.0.1:port, RawSocket) or "unix" (unix:///path).
func (s *Server) URL(kind string) string {
	switch kind {
	case "ws":
		return "ws://" + s.wsAddr + "/ws"
	case "tcp":
		return "tcp://" + s.tcp
	case "unix":
		return "unix://" + s.unix
	}
	panic("routertest: unknown transport kind " + kind)
}

// Addr returns the host:port (or socket path for "unix") of a transport.
func (s *Server) Addr(kind string) string {
	switch kind {
	case "ws":
		return s.wsAddr
	case "tcp":
		return s.tcp
	case "unix":
		return s.unix
	}
	panic("routertest: unknown transport kind " + kind)
}
