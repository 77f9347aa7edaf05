package natscluster_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestStalledWatchRenewed: every node's registry watch consumer is
// deleted behind its back (as when the server it lived on goes), then
// n0 registers. n1 and n2 register nothing, so only the watch health
// check can notice: their replicas get the record within a few checks
// (nats.go alone would notice the consumer gone after 10 s).
func TestStalledWatchRenewed(t *testing.T) {
	const check = 200 * time.Millisecond
	nodes := startNodesWith(t, 3, func(*router.Options) {}, func(c *natscluster.Config) {
		c.WatchCheck, c.ClientListen = check, "127.0.0.1:0"
	})
	ctx := testCtx(t)
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(ctx); err != nil {
			t.Fatal(err)
		}
	}
	deleteWatches(t, nodes[0].c, 3)
	start := time.Now()
	register(t, dial(t, nodes[0]), "com.watched", echo)
	for _, nd := range nodes[1:] {
		within(t, start, 4*time.Second, "the record on "+nd.c.Node(), func() bool {
			return len(nd.c.Callees(realm, "com.watched", wamp.MatchExact)) == 1
		})
		if n := nd.c.Stats().WatchRenewals; n == 0 {
			t.Errorf("%s: no watch renewal counted", nd.c.Node())
		}
	}
	t.Logf("replicas caught up %v after the REGISTER", time.Since(start))
}

// TestStalledWatchSingleServer: a node of one (a JetStream without a
// meta group) renews its watch too: its REGISTER, waiting for its own
// revision, gets it.
func TestStalledWatchSingleServer(t *testing.T) {
	c, err := natscluster.New(natscluster.Config{Node: "solo", ClientListen: "127.0.0.1:0", WatchCheck: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	nd := &node{c: c, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = c })}
	if err := c.WaitRegistry(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	deleteWatches(t, c, 1)
	register(t, dial(t, nd), "com.watched", echo)
}

// deleteWatches deletes the registry's watch consumers (want of them,
// one per node) through c's client port.
func deleteWatches(t *testing.T, c *natscluster.Cluster, want int) {
	t.Helper()
	ctx := testCtx(t)
	nc, err := nats.Connect("nats://" + c.ClientAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := js.Stream(ctx, "KV_tg_regs")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range stream.ConsumerNames(ctx).Name() {
		names = append(names, n)
	}
	if len(names) != want {
		t.Fatalf("watch consumers %v, want %d (one per node)", names, want)
	}
	for _, n := range names {
		if err := stream.DeleteConsumer(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
}
