package natscluster_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// metaQuery is one meta call whose answer must be the same on every node.
type metaQuery struct {
	proc wamp.URI
	args wamp.List
}

// metaAnswers asks each query from s and returns the answers as text
// (result or error URI), keyed by query.
func metaAnswers(t *testing.T, s *client.Session, qs []metaQuery) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, q := range qs {
		k := fmt.Sprint(q.proc, q.args)
		r, err := s.Call(context.Background(), q.proc, q.args, nil)
		if err != nil {
			out[k] = "error " + string(errURI(err))
			continue
		}
		out[k] = fmt.Sprint(r.Args, r.Kwargs)
	}
	return out
}

// sameOnEveryNode asks qs from a session on each node and fails unless
// every node gives node 0's answers; it returns them.
func sameOnEveryNode(t *testing.T, nodes []*node, qs []metaQuery) map[string]string {
	t.Helper()
	var want map[string]string
	for i, nd := range nodes {
		got := metaAnswers(t, dial(t, nd), qs)
		if i == 0 {
			want = got
			continue
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s on %s = %s, on %s = %s", k, nd.c.Node(), got[k], nodes[0].c.Node(), w)
			}
		}
	}
	return want
}

// TestSubscriptionAndRegistrationMetaAcrossNodes: §8 row 12. A
// subscription's id is the same on every node, and the subscription and
// registration meta procedures give the same answers on every node (the
// subscribers and callees of all nodes), also after a node dies.
func TestSubscriptionAndRegistrationMetaAcrossNodes(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	a, b, c := dial(t, nodes[0]), dial(t, nodes[1]), dial(t, nodes[2])
	nop := func(context.Context, *client.Event) {}
	// n0 subscribes first to another topic: per-node id sequences would
	// now differ.
	if _, err := a.Subscribe(ctx, "com.test.first", nop); err != nil {
		t.Fatal(err)
	}
	var subIDs []wamp.ID
	for _, s := range []*client.Session{a, b, c} {
		sub, err := s.Subscribe(ctx, "com.test.m", nop)
		if err != nil {
			t.Fatal(err)
		}
		subIDs = append(subIDs, sub.ID)
	}
	if subIDs[0] != subIDs[1] || subIDs[1] != subIDs[2] {
		t.Errorf("subscription ids of com.test.m on n0, n1, n2 = %v, want one id", subIDs)
	}
	if _, err := b.Subscribe(ctx, "com.test", nop, client.Match(wamp.MatchPrefix)); err != nil {
		t.Fatal(err)
	}
	wild, err := c.Subscribe(ctx, "com..m", nop, client.Match(wamp.MatchWildcard))
	if err != nil {
		t.Fatal(err)
	}
	// A subscription on a reserved URI, hidden from untrusted callers.
	if _, err := c.Subscribe(ctx, "wamp.session.on_join", nop); err != nil {
		t.Fatal(err)
	}
	echo := func(context.Context, *client.Invocation) (client.Result, error) { return client.Result{}, nil }
	r1 := register(t, a, "com.test.p1", echo)
	r2 := register(t, b, "com.test.p2", echo, client.Invoke(wamp.InvokeRoundRobin))
	register(t, c, "com.test.p2", echo, client.Invoke(wamp.InvokeRoundRobin))
	waitCallees(t, nodes, "com.test.p2", wamp.MatchExact, 2)
	waitCallees(t, nodes, "com.test.p1", wamp.MatchExact, 1)
	sub := subIDs[0]
	qs := []metaQuery{
		{"wamp.subscription.list", nil},
		{"wamp.subscription.list", wamp.List{c.ID()}},
		{"wamp.subscription.lookup", wamp.List{"com.test.m"}},
		{"wamp.subscription.lookup", wamp.List{"com.test", wamp.Dict{"match": "prefix"}}},
		{"wamp.subscription.match", wamp.List{"com.test.m"}},
		{"wamp.subscription.get", wamp.List{sub}},
		{"wamp.subscription.list_subscribers", wamp.List{sub}},
		{"wamp.subscription.count_subscribers", wamp.List{sub}},
		{"wamp.subscription.get", wamp.List{int64(1)}},
		{"wamp.registration.list", nil},
		{"wamp.registration.list", wamp.List{c.ID()}},
		{"wamp.registration.lookup", wamp.List{"com.test.p1"}},
		{"wamp.registration.match", wamp.List{"com.test.p2"}},
		{"wamp.registration.get", wamp.List{r2.ID}},
		{"wamp.registration.list_callees", wamp.List{r2.ID}},
		{"wamp.registration.count_callees", wamp.List{r2.ID}},
		{"wamp.registration.get", wamp.List{int64(1)}},
		{"wamp.subscription.lookup", wamp.List{"wamp.session.on_join"}},
	}
	got := sameOnEveryNode(t, nodes, qs)
	key := func(i int) string { return fmt.Sprint(qs[i].proc, qs[i].args) }
	checks := map[int]string{
		1:  fmt.Sprintf("[map[exact:[%d] prefix:[] wildcard:[%d]]] map[]", sub, wild.ID),
		2:  fmt.Sprintf("[%d] map[]", sub),
		6:  fmt.Sprint(sortedList(a.ID(), b.ID(), c.ID()), " map[]"),
		7:  "[3] map[]",
		8:  "error " + string(wamp.ErrNoSuchSubscription),
		10: fmt.Sprintf("[map[exact:[%d] prefix:[] wildcard:[]]] map[]", r2.ID),
		11: fmt.Sprintf("[%d] map[]", r1.ID),
		14: fmt.Sprintf("[[%d %d]] map[]", b.ID(), c.ID()),
		15: "[2] map[]",
		16: "error " + string(wamp.ErrNoSuchRegistration),
		17: "[<nil>] map[]",
	}
	for i, w := range checks {
		if got[key(i)] != w {
			t.Errorf("%s = %s, want %s", key(i), got[key(i)], w)
		}
	}
	// The router's own (hidden) procedures have the same ids everywhere.
	trustedList := func(nd *node) string {
		args, _, err := nd.srv.Router().Call(ctx, realm, "wamp.registration.list", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(args)
	}
	if l0, l2 := trustedList(nodes[0]), trustedList(nodes[2]); l0 != l2 {
		t.Errorf("trusted wamp.registration.list on n0 = %s, on n2 = %s", l0, l2)
	}
	// A trusted caller on n0 sees n2's subscription on the reserved URI.
	if args, _, err := nodes[0].srv.Router().Call(ctx, realm, "wamp.subscription.lookup", wamp.List{"wamp.session.on_join"}, nil); err != nil || first(args) == nil {
		t.Errorf("trusted lookup of n2's wamp.session.on_join subscription from n0: %v %v", args, err)
	}

	// remove_subscriber from n0 takes n2's subscriber off.
	if _, err := a.Call(ctx, "wamp.subscription.remove_subscriber", wamp.List{sub, c.ID()}, nil); err != nil {
		t.Fatalf("remove_subscriber of a session on n2, from n0: %v", err)
	}
	if _, err := a.Call(ctx, "wamp.subscription.remove_subscriber", wamp.List{sub, c.ID()}, nil); errURI(err) != wamp.ErrNoSuchSubscription {
		t.Errorf("remove_subscriber again: %v, want %s", err, wamp.ErrNoSuchSubscription)
	}
	if r, err := b.Call(ctx, "wamp.subscription.count_subscribers", wamp.List{sub}, nil); err != nil || fmt.Sprint(r.Args) != "[2]" {
		t.Errorf("count_subscribers after remove_subscriber: %v %v, want [2]", r, err)
	}

	// n2 dies: the survivors agree, without its subscriber and callee.
	nodes[2].c.Crash()
	waitMembers(t, nodes[:2], 2)
	waitCallees(t, nodes[:2], "com.test.p2", wamp.MatchExact, 1)
	got = sameOnEveryNode(t, nodes[:2], qs)
	checks = map[int]string{
		6:  fmt.Sprint(sortedList(a.ID(), b.ID()), " map[]"),
		7:  "[2] map[]",
		14: fmt.Sprintf("[[%d]] map[]", b.ID()),
		15: "[1] map[]",
	}
	for i, w := range checks {
		if got[key(i)] != w {
			t.Errorf("after n2 died: %s = %s, want %s", key(i), got[key(i)], w)
		}
	}
}

// sortedList is ids in ascending order, as the gathered lists give them.
func sortedList(ids ...wamp.ID) wamp.List {
	slices.Sort(ids)
	out := wamp.List{}
	for _, id := range ids {
		out = append(out, id)
	}
	return wamp.List{out}
}

func first(l wamp.List) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}
