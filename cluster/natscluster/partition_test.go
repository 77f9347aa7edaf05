//go:build clusterchaos

package natscluster_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// proxyMesh starts n nodes whose every route goes through a proxy of its
// own: node i dials each other node j through proxy i→j (every node needs
// every route for JetStream); peers are told an address that does not
// answer, so no route forms around the proxies. links[i] are the proxies
// of node i's routes, both directions; cfg (optional) adjusts node i.
func proxyMesh(t *testing.T, n int, cfg func(i int, c *natscluster.Config)) ([]*node, [][]*proxy) {
	t.Helper()
	nodes := make([]*node, n)
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	links := make([][]*proxy, n)
	for i := range nodes {
		c := natscluster.Config{Node: fmt.Sprintf("n%d", i), Listen: addrs[i], Advertise: "127.0.0.1:1", RegistryReplicas: 3}
		for j := range n {
			if j == i {
				continue
			}
			p := newProxy(t, addrs[j])
			c.Routes = append(c.Routes, "nats-route://"+p.addr())
			links[i], links[j] = append(links[i], p), append(links[j], p)
		}
		if cfg != nil {
			cfg(i, &c)
		}
		nc, err := natscluster.New(c)
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = &node{c: nc, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = nc })}
	}
	return nodes, links
}

// TestPartition: node n2 is cut off from n0 and n1 by freezing the
// proxies its routes go through. The majority drops it within 2 s, its
// janitor frees the single procedure n2 held, and n0 registers it; n2
// refuses REGISTER (tollgate.error.cluster_unavailable), fences itself
// after partition.drain_after (its session gets GOODBYE
// tollgate.close.cluster_fenced) and, healed, rejoins with a new
// incarnation. After the heal the procedure has one callee everywhere
// (n0's), and n2 cannot register it again.
func TestPartition(t *testing.T) {
	const n = 3
	nodes, links := proxyMesh(t, n, func(_ int, c *natscluster.Config) { c.DrainAfter = 3 * time.Second })
	cut := links[2] // the proxies between n2 and the others
	waitMembers(t, nodes, n)
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	noop := func(context.Context, *client.Invocation) (*client.Result, error) { return nil, nil }
	s := dial(t, nodes[2])
	if _, err := s.Register(context.Background(), "com.test.held", noop); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, nodes, "com.test.held", wamp.MatchExact, 1)
	old := nodes[2].c.Members()

	start := time.Now()
	for _, p := range cut {
		p.freeze(true)
	}
	waitMembers(t, nodes[:2], 2)
	detected := time.Since(start)
	t.Logf("partition detected by the majority after %v", detected)
	if detected > 2*time.Second {
		t.Errorf("partition detected after %v, want <= 2s", detected)
	}
	waitFor(t, "n2 unavailable", func() bool { return !nodes[2].c.Available() })
	t.Logf("n2 unavailable after %v", time.Since(start))
	if _, err := s.Register(context.Background(), "com.test.minority", noop); !isCallError(err, "tollgate.error.cluster_unavailable") {
		t.Errorf("REGISTER on the cut-off node: %v, want tollgate.error.cluster_unavailable", err)
	}
	// The majority's janitor frees n2's single procedure (the registry's
	// stream may first elect a leader without n2), and n0 takes it.
	ctx := testCtx(t)
	waitFor(t, "n2's callee gone from the bucket", func() bool {
		return nodes[0].c.StoredCallees(ctx, realm, "com.test.held", wamp.MatchExact) == 0
	})
	t.Logf("n2's callee gone from the bucket after %v", time.Since(start))
	// A REGISTER waits for its revision to reach this node's replica; the
	// watch renews itself, which needs the JetStream meta leader, which
	// may have been n2 (an election takes seconds): retry while the
	// registry says unavailable.
	s0 := dial(t, nodes[0])
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, err := s0.Register(context.Background(), "com.test.held", noop)
		if err == nil {
			break
		}
		if !isCallError(err, "tollgate.error.cluster_unavailable") || time.Now().After(deadline) {
			t.Fatalf("the majority cannot register n2's procedure: %v", err)
		}
	}
	t.Logf("n2's single procedure registered on n0 after %v", time.Since(start))
	select {
	case <-s.Done():
		t.Logf("n2 fenced itself after %v", time.Since(start))
	case <-time.After(15 * time.Second):
		t.Fatal("the cut-off node did not close its session after drain_after")
	}

	for _, p := range cut {
		p.freeze(false)
	}
	waitMembers(t, nodes, n)
	t.Logf("healed: 3 members again after %v", time.Since(start))
	for _, m := range nodes[0].c.Members() {
		if m.Node == "n2" && m.Incarnation == old[2].Incarnation {
			t.Errorf("n2 rejoined with its old incarnation")
		}
	}
	for _, nd := range nodes {
		waitFor(t, nd.c.Node()+"'s replica with n0's callee only", func() bool {
			cs := nd.c.Callees(realm, "com.test.held", wamp.MatchExact)
			return len(cs) == 1 && cs[0].Node == "n0"
		})
	}
	t.Logf("every replica has n0's callee only after %v", time.Since(start))
	// Read through n0: a KV get is served by the nearest stream replica,
	// and n2's may still be catching up after the heal.
	if got := nodes[0].c.StoredCallees(ctx, realm, "com.test.held", wamp.MatchExact); got != 1 {
		t.Errorf("the bucket holds %d callees of the single procedure after the heal, want 1", got)
	}
	s2 := dial(t, nodes[2])
	if _, err := s2.Register(context.Background(), "com.test.held", noop); !isCallError(err, wamp.ErrProcedureAlreadyExists) {
		t.Errorf("REGISTER of n0's procedure on the healed node: %v, want procedure_already_exists", err)
	}
	if _, err := s2.Register(context.Background(), "com.test.healed", noop); err != nil {
		t.Errorf("REGISTER on the healed node: %v", err)
	}
}
