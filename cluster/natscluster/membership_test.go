package natscluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// startMembers starts n nodes (startMesh: every node has every route, so
// JetStream runs) with cfg and router options applied, and waits until
// every node counts n members.
func startMembers(t testing.TB, n int, cfg func(i int, c *natscluster.Config), ro ...func(*router.Options)) []*node {
	t.Helper()
	nodes := startMesh(t, n, cfg, ro...)
	waitMembers(t, nodes, n)
	return nodes
}

func waitMembers(t testing.TB, nodes []*node, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d members on every node", want), func() bool {
		for _, nd := range nodes {
			if len(nd.c.Members()) != want {
				return false
			}
		}
		return true
	})
}

// counter counts events by topic (and keeps the on_leave session ids).
type counter struct {
	mu     sync.Mutex
	n      map[wamp.URI]int
	leaves map[int64]int
}

func newCounter() *counter { return &counter{n: map[wamp.URI]int{}, leaves: map[int64]int{}} }

func (c *counter) fn(_ context.Context, e *client.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[e.Topic]++
	if e.Topic == "wamp.session.on_leave" {
		var id int64
		if len(e.Args) > 0 {
			id, _ = wamp.AsInt(e.Args[0])
		}
		c.leaves[id]++
	}
}

func (c *counter) get(topic wamp.URI) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[topic]
}

func (c *counter) left(id wamp.ID) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaves[int64(id)]
}

// TestNodeLoss: a node whose NATS server vanishes (no goodbye) is declared
// dead on the others within 2 s, their OnNodeLost hooks run once for it,
// and one janitor publishes its session's testament exactly once and
// on_leave for it.
func TestNodeLoss(t *testing.T) {
	for _, victim := range []int{0, 2} { // the route seed and smallest name; the last
		t.Run(fmt.Sprintf("n%d", victim), func(t *testing.T) { testNodeLoss(t, victim) })
	}
}

func testNodeLoss(t *testing.T, v int) {
	all := startMembers(t, 3, nil)
	var nodes []*node // the survivors, then the victim
	for i, nd := range all {
		if i != v {
			nodes = append(nodes, nd)
		}
	}
	nodes = append(nodes, all[v])
	victimName := all[v].c.Node()
	var mu sync.Mutex
	lost := map[string]int{}
	for _, nd := range nodes[:2] {
		me := nd.c.Node()
		nd.c.OnNodeLost(func(n string) {
			mu.Lock()
			lost[me+">"+n]++
			mu.Unlock()
		})
	}
	var counters []*counter
	for _, nd := range nodes[:2] {
		s, k := dial(t, nd), newCounter()
		subscribe(t, s, "com.test.will", k.fn)
		subscribe(t, s, "wamp.session.on_leave", k.fn)
		counters = append(counters, k)
	}
	for _, nd := range nodes[:2] { // either may be the janitor
		waitInterest(t, nd, "com.test.will", 2)
		waitInterest(t, nd, "wamp.session.on_leave", 2)
	}
	victim := dial(t, nodes[2])
	if _, err := victim.Call(context.Background(), "wamp.session.add_testament", wamp.List{"com.test.will", wamp.List{"bye"}}, nil); err != nil {
		t.Fatal(err)
	}
	for _, nd := range nodes[:2] {
		waitFor(t, "the victim's roster on "+nd.c.Node(), func() bool { s, ts := nd.c.Roster(victimName); return s == 1 && ts == 1 })
	}

	start := time.Now()
	nodes[2].c.Crash()
	waitMembers(t, nodes[:2], 2)
	t.Logf("declared dead on both survivors after %v", time.Since(start))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("node declared dead after %v, want <= 2s", d)
	}
	for i, k := range counters {
		waitFor(t, "on_leave of the victim on "+nodes[i].c.Node(), func() bool { return k.left(victim.ID()) > 0 })
	}
	for _, nd := range nodes[:2] {
		waitFor(t, "the janitor's notice on "+nd.c.Node(), func() bool { return nd.c.Orphans() == 0 })
	}
	for _, nd := range nodes[:2] { // the hooks run just after Members() changed
		k := nd.c.Node() + ">" + victimName
		waitFor(t, "OnNodeLost on "+nd.c.Node(), func() bool { mu.Lock(); defer mu.Unlock(); return lost[k] > 0 })
	}
	mu.Lock()
	defer mu.Unlock()
	for _, nd := range nodes[:2] {
		if k := nd.c.Node() + ">" + victimName; lost[k] != 1 {
			t.Errorf("%s: OnNodeLost ran %d times, want 1 (all: %v)", k, lost[k], lost)
		}
	}
	for i, k := range counters {
		if got := k.get("com.test.will"); got != 1 {
			t.Errorf("%s: testament received %d times, want exactly 1", nodes[i].c.Node(), got)
		}
		if got := k.left(victim.ID()); got != 1 {
			t.Errorf("%s: on_leave of the victim received %d times, want 1", nodes[i].c.Node(), got)
		}
	}
}

