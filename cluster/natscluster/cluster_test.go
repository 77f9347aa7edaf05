package natscluster_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

const realm = routertest.Realm

type node struct {
	c   *natscluster.Cluster
	srv *routertest.Server
}

// startNodes starts n routers with embedded NATS on 127.0.0.1 ports
// reserved here, each given every node's route (a clustered JetStream
// needs configured routes), and waits for the mesh.
func startNodes(t testing.TB, n int, opts ...func(*natscluster.Config)) []*node {
	t.Helper()
	return startNodesWith(t, n, func(*router.Options) {}, opts...)
}

// startNodesWith is startNodes with ropt applied to every router's options.
func startNodesWith(t testing.TB, n int, ropt func(*router.Options), opts ...func(*natscluster.Config)) []*node {
	t.Helper()
	nodes := startMesh(t, n, func(_ int, c *natscluster.Config) {
		for _, o := range opts {
			o(c)
		}
	}, ropt)
	waitFor(t, "full mesh", func() bool {
		for _, nd := range nodes {
			if nd.c.Peers() != n-1 {
				return false
			}
		}
		return true
	})
	return nodes
}

// startMesh starts n nodes n0..n(n-1), each with every node's route, cfg
// (optional) applied to node i's config and ropt to every router's
// options; it does not wait for anything.
func startMesh(t testing.TB, n int, cfg func(i int, c *natscluster.Config), ropt ...func(*router.Options)) []*node {
	t.Helper()
	nodes := make([]*node, n)
	addrs := make([]string, n)
	var routes []string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
		routes = append(routes, "nats-route://"+addrs[i])
	}
	for i := range nodes {
		c := natscluster.Config{Node: fmt.Sprintf("n%d", i), Listen: addrs[i], Routes: routes, RegistryReplicas: min(n, 3)}
		if cfg != nil {
			cfg(i, &c)
		}
		nc, err := natscluster.New(c)
		if err != nil {
			t.Fatal(err)
		}
		opts := append([]func(*router.Options){func(o *router.Options) { o.Cluster = nc }}, ropt...)
		nodes[i] = &node{c: nc, srv: routertest.Start(t, opts...)}
	}
	return nodes
}

// waitFor polls cond until it holds, failing the test after 10 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func dial(t testing.TB, nd *node) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, nd.srv.URL("tcp"), client.Config{Realm: realm, Serializer: "cbor", MaxConcurrentHandlers: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// recorder collects one session's events in arrival order.
type recorder struct {
	mu   sync.Mutex
	evs  []*client.Event
	done chan struct{} // closed when the end marker arrives
}

func newRecorder() *recorder { return &recorder{done: make(chan struct{})} }

func (r *recorder) fn(_ context.Context, e *client.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.Topic == "com.end" {
		close(r.done)
		return
	}
	r.evs = append(r.evs, e)
}

func (r *recorder) wait(t testing.TB, who string) []*client.Event {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		t.Fatalf("%s: end marker not received", who)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.evs
}

func subscribe(t testing.TB, s *client.Session, topic wamp.URI, fn func(context.Context, *client.Event), opts ...client.Option) {
	t.Helper()
	if _, err := s.Subscribe(context.Background(), topic, fn, opts...); err != nil {
		t.Fatal(err)
	}
}

func publish(t testing.TB, s *client.Session, topic wamp.URI, args wamp.List, opts ...client.Option) {
	t.Helper()
	if err := s.Publish(context.Background(), topic, args, nil, append(opts, client.Acknowledge())...); err != nil {
		t.Fatal(err)
	}
}

// waitInterest waits until at least want nodes' interest in topic reached
// nd (interest travels over the routes asynchronously). A node's
// subscriptions travel in order over one route, so once its last one has
// arrived, all its earlier ones have.
func waitInterest(t testing.TB, nd *node, topic wamp.URI, want int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("interest in %s on %s", topic, nd.c.Node()), func() bool { return nd.c.InterestCount(realm, topic) >= want })
}

