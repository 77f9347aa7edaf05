package natscluster_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
)

// Figures of cluster-design.md §8 rows 14 and 15 (docs/cluster.md,
// "Startup and memory"):
//
//	go test -run '^$' -bench 'Startup|IdleNodeMemory' -benchtime 10x ./cluster/natscluster

// bootNode starts node i of a cluster routed to first ("" for the first
// node itself) with its router.
func bootNode(tb testing.TB, i int, first string, tune func(*natscluster.Config)) *node {
	tb.Helper()
	cfg := natscluster.Config{Node: fmt.Sprintf("n%d", i), Listen: "127.0.0.1:0"}
	if first != "" {
		cfg.Routes = []string{"nats-route://" + first}
	}
	if tune != nil {
		tune(&cfg)
	}
	c, err := natscluster.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return &node{c: c, srv: routertest.Start(tb, func(o *router.Options) { o.Cluster = c })}
}

// crossTraffic waits until an event published on from reaches a new
// subscriber on to: the nodes serve cross-node traffic.
func crossTraffic(tb testing.TB, from, to *node) {
	tb.Helper()
	rec := newRecorder()
	subscribe(tb, dial(tb, to), "com.end", rec.fn)
	waitInterest(tb, from, "com.end", 1)
	publish(tb, dial(tb, from), "com.end", nil)
	rec.wait(tb, "cross-node event")
}

func shutdown(tb testing.TB, nodes ...*node) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, nd := range nodes {
		if err := nd.srv.Router().Shutdown(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkStartup: one op is a 3-node embedded cluster from nothing to
// an event from n0 delivered on n2 (plain routes, and with route auth and
// mutual TLS), or (restart) n2 shut down and started again to the same.
func BenchmarkStartup(b *testing.B) {
	dir := b.TempDir()
	tf := certFiles(b, dir, "cluster")
	secure := func(c *natscluster.Config) {
		c.RouteTLS, c.RouteAuth = &tf, &natscluster.RouteAuth{User: "tg", Password: "pw"}
	}
	for _, v := range []struct {
		name string
		tune func(*natscluster.Config)
	}{{"cold", nil}, {"cold-tls", secure}} {
		b.Run(v.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				start := time.Now()
				n0 := bootNode(b, 0, "", v.tune)
				n1, n2 := bootNode(b, 1, n0.c.RouteAddr(), v.tune), bootNode(b, 2, n0.c.RouteAddr(), v.tune)
				crossTraffic(b, n0, n2)
				total += time.Since(start)
				b.StopTimer()
				shutdown(b, n0, n1, n2)
				b.StartTimer()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/start")
			b.ReportMetric(0, "ns/op")
		})
	}
	b.Run("restart", func(b *testing.B) {
		n0 := bootNode(b, 0, "", nil)
		n1, n2 := bootNode(b, 1, n0.c.RouteAddr(), nil), bootNode(b, 2, n0.c.RouteAddr(), nil)
		crossTraffic(b, n0, n2)
		var total time.Duration
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			shutdown(b, n2)
			b.StartTimer()
			start := time.Now()
			n2 = bootNode(b, 2, n0.c.RouteAddr(), nil)
			crossTraffic(b, n0, n2)
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/restart")
		b.ReportMetric(0, "ns/op")
		_ = n1
	})
}

// BenchmarkIdleNodeMemory: what three idle embedded-NATS nodes (server,
// routes, the node's connection and dispatcher; no router) add to this
// process, per node: the Go heap and stacks in use after a GC, and the
// RSS growth (VmRSS; only the first op's is meaningful, later ops reuse
// pages the first one freed, so run it with -benchtime 1x).
func BenchmarkIdleNodeMemory(b *testing.B) {
	const n = 3
	var heap, rss float64
	for range b.N {
		h0, r0 := memNow(b)
		var cs []*natscluster.Cluster
		for i := range n {
			cfg := natscluster.Config{Node: fmt.Sprintf("m%d", i), Listen: "127.0.0.1:0"}
			if i > 0 {
				cfg.Routes = []string{"nats-route://" + cs[0].RouteAddr()}
			}
			c, err := natscluster.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			cs = append(cs, c)
		}
		waitFor(b, "full mesh", func() bool {
			for _, c := range cs {
				if c.Peers() != n-1 {
					return false
				}
			}
			return true
		})
		h1, r1 := memNow(b)
		heap += float64(h1-h0) / n
		rss += float64(r1-r0) / n
		for _, c := range cs {
			c.Stop()
		}
	}
	b.ReportMetric(heap/float64(b.N)/(1<<20), "MiB-heap/node")
	b.ReportMetric(rss/float64(b.N)/(1<<20), "MiB-rss/node")
	b.ReportMetric(0, "ns/op")
}

// memNow is the Go heap and stacks in use after a GC, and the process's
// resident set, in bytes.
func memNow(b *testing.B) (heap, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kb << 10
		}
	}
	return int64(ms.HeapInuse + ms.StackInuse), rss
}