// TestMinorityRefusesRegister: a node that lost both peers sees 1 of 3
// members and refuses REGISTER with tollgate.error.cluster_unavailable.
func TestMinorityRefusesRegister(t *testing.T) {
	nodes := startMembers(t, 3, nil)
	if err := nodes[0].c.WaitRegistry(testCtx(t)); err != nil { // a cold JetStream takes 0.3–6 s
		t.Fatal(err)
	}
	s := dial(t, nodes[0])
	if _, err := s.Register(context.Background(), "com.test.before", func(context.Context, *client.Invocation) (*client.Result, error) { return nil, nil }); err != nil {
		t.Fatalf("REGISTER with a majority: %v", err)
	}
	nodes[1].c.Crash()
	nodes[2].c.Crash()
	waitFor(t, "n0 without a majority", func() bool { return !nodes[0].c.Available() })
	_, err := s.Register(context.Background(), "com.test.after", func(context.Context, *client.Invocation) (*client.Result, error) { return nil, nil })
	if !isCallError(err, router.ErrClusterUnavailable) {
		t.Fatalf("REGISTER in a minority: %v, want %s", err, router.ErrClusterUnavailable)
	}
}

// TestFencing: a node that stalls (no heartbeats) past dead_after is
// declared dead; when it is heard again it is told so, closes its
// sessions (GOODBYE tollgate.close.cluster_fenced) and rejoins with a new
// incarnation.
func TestFencing(t *testing.T) {
	nodes := startMembers(t, 3, nil)
	watch, k := dial(t, nodes[0]), newCounter()
	subscribe(t, watch, "wamp.session.on_leave", k.fn)
	subscribe(t, watch, "com.test.mark", k.fn)
	waitInterest(t, nodes[2], "com.test.mark", 1)
	s := dial(t, nodes[2])
	id := s.ID()
	waitFor(t, "n2's session in n0's roster", func() bool { n, _ := nodes[0].c.Roster("n2"); return n == 1 })
	inc := nodes[2].c.Members()
	nodes[2].c.Stall(true)
	waitMembers(t, nodes[:2], 2)
	nodes[2].c.Stall(false)
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the fenced node's session is still open")
	}
	if err := s.Err(); err == nil || !strings.Contains(err.Error(), natscluster.FenceReason) {
		t.Errorf("session ended with %v, want %s", err, natscluster.FenceReason)
	}
	waitMembers(t, nodes, 3)
	// The janitor published the session's on_leave; the fenced node's own,
	// as the session left, stayed there. A mark from n2 after the session
	// is gone arrives after any on_leave n2 would have sent.
	again := dial(t, nodes[2])
	waitFor(t, "the fenced session gone from n2", func() bool {
		_, err := again.Call(context.Background(), "wamp.session.get", wamp.List{id}, nil)
		return isCallError(err, wamp.ErrNoSuchSession)
	})
	waitFor(t, "a mark from n2 on n0", func() bool {
		publish(t, again, "com.test.mark", nil)
		return k.get("com.test.mark") > 0
	})
	if n := k.left(id); n != 1 {
		t.Errorf("on_leave of the fenced session seen %d times on n0, want 1 (the janitor's)", n)
	}
	for _, m := range nodes[0].c.Members() {
		for _, old := range inc {
			if m.Node == "n2" && old.Node == "n2" && m.Incarnation == old.Incarnation {
				t.Errorf("n2 rejoined with its old incarnation %d", m.Incarnation)
			}
		}
	}
}

