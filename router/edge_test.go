package router_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// closedWithin reports whether the router closes c within d while feed
// (if any) keeps writing to it; feed's write errors end it.
func closedWithin(t *testing.T, c net.Conn, d time.Duration, feed func(net.Conn) error) bool {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, c)
		if err == nil {
			err = io.EOF
		}
		done <- err
	}()
	stop := make(chan struct{})
	defer close(stop)
	if feed != nil {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if feed(c) != nil {
					return
				}
			}
		}()
	}
	select {
	case <-done:
		return true
	case <-time.After(d):
		c.Close()
		<-done
		return false
	}
}

// hostOf is the host:port of a ws:// or tcp:// URL.
func hostOf(url string) string {
	h := url[strings.Index(url, "://")+3:]
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return h
}

func tcpDial(t *testing.T, url string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", hostOf(url))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// A connection over the per-IP (or per-listener) limit is closed at accept;
// one slot freed, a new connection joins.
func TestConnectionLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		opt   func(*router.Options)
		trans func(router.Transport) router.Transport
	}{
		{"per-ip", func(o *router.Options) { o.MaxConnectionsPerIP = 2 }, func(tr router.Transport) router.Transport { return tr }},
		{"per-listener", func(o *router.Options) {}, func(tr router.Transport) router.Transport { tr.MaxConnections = 2; return tr }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := routertest.Start(t, tc.opt)
			url := "tcp://" + hostOf(srv.Serve(t, "tcp", tc.trans(router.DefaultTransport())))
			// The WebSocket one is hijacked from net/http: its slot must come
			// back when it closes too.
			first := dialURL(t, "ws://"+hostOf(url)+"/ws", "json")
			first.join()
			second := dialURL(t, url, "json")
			second.join()
			third := tcpDial(t, url)
			if !closedWithin(t, third, 5*time.Second, nil) {
				t.Fatal("the connection over the limit stayed open")
			}
			if got := srv.Router().Stats().RefusedConnections; got != 1 {
				t.Errorf("RefusedConnections = %d, want 1", got)
			}
			first.tc.Close()
			first.expectClosed()
			// The router frees the slot when it sees the close: retry until then.
			deadline := time.Now().Add(5 * time.Second)
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				tc, err := rawsocket.Dial(ctx, "tcp", hostOf(url), rawsocket.DialOptions{Serializer: codec.JSON})
				if err == nil {
					m := rawRPC(t, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}})
					cancel()
					tc.Close()
					if m.MessageType() != wamp.TypeWelcome {
						t.Fatalf("got %v, want WELCOME", m.MessageType())
					}
					break
				}
				cancel()
				if time.Now().After(deadline) {
					t.Fatal("no connection admitted after one closed")
				}
			}
		})
	}
}

// Connections without a WAMP session are closed at the handshake deadline
// from accept, whatever they send.
func TestHandshakeDeadlineFromAccept(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) { o.HelloTimeout = 300 * time.Millisecond })
	url := "tcp://" + hostOf(srv.Serve(t, "tcp", router.DefaultTransport()))
	for _, tc := range []struct {
		name  string
		first []byte
		feed  func(net.Conn) error
	}{
		// Answered 426, then kept alive with a new request now and then.
		{"http keep-alive", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), func(c net.Conn) error {
			time.Sleep(50 * time.Millisecond) // pacing of the attack, not synchronisation
			_, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			return err
		}},
		{"http idle", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), nil},
		{"rawsocket handshake only", []byte{0x7F, 0xF1, 0, 0}, nil},
		{"slow loris header", []byte("GET /ws HTTP/1.1\r\n"), func(c net.Conn) error {
			time.Sleep(50 * time.Millisecond)
			_, err := c.Write([]byte("X"))
			return err
		}},
		{"silent", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tcpDial(t, url)
			if tc.first != nil {
				if _, err := c.Write(tc.first); err != nil {
					t.Fatal(err)
				}
			}
			if !closedWithin(t, c, 5*time.Second, tc.feed) {
				t.Fatal("the connection without a session stayed open")
			}
		})
	}
	// A real client still joins, and a joined session is not cut.
	p := dialURL(t, url, "json")
	p.join()
	p.expectNothing(500 * time.Millisecond)
	if srv.Router().Stats().HandshakeTimeouts == 0 {
		t.Error("HandshakeTimeouts not counted")
	}
}

