package natscluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

const localRealm = "local"

// withLocalRealm adds a realm every node serves but keeps node-local.
func withLocalRealm(o *router.Options) {
	o.Realms = append(o.Realms, router.RealmOptions{Name: localRealm})
	o.ClusterRealms = []wamp.URI{realm}
}

func dialRealm(t testing.TB, nd *node, r wamp.URI) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, nd.srv.URL("tcp"), client.Config{Realm: r, Serializer: "cbor", MaxConcurrentHandlers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// TestNodeLocalRealm: with ClusterRealms [realm1], realm1 spans the
// nodes and "local", served by every node under the same name, stays on
// each: its publications, subscriptions, registrations, calls and
// session meta events send nothing to NATS; a subscriber of it on n1
// gets nothing of n0's; `single` registers on two nodes; session counts
// are the node's own.
func TestNodeLocalRealm(t *testing.T) {
	nodes := startRPCNodes(t, 3, withLocalRealm)
	ctx := testCtx(t)
	n0, n1 := nodes[0], nodes[1]

	// n1 subscribes in both realms: local first, then realm1, so once
	// realm1's interest reached n0 the local one would have too.
	got := make(chan wamp.URI, 8)
	on := func(_ context.Context, e *client.Event) { got <- wamp.URI(e.Args[0].(string)) }
	subscribe(t, dialRealm(t, n1, localRealm), "com.t", on)
	subscribe(t, dialRealm(t, n1, realm), "com.t", on)
	waitInterest(t, n0, "com.t", 1)
	if n := n0.c.InterestCount(localRealm, "com.t"); n != 0 {
		t.Errorf("n1's node-local subscription reached n0: interest %d", n)
	}

	// Everything in the local realm on n0 publishes nothing to NATS.
	before := n0.c.Stats().Published
	l0 := dialRealm(t, n0, localRealm)
	publish(t, l0, "com.t", wamp.List{"local"})
	register(t, l0, "com.single", func(context.Context, *client.Invocation) (client.Result, error) {
		return client.Result{Args: wamp.List{"n0"}}, nil
	})
	if r, err := l0.Call(ctx, "com.single", nil, nil); err != nil || r.Arg(0) != "n0" {
		t.Fatalf("local call on n0: %v %v", r, err)
	}
	if n, _ := wamp.AsInt(callArg(t, l0, "wamp.session.count")); n != 1 {
		t.Errorf("wamp.session.count in the local realm on n0 = %d, want 1 (n1's local sessions are not counted)", n)
	}
	if err := l0.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after := n0.c.Stats().Published; after != before {
		t.Errorf("the node-local realm published %d messages to NATS", after-before)
	}

	// realm1 still crosses: its event, published after the local one on
	// the same path, arrives; the local one never does.
	publish(t, dialRealm(t, n0, realm), "com.t", wamp.List{"clustered"})
	if e := <-got; e != "clustered" {
		t.Fatalf("n1 got %q first, want realm1's event only", e)
	}

	// `single` in the local realm on n1 too; in realm1 it is unique.
	l1 := dialRealm(t, n1, localRealm)
	register(t, l1, "com.single", func(context.Context, *client.Invocation) (client.Result, error) {
		return client.Result{Args: wamp.List{"n1"}}, nil
	})
	if r, err := l1.Call(ctx, "com.single", nil, nil); err != nil || r.Arg(0) != "n1" {
		t.Errorf("local call on n1: %v %v", r, err)
	}
	if cs := n1.c.Callees(localRealm, "com.single", wamp.MatchExact); len(cs) != 0 {
		t.Errorf("the registry has the node-local registration: %v", cs)
	}
	register(t, dialRealm(t, n0, realm), "com.single", echo)
	if _, err := dialRealm(t, n1, realm).Register(ctx, "com.single", echo); errURI(err) != wamp.ErrProcedureAlreadyExists {
		t.Errorf("single in the clustered realm on a second node: %v, want procedure_already_exists", err)
	}
	select {
	case e := <-got:
		t.Errorf("n1 got another event %q", e)
	default:
	}
}

func callArg(t testing.TB, s *client.Session, proc wamp.URI) any {
	t.Helper()
	r, err := s.Call(context.Background(), proc, nil, nil)
	if err != nil {
		t.Fatalf("%s: %v", proc, err)
	}
	return r.Arg(0)
}

// TestClusterRealmsOptions: router.New refuses a ClusterRealms name it
// does not serve, and Reload refuses to move a realm into or out of the
// cluster.
func TestClusterRealmsOptions(t *testing.T) {
	c, err := natscluster.New(natscluster.Config{Node: "solo"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	_, err = router.New(router.Options{Realms: []router.RealmOptions{{Name: realm}}, Cluster: c, ClusterRealms: []wamp.URI{"nope"}})
	if err == nil || !strings.Contains(err.Error(), `realm "nope" is not one of this router's realms`) {
		t.Errorf("unknown ClusterRealms name: %v", err)
	}
	c2, err := natscluster.New(natscluster.Config{Node: "solo2"})
	if err != nil {
		t.Fatal(err)
	}
	srv := routertest.Start(t, func(o *router.Options) { o.Cluster = c2 }, withLocalRealm)
	opts := router.Options{Realms: []router.RealmOptions{{Name: realm}, {Name: localRealm}}, ClusterRealms: []wamp.URI{realm}}
	if err := srv.Router().Reload(opts); err != nil {
		t.Errorf("unchanged reload: %v", err)
	}
	opts.ClusterRealms = nil
	if err := srv.Router().Reload(opts); err == nil || !strings.Contains(err.Error(), "(local): moving a realm into or out of the cluster") {
		t.Errorf("reload clustering the local realm: %v", err)
	}
}