// TestMetaAcrossNodes: session count, list, get and kill, and the
// subscriber count, answer for the whole cluster.
func TestMetaAcrossNodes(t *testing.T) {
	nodes := startMembers(t, 3, nil)
	caller := dial(t, nodes[0])
	b1, b2, c1 := dial(t, nodes[1]), dial(t, nodes[1]), dial(t, nodes[2])
	ctx := context.Background()
	call := func(proc wamp.URI, args ...any) *client.Result {
		t.Helper()
		r, err := caller.Call(ctx, proc, wamp.List(args), nil)
		if err != nil {
			t.Fatalf("%s: %v", proc, err)
		}
		return r
	}
	if n, _ := wamp.AsInt(call("wamp.session.count").Arg(0)); n != 4 {
		t.Errorf("wamp.session.count = %d, want 4 (1 + 2 + 1 over three nodes)", n)
	}
	ids, _ := call("wamp.session.list").Arg(0).(wamp.List)
	want := map[int64]bool{int64(caller.ID()): true, int64(b1.ID()): true, int64(b2.ID()): true, int64(c1.ID()): true}
	if len(ids) != 4 {
		t.Errorf("wamp.session.list = %v, want the 4 sessions", ids)
	}
	for _, v := range ids {
		if n, _ := wamp.AsInt(v); !want[n] {
			t.Errorf("wamp.session.list has %v, not one of the sessions", v)
		}
	}
	d, _ := call("wamp.session.get", c1.ID()).Arg(0).(wamp.Dict)
	if id, _ := wamp.AsInt(d["session"]); id != int64(c1.ID()) {
		t.Errorf("wamp.session.get of a session on n2 = %v", d)
	}
	if _, err := caller.Call(ctx, "wamp.session.get", wamp.List{int64(1)}, nil); !isCallError(err, wamp.ErrNoSuchSession) {
		t.Errorf("wamp.session.get of no session: %v, want %s", err, wamp.ErrNoSuchSession)
	}

	for _, s := range []*client.Session{caller, b1, c1} {
		subscribe(t, s, "com.test.meta", func(context.Context, *client.Event) {})
	}
	sub, _ := wamp.AsInt(call("wamp.subscription.lookup", "com.test.meta").Arg(0))
	if n, _ := wamp.AsInt(call("wamp.subscription.count_subscribers", sub).Arg(0)); n != 3 {
		t.Errorf("count_subscribers = %d, want 3 (one per node)", n)
	}

	start := time.Now()
	call("wamp.session.kill", c1.ID())
	select {
	case <-c1.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("killed session on n2 still open")
	}
	t.Logf("kill from n0 ended the session on n2 after %v", time.Since(start))
	if d := time.Since(start); d > promptly {
		t.Errorf("kill from n0 ended the session on n2 after %v, want <= %v", d, promptly)
	}
	// The caller is exempt; b1 and b2 on n1 go (once n2 saw its killed
	// session's GOODBYE reply and dropped it).
	waitFor(t, "the killed session gone", func() bool { n, _ := wamp.AsInt(call("wamp.session.count").Arg(0)); return n == 3 })
	if n, _ := wamp.AsInt(call("wamp.session.kill_by_authrole", "anonymous").Arg(0)); n != 2 {
		t.Errorf("kill_by_authrole = %d, want 2 (the two sessions on n1)", n)
	}
	for _, s := range []*client.Session{b1, b2} {
		select {
		case <-s.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("session on n1 not killed by kill_by_authrole")
		}
	}
}

// TestMetaEventsAcrossNodes: on_join and on_leave of a session on n2
// reach a subscriber on n0.
func TestMetaEventsAcrossNodes(t *testing.T) {
	nodes := startMembers(t, 3, nil)
	watch, k := dial(t, nodes[0]), newCounter()
	subscribe(t, watch, "wamp.session.on_join", k.fn)
	subscribe(t, watch, "wamp.session.on_leave", k.fn)
	waitInterest(t, nodes[2], "wamp.session.on_leave", 1)
	s := dial(t, nodes[2])
	id := s.ID()
	waitFor(t, "on_join from n2", func() bool { return k.get("wamp.session.on_join") == 1 })
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "on_leave from n2", func() bool { return k.left(id) == 1 })
}

func isCallError(err error, uri wamp.URI) bool {
	return errors.Is(err, &client.Error{URI: uri})
}

// TestFlushReachesEveryNode: tollgate.authorizer.flush on n0 is applied
// on n1 and n2 promptly (the target: 100 ms; see promptly).
func TestFlushReachesEveryNode(t *testing.T) {
	nodes := startMembers(t, 3, nil, withAllowAll)
	flushes := func(nd *node) float64 { return metric(t, nd, "tollgate_authz_cache_flushes_total") }
	before := []float64{flushes(nodes[1]), flushes(nodes[2])}
	start := time.Now()
	if _, _, err := nodes[0].srv.Router().Call(context.Background(), realm, "tollgate.authorizer.flush", nil, wamp.Dict{"authrole": "anonymous"}); err != nil {
		t.Fatal(err)
	}
	for i, nd := range nodes[1:] {
		waitFor(t, "the flush on "+nd.c.Node(), func() bool { return flushes(nd) > before[i] })
	}
	t.Logf("flush applied on n1 and n2 after %v", time.Since(start))
	if d := time.Since(start); d > promptly {
		t.Errorf("flush reached the other nodes after %v, want <= %v", d, promptly)
	}
}

// promptly bounds what the issue asks within 100 ms (a kill, a flush
// across nodes): measured 2-25 ms and logged, but asserted loosely, as a
// -race run on a loaded 2-core machine stalls goroutines for 100 ms and
// more. It still fails anything that waits for dead_after or a timeout.
const promptly = 500 * time.Millisecond