// TestCrossNodeMatching: a publisher on A, exact/prefix/wildcard and
// overlapping subscribers on B and C; every subscription gets exactly the
// matching events, once, in publication order.
func TestCrossNodeMatching(t *testing.T) {
	nodes := startNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	pub := dial(t, a)

	type sub struct {
		topic, match string
		want         map[string]bool // topics it must get
	}
	subs := []sub{
		{"com.app.foo", wamp.MatchExact, map[string]bool{"com.app.foo": true}},
		{"com.app.foo", wamp.MatchPrefix, map[string]bool{"com.app.foo": true, "com.app.foo.x": true, "com.app.foobar": true}},
		{"com..foo", wamp.MatchWildcard, map[string]bool{"com.app.foo": true, "com.x.foo": true}},
		{"com.", wamp.MatchPrefix, map[string]bool{"com.app.foo": true, "com.app.foo.x": true, "com.app.foobar": true, "com.app.fo": true, "com.x.foo": true}},
	}
	topics := []wamp.URI{"com.app.foo", "com.app.foo.x", "com.app.foobar", "com.app.fo", "com.x.foo", "org.other"}
	type got struct {
		rec *recorder
		sub sub
		on  string
	}
	var all []got
	for _, nd := range []*node{b, c} {
		for _, sb := range subs {
			s := dial(t, nd)
			rec := newRecorder()
			subscribe(t, s, wamp.URI(sb.topic), rec.fn, client.Match(sb.match))
			subscribe(t, s, "com.end", rec.fn)
			all = append(all, got{rec, sb, nd.c.Node()})
		}
	}
	// com.end was each node's last subscription.
	waitInterest(t, a, "com.end", 2)

	const rounds = 50
	global := int64(0) // publication order across topics
	for i := range rounds {
		for _, tp := range topics {
			publish(t, pub, tp, wamp.List{int64(i), global})
			global++
		}
	}
	publish(t, pub, "com.end", nil)

	for _, g := range all {
		evs := g.rec.wait(t, g.on+" "+g.sub.match+" "+g.sub.topic)
		next := map[wamp.URI]int64{}
		n, prev := 0, int64(-1)
		for _, e := range evs {
			if !g.sub.want[string(e.Topic)] {
				t.Fatalf("%s %s %q got an event for %s", g.on, g.sub.match, g.sub.topic, e.Topic)
			}
			seq, _ := wamp.AsInt(e.Args[0])
			if seq != next[e.Topic] {
				t.Fatalf("%s %s %q: event %d of %s, want %d (order or duplicate)", g.on, g.sub.match, g.sub.topic, seq, e.Topic, next[e.Topic])
			}
			pos, _ := wamp.AsInt(e.Args[1])
			if pos <= prev {
				t.Fatalf("%s %s %q: publication %d after %d (order across topics)", g.on, g.sub.match, g.sub.topic, pos, prev)
			}
			prev = pos
			next[e.Topic]++
			n++
		}
		if want := rounds * len(g.sub.want); n != want {
			t.Errorf("%s %s %q: %d events, want %d", g.on, g.sub.match, g.sub.topic, n, want)
		}
	}
	for _, nd := range []*node{b, c} {
		st := nd.c.Stats()
		if st.Duplicates == 0 || st.Invalid != 0 || st.Dropped != 0 {
			t.Errorf("%s stats %+v: want duplicates from overlapping subscriptions, none invalid or dropped", nd.c.Node(), st)
		}
	}
}

// TestOneCopyPerInterestedNode: many subscribers on C cost one NATS
// message per publication; B, without interest, gets nothing; what no node
// wants (org.nobody) is not even sent to NATS.
func TestOneCopyPerInterestedNode(t *testing.T) {
	nodes := startNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	pub := dial(t, a)
	recs := make([]*recorder, 5)
	for i := range recs {
		recs[i] = newRecorder()
		subscribe(t, dial(t, c), "com.end", recs[i].fn)
	}
	waitInterest(t, a, "com.end", 1)
	for range 20 {
		publish(t, pub, "org.nobody", nil)
	}
	publish(t, pub, "com.end", nil)
	for i, r := range recs {
		r.wait(t, fmt.Sprint("subscriber ", i))
	}
	if st := c.c.Stats(); st.Received != 1 {
		t.Errorf("C received %d NATS messages for 1 publication with 5 local subscribers, want 1", st.Received)
	}
	if st := b.c.Stats(); st.Received != 0 {
		t.Errorf("B, without interest, received %d NATS messages", st.Received)
	}
	if st := a.c.Stats(); st.Published != 1 {
		t.Errorf("A sent %d publications to NATS, want 1 (none of the 20 nobody wants)", st.Published)
	}
}