// PreJoinMaxMessageSize is the transports' pre-join limit: a 1 MiB HELLO
// is refused by default and admitted when raised; after join, a 1 MiB
// CALL goes through either way.
func TestPreJoinMaxMessageSize(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	big := strings.Repeat("x", 1<<20)
	for _, raise := range []bool{false, true} {
		tr := router.Transport{Name: "edge", WebSocket: map[string]router.WebSocketOptions{"": {}}, RawSocket: &router.RawSocketOptions{}}
		if raise {
			tr.WebSocket[""] = router.WebSocketOptions{PreJoinMaxMessageSize: 2 << 20}
			tr.RawSocket.PreJoinMaxMessageSize = 2 << 20
		}
		wsURL := srv.Serve(t, "tcp", tr)
		tcpURL := "tcp://" + hostOf(wsURL)
		for _, url := range []string{tcpURL, wsURL} {
			t.Run(fmt.Sprintf("%s raised=%v", url[:2], raise), func(t *testing.T) {
				p := dialURL(t, url, "json")
				hello := &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles, "authextra": wamp.Dict{"pad": big}}}
				if raise {
					p.send(hello)
				} else {
					// The router may close while the 1 MiB is still being
					// written: a failed write is the refusal too.
					f, _ := p.c.Encode(nil, hello)
					wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					p.tc.Write(wctx, [][]byte{f})
					cancel()
				}
				if !raise {
					m, err := p.tryRecv(5 * time.Second)
					if err == nil {
						if _, ok := m.(*wamp.Abort); !ok {
							t.Fatalf("1 MiB HELLO answered %v, want ABORT or close", m.MessageType())
						}
					}
					p.expectClosed()
					p = dialURL(t, url, "json")
					p.join()
				} else {
					p.welcomed()
				}
				callee := dialURL(t, url, "json")
				callee.join()
				reg := callee.register("com.big", nil)
				p.send(&wamp.Call{Request: p.next(), Options: wamp.Dict{}, Procedure: "com.big", Payload: wamp.Payload{Args: wamp.List{big}}})
				inv := expect[*wamp.Invocation](callee)
				if args := argsOf(t, &inv.Payload); inv.Registration != reg || len(args) != 1 || args[0] != big {
					t.Fatalf("invocation lost the 1 MiB argument: %d args", len(args))
				}
				callee.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{big}}})
				if res := expect[*wamp.Result](p); len(argsOf(t, &res.Payload)) != 1 || argsOf(t, &res.Payload)[0] != big {
					t.Fatal("result lost the 1 MiB argument")
				}
			})
		}
	}
}

const emfileChild = "TOLLGATE_TEST_EMFILE_CHILD"

// With too few file descriptors, accept() fails with EMFILE: the router
// keeps its sessions, retries, and serves again once descriptors free up.
// The router runs in a child process with a lowered RLIMIT_NOFILE.
func TestAcceptSurvivesFDExhaustion(t *testing.T) {
	if os.Getenv(emfileChild) != "" {
		emfileRouter(t)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc/self/fd")
	}
	t.Parallel()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptSurvivesFDExhaustion$", "-test.count=1")
	cmd.Env = append(os.Environ(), emfileChild+"=1")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := bufio.NewScanner(stdout)
	if !out.Scan() || !strings.HasPrefix(out.Text(), "ADDR ") {
		t.Fatalf("child: %q", out.Text())
	}
	url := "tcp://" + strings.TrimPrefix(out.Text(), "ADDR ")
	warned := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "accept failed; retrying") {
				once = true
				close(warned)
			}
		}
	}()
	joined := dialURL(t, url, "json")
	joined.join()
	var idle []net.Conn
	for range 200 {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "tcp://"))
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
	}
	select {
	case <-warned:
	case <-time.After(10 * time.Second):
		t.Error("the child never reported an accept failure")
	}
	// The session from before still works, the router did not stop.
	joined.send(&wamp.Publish{Request: joined.next(), Options: wamp.Dict{"acknowledge": true}, Topic: "com.alive"})
	expect[*wamp.Published](joined)
	for _, c := range idle {
		c.Close()
	}
	p := dialURL(t, url, "json")
	p.join()
	stdin.Close()
	var st router.Stats
	if !out.Scan() || json.Unmarshal([]byte(strings.TrimPrefix(out.Text(), "STATS ")), &st) != nil {
		t.Fatalf("child stats: %q", out.Text())
	}
	if st.AcceptErrors == 0 {
		t.Error("AcceptErrors not counted")
	}
	cmd.Wait()
}

// emfileRouter is the child: a router with few descriptors left, serving
// until its stdin closes.
func emfileRouter(t *testing.T) {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	srv := routertest.Start(t, func(o *router.Options) {
		o.HelloTimeout = time.Minute // the guard must not be what frees descriptors
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	url := srv.Serve(t, "tcp", router.Transport{Name: "raw", RawSocket: &router.RawSocketOptions{}})
	lim := uint64(len(fds) + 30)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ADDR " + strings.TrimPrefix(url, "tcp://"))
	io.Copy(io.Discard, os.Stdin)
	b, _ := json.Marshal(srv.Router().Stats())
	fmt.Println("STATS " + string(b))
}