// metric reads a counter (summed over labels) from nd's router.
func metric(t testing.TB, nd *node, name string) float64 {
	t.Helper()
	mfs, err := nd.srv.Router().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestConfigMismatch: with config_mismatch strict a node whose config
// hash differs is never a member (and, in the minority, refuses
// REGISTER); with warn it is one.
func TestConfigMismatch(t *testing.T) {
	for _, mode := range []string{"strict", "warn"} {
		t.Run(mode, func(t *testing.T) {
			nodes := make([]*node, 3)
			for i := range nodes {
				c := natscluster.Config{Node: fmt.Sprintf("n%d", i), Listen: "127.0.0.1:0", ConfigHash: "same", ConfigMismatch: mode}
				if i > 0 {
					c.Routes = []string{"nats-route://" + nodes[0].c.RouteAddr()}
				}
				if i == 2 {
					c.ConfigHash = "different"
				}
				nc, err := natscluster.New(c)
				if err != nil {
					t.Fatal(err)
				}
				nodes[i] = &node{c: nc, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = nc })}
			}
			if mode == "warn" {
				waitMembers(t, nodes, 3)
				return
			}
			waitMembers(t, nodes[:2], 2)
			waitFor(t, "n2 counting 3 known members, seeing itself only", func() bool { return !nodes[2].c.Available() })
			for _, m := range nodes[0].c.Members() {
				if m.Node == "n2" {
					t.Errorf("n2, with a different config, is a member of n0's view")
				}
			}
			if !nodes[0].c.Available() {
				t.Error("n0 (2 of 3 known) should be available")
			}
		})
	}
}

// TestRevokeReachesEveryNode: tollgate.authorizer.revoke called on n0
// for a session on n2 (its grants replaced by ones that deny the
// subscription) removes that subscription on n2.
func TestRevokeReachesEveryNode(t *testing.T) {
	nodes := startMembers(t, 3, nil, withAllowAll)
	here, there := dial(t, nodes[0]), dial(t, nodes[2])
	for _, s := range []*client.Session{here, there} {
		subscribe(t, s, "com.test.rv", func(context.Context, *client.Event) {})
	}
	ctx := context.Background()
	r, err := here.Call(ctx, "wamp.subscription.lookup", wamp.List{"com.test.rv"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int64 {
		res, err := here.Call(ctx, "wamp.subscription.count_subscribers", r.Args, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := wamp.AsInt(res.Args[0])
		return n
	}
	if n := count(); n != 2 {
		t.Fatalf("count_subscribers = %d before the revoke, want 2", n)
	}
	deny := wamp.List{wamp.Dict{"uri": "com.test.rv", "match": "exact", "allow": wamp.Dict{"subscribe": false}}}
	start := time.Now()
	if _, _, err := nodes[0].srv.Router().Call(ctx, realm, "tollgate.authorizer.revoke", nil, wamp.Dict{"session": int64(there.ID()), "permissions": deny}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the revoked subscription gone on n2", func() bool { return count() == 1 })
	t.Logf("revocation applied on n2 after %v", time.Since(start))
}

func withAllowAll(o *router.Options) {
	o.Realms = []router.RealmOptions{{Name: realm, Roles: []authz.RoleConfig{{Name: "anonymous", Permissions: []authz.Permission{
		{URI: "", Match: "prefix", Allow: authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}}}}}}}
}

// TestGatherPartial: a member that does not answer within
// meta.gather_timeout (here: its NATS server gone, not yet declared dead)
// leaves a partial answer that names it.
func TestGatherPartial(t *testing.T) {
	nodes := startMembers(t, 3, func(_ int, c *natscluster.Config) {
		c.DeadAfter, c.GatherTimeout = time.Minute, 300*time.Millisecond
	})
	s := dial(t, nodes[0])
	dial(t, nodes[1])
	nodes[2].c.Crash()
	start := time.Now()
	r, err := s.Call(context.Background(), "wamp.session.count", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("answered after %v, before the gather timeout", d)
	}
	if n, _ := wamp.AsInt(r.Args[0]); n != 2 || r.Kwargs["partial"] != true || fmt.Sprint(r.Kwargs["missing_nodes"]) != "[n2]" {
		t.Errorf("count = %v %v, want [2] with partial: true, missing_nodes: [n2]", r.Args, r.Kwargs)
	}
	// The subscription meta too (wamp.registration.* but get answer from
	// the replica, without asking).
	r, err = s.Call(context.Background(), "wamp.subscription.list", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kwargs["partial"] != true || fmt.Sprint(r.Kwargs["missing_nodes"]) != "[n2]" {
		t.Errorf("wamp.subscription.list = %v %v, want partial: true, missing_nodes: [n2]", r.Args, r.Kwargs)
	}
}