// TestCrossNodeExclusionAndDisclosure: exclude, eligible and disclose_me
// are applied on the receiving node as on one node.
func TestCrossNodeExclusionAndDisclosure(t *testing.T) {
	nodes := startNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	pub := dial(t, a)
	var sess []*client.Session
	var recs []*recorder
	for _, nd := range []*node{b, b, c, c} {
		s := dial(t, nd)
		r := newRecorder()
		subscribe(t, s, "com.t", r.fn)
		subscribe(t, s, "com.end", r.fn)
		sess, recs = append(sess, s), append(recs, r)
	}
	waitInterest(t, a, "com.t", 2)
	waitInterest(t, a, "com.end", 2)
	publish(t, pub, "com.t", wamp.List{"x"}, client.Exclude(sess[0].ID()), client.Eligible(sess[0].ID(), sess[1].ID(), sess[2].ID()), client.DiscloseMe())
	publish(t, pub, "com.t", wamp.List{"plain"})
	publish(t, pub, "com.end", nil)
	for i, r := range recs {
		evs := r.wait(t, fmt.Sprint("subscriber ", i))
		want := []string{"x", "plain"}
		if i == 0 || i == 3 { // excluded, not eligible
			want = want[1:]
		}
		if len(evs) != len(want) {
			t.Fatalf("subscriber %d got %d events, want %v", i, len(evs), want)
		}
		for j, e := range evs {
			if e.Args[0] != want[j] {
				t.Fatalf("subscriber %d event %d = %v, want %s", i, j, e.Args[0], want[j])
			}
			id, disclosed := wamp.OptID(e.Details, "publisher")
			if (want[j] == "x") != disclosed || disclosed && id != pub.ID() {
				t.Errorf("subscriber %d event %s: publisher %v (disclosed %v), want disclosed only with disclose_me", i, want[j], e.Details["publisher"], disclosed)
			}
		}
	}
}

// TestInterestFollowsSubscriptions: interest goes with the last local
// subscriber (unsubscribed or revoked), and with a node that leaves.
func TestInterestFollowsSubscriptions(t *testing.T) {
	nodes := startNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	s := dial(t, b)
	sub, err := s.Subscribe(context.Background(), "com.t", func(context.Context, *client.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	subscribe(t, dial(t, c), "com.t", func(context.Context, *client.Event) {})
	waitInterest(t, a, "com.t", 2)
	if err := s.Unsubscribe(context.Background(), sub); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B's interest gone", func() bool { return a.c.InterestCount(realm, "com.t") == 1 })

	revoked, err := s.Subscribe(context.Background(), "com.r", func(context.Context, *client.Event) {})
	if err != nil {
		t.Fatal(err)
	}
	waitInterest(t, a, "com.r", 1)
	if _, err := s.Call(context.Background(), "wamp.subscription.remove_subscriber", wamp.List{revoked.ID, s.ID()}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revoked interest gone", func() bool { return a.c.InterestCount(realm, "com.r") == 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.srv.Router().Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "C's interest gone", func() bool { return a.c.InterestCount(realm, "com.t") == 0 })
	waitFor(t, "C out of the mesh", func() bool { return a.c.Peers() == 1 })
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  natscluster.Config
		want string
	}{
		{natscluster.Config{}, "node name required"},
		{natscluster.Config{Node: "a", Routes: []string{"nats-route://127.0.0.1:1"}}, "routes need a listen address"},
		{natscluster.Config{Node: "a", Listen: "nowhere"}, `listen "nowhere"`},
		{natscluster.Config{Node: "a", Listen: "127.0.0.1:99999"}, "bad port"},
	} {
		if _, err := natscluster.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}

// TestExternalNATS: two nodes on a NATS server they do not embed.
func TestExternalNATS(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	var nodes []*node
	for _, name := range []string{"x", "y"} {
		c, err := natscluster.New(natscluster.Config{Node: name, URL: srv.ClientURL()})
		if err != nil {
			t.Fatal(err)
		}
		if c.InterestCount(realm, "com.end") != -1 || c.RouteAddr() != "" {
			t.Errorf("%s: an external NATS reported interest or a route listener", name)
		}
		nodes = append(nodes, &node{c: c, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = c })})
	}
	rec := newRecorder()
	subscribe(t, dial(t, nodes[1]), "com.end", rec.fn)
	pub := dial(t, nodes[0])
	waitFor(t, "interest on the external server", func() bool { return srv.GlobalAccount().SubscriptionInterest("tg.realm1.ev.com.end") })
	publish(t, pub, "com.end", nil)
	rec.wait(t, "subscriber on y")
	if st := nodes[1].c.Stats(); st.Received != 1 {
		t.Errorf("y received %d NATS messages, want 1", st.Received)
	}
}
