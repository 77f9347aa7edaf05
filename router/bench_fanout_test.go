package router_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// BenchmarkFanout measures pub/sub 1 → N through an in-process router over
// loopback: one publisher keeps 4 acknowledged PUBLISHes in flight (as
// tollgate-load's 1 → 1000 scenario does), N MessagePack subscribers read
// every EVENT. One op is one publication; the figures per delivered event
// are ns/event, allocs/event (whole process: router and the subscribers'
// reads) and writes/event (write(2) calls of the process, from
// /proc/self/io: the router's writes, as the subscribers only read).
func BenchmarkFanout(b *testing.B) {
	for _, kind := range []string{"tcp", "ws"} {
		for _, n := range []int{10, 1000} {
			b.Run(fmt.Sprintf("%s/%d", kind, n), func(b *testing.B) { fanout(b, kind, n, 4) })
		}
	}
}

// BenchmarkFanoutWindow64 is 1 → 1000 with 64 publications in flight:
// the router's fan-out loop then queues many events per subscriber before
// any is written (run it with taskset -c 0 for the one-core case).
func BenchmarkFanoutWindow64(b *testing.B) {
	for _, kind := range []string{"tcp", "ws"} {
		b.Run(kind+"/1000", func(b *testing.B) { fanout(b, kind, 1000, 64) })
	}
}

func fanout(b *testing.B, kind string, n, window int) {
	ctx := context.Background()
	srv := routertest.Start(b)
	url := srv.URL(kind)
	join := func() transport.Conn {
		tc := dialConn(b, url, codec.MsgPack)
		b.Cleanup(func() { tc.Close() })
		if _, ok := rawRPC(b, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
			b.Fatal("no WELCOME")
		}
		return tc
	}
	// The reader that counts the last expected event closes all.
	var got, want atomic.Int64
	want.Store(-1)
	all := make(chan struct{})
	var readers sync.WaitGroup
	b.Cleanup(readers.Wait) // once the connections closed (cleanups run last first)
	for range n {
		sub := join()
		if _, ok := rawRPC(b, ctx, sub, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.bench.fanout"}).(*wamp.Subscribed); !ok {
			b.Fatal("subscribe failed")
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				if _, err := sub.Read(ctx); err != nil {
					return
				}
				if got.Add(1) == want.Load() {
					close(all)
				}
			}
		}()
	}
	pub := join()
	acks := make(chan struct{}, window)
	go func() { // one PUBLISHED per publication frees a slot of the window
		for {
			if _, err := pub.Read(ctx); err != nil {
				return
			}
			<-acks
		}
	}()
	frame, err := codec.MsgPack.Encode(nil, &wamp.Publish{Request: 1, Options: wamp.Dict{"acknowledge": true},
		Topic: "com.bench.fanout", Payload: wamp.Payload{Args: wamp.List{int64(1), strings.Repeat("x", 64)}}})
	if err != nil {
		b.Fatal(err)
	}
	want.Store(int64(b.N * n))
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	w0 := writeSyscalls(b)
	g0 := goroutinesCreated()
	c0 := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		acks <- struct{}{}
		if err := pub.Write(ctx, [][]byte{frame}); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(30 * time.Second):
		b.Fatalf("%d of %d events arrived in 30 s", got.Load(), want.Load())
	}
	b.StopTimer()
	cpu := cpuTime(b) - c0
	runtime.ReadMemStats(&m1)
	events := float64(want.Load())
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/events, "allocs/event")
	b.ReportMetric(float64(writeSyscalls(b)-w0)/events, "writes/event")
	b.ReportMetric(float64(goroutinesCreated()-g0)/events, "goroutines/event")
	b.ReportMetric(float64(cpu.Nanoseconds())/events, "cpu-ns/event")
}

// cpuTime is the CPU time this process used so far (both ends of the
// benchmark's connections): unlike ns/event, it does not count the time
// other processes on a shared machine took the CPU.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// goroutinesCreated is the count of goroutines this process started.
func goroutinesCreated() uint64 {
	s := []rtmetrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	rtmetrics.Read(s)
	if s[0].Value.Kind() != rtmetrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// writeSyscalls returns this process's write(2) count so far (syscw in
// /proc/self/io).
func writeSyscalls(b *testing.B) int64 {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		b.Skip("no /proc/self/io:", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "syscw: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no syscw in /proc/self/io")
	return 0
}
