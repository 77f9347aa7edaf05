package router_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// BenchmarkSessionOpenClose measures one anonymous session's life per
// operation: connect, HELLO … WELCOME, GOODBYE … GOODBYE, close, over
// loopback RawSocket and WebSocket.
func BenchmarkSessionOpenClose(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"tcp", "ws"} {
		b.Run(kind, func(b *testing.B) {
			srv := routertest.Start(b)
			url := srv.URL(kind)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tc := dialConn(b, url, codec.MsgPack)
				if _, ok := rawRPC(b, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
					b.Fatal("no WELCOME")
				}
				if _, ok := rawRPC(b, ctx, tc, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal}).(*wamp.Goodbye); !ok {
					b.Fatal("no GOODBYE reply")
				}
				tc.Close()
			}
		})
	}
}

// idleChild makes the test binary a client process for BenchmarkIdleSession:
// "URL N" holds N joined sessions, prints "ready", and closes them when its
// stdin closes.
const idleChild = "TOLLGATE_TEST_IDLE_CLIENTS"

// BenchmarkIdleSession holds b.N joined sessions whose clients live in a
// child process, so every figure is the router's own: heap plus goroutine
// stacks per session after a GC (B/session, the deterministic one),
// goroutines per session, and resident memory per session and, once the
// sessions closed, above the baseline (RSS, which the runtime's heap goal
// and scavenger move). Use -benchtime 2000x … 8000x. With
// TOLLGATE_IDLE_HEAPPROFILE=file it writes a heap profile while they are
// held.
func BenchmarkIdleSession(b *testing.B) {
	// "subscribed": each session subscribed to a topic of its own before
	// going quiet (its read loop has handled a request).
	for _, kind := range []string{"tcp", "ws", "tcp/subscribed"} {
		b.Run(kind, func(b *testing.B) {
			srv := routertest.Start(b)
			url, subscribe := srv.URL(strings.TrimSuffix(kind, "/subscribed")), strings.HasSuffix(kind, "/subscribed")
			if subscribe {
				url += "#subscribe"
			}
			holdIdle(b, srv, url, 1) // warm up pools and lazily built tables
			base, baseStack, baseG, baseRSS := settled(b, srv, 0)
			b.ResetTimer()
			stop := holdIdle(b, srv, url, b.N)
			b.StopTimer()
			held, heldStack, heldG, heldRSS := settled(b, srv, b.N)
			if p := os.Getenv("TOLLGATE_IDLE_HEAPPROFILE"); p != "" && b.N > 1 {
				writeHeapProfile(b, p+"."+strings.ReplaceAll(kind, "/", "-"))
			}
			stop()
			_, _, _, afterRSS := settled(b, srv, 0)
			n := float64(b.N)
			b.ReportMetric(float64(held-base)/n, "B/session")
			b.ReportMetric(float64(heldStack-baseStack)/n, "stack-B/session")
			b.ReportMetric(float64(heldG-baseG)/n, "goroutines/session")
			b.ReportMetric(float64(heldRSS-baseRSS)/n/1024, "RSS-KiB/session")
			b.ReportMetric(float64(afterRSS-baseRSS)/(1<<20), "RSS-MiB-after-close")
		})
	}
}

// holdIdle starts a child process holding n sessions on url and waits until
// the router has them all; stop closes them and waits for the child.
func holdIdle(b *testing.B, srv *routertest.Server, url string, n int) (stop func()) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", idleChild, url, n))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop = func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("idle clients: %v", err)
		}
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		stop()
		b.Fatalf("idle clients did not get ready: %q %v", sc.Text(), sc.Err())
	}
	go func() {
		for sc.Scan() { // test framework output (PASS)
		}
	}()
	return stop
}

// TestIdleClients is BenchmarkIdleSession's child process (idleChild);
// otherwise it skips. A URL ending in #subscribe makes each session
// subscribe first.
func TestIdleClients(t *testing.T) {
	spec := os.Getenv(idleChild)
	if spec == "" {
		t.Skip("child process of BenchmarkIdleSession")
	}
	url, count, _ := strings.Cut(spec, " ")
	url, subscribe := strings.CutSuffix(url, "#subscribe")
	n, err := strconv.Atoi(count)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conns := make([]transport.Conn, 0, n)
	for range n {
		tc := dialConn(t, url, codec.MsgPack)
		if _, ok := rawRPC(t, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
			t.Fatal("no WELCOME")
		}
		if subscribe {
			topic := wamp.URI(fmt.Sprintf("com.example.idle.%d", len(conns)))
			if _, ok := rawRPC(t, ctx, tc, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: topic}).(*wamp.Subscribed); !ok {
				t.Fatal("no SUBSCRIBED")
			}
		}
		conns = append(conns, tc)
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadByte() // until the benchmark closes stdin
	for _, tc := range conns {
		tc.Close()
	}
}

// settled waits (at most 20 s) until the router holds sessions sessions,
// all parked (Options.IdleParkAfter, 2 s), and its goroutine count is stable, then returns its heap plus goroutine
// stacks after a GC, its goroutines and its resident memory.
func settled(b *testing.B, srv *routertest.Server, sessions int) (inuse, stack int64, goroutines int, rss int64) {
	b.Helper()
	deadline := time.Now().Add(20 * time.Second)
	last := -1
	for {
		inuse, stack = inUse()
		g := runtime.NumGoroutine()
		if st := srv.Router().Stats(); st.Sessions == sessions && st.Parked == sessions && g == last {
			return inuse, stack, g, procRSS(b)
		}
		if time.Now().After(deadline) {
			st := srv.Router().Stats()
			b.Fatalf("router did not settle at %d sessions: %d held, %d parked, %d goroutines", sessions, st.Sessions, st.Parked, g)
		}
		last = g
	}
}

// inUse is the live heap plus goroutine stacks after a GC (two: the first
// only moves sync.Pool contents to its victim cache), and the stacks.
func inUse() (inuse, stack int64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse), int64(m.StackInuse)
}

// procRSS is this process's resident memory (VmRSS).
func procRSS(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0 // not Linux: the RSS figures read 0
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	return 0
}

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}
