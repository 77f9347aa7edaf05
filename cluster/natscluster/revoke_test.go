package natscluster_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestRevokeCalleeAcrossNodes: tollgate.authorizer.revoke called on n0
// for a callee on n2 takes its registrations out of the registry and
// every replica, so callers on n0 and n1 no longer reach it: the shared
// registration's calls go to the callee on n1, the single one is
// no_such_procedure. A call pending at the revoked callee still gets its
// one answer.
func TestRevokeCalleeAcrossNodes(t *testing.T) {
	nodes := startMembers(t, 3, nil, withAllowAll)
	ctx := testCtx(t)
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(ctx); err != nil {
			t.Fatal(err)
		}
	}
	revoked, kept := dialN(t, nodes[2], 4), dial(t, nodes[1])
	release := make(chan struct{})
	register(t, revoked, "com.rv.single", func(n int64) int64 {
		if n == 1 {
			<-release
		}
		return n
	})
	register(t, revoked, "com.rv.shared", func() string { return "n2" }, client.Invoke(wamp.InvokeRoundRobin))
	waitCallees(t, nodes, "com.rv.shared", wamp.MatchExact, 1)
	register(t, kept, "com.rv.shared", func() string { return "n1" }, client.Invoke(wamp.InvokeRoundRobin))
	waitCallees(t, nodes, "com.rv.shared", wamp.MatchExact, 2)
	waitCallees(t, nodes, "com.rv.single", wamp.MatchExact, 1)

	caller := dial(t, nodes[0])
	pending := make(chan error, 1)
	go func() {
		_, err := caller.Call(ctx, "com.rv.single", wamp.List{1}, nil)
		pending <- err
	}()
	waitFor(t, "the call pending at n2", func() bool { return nodes[0].c.Pending() == 1 })

	deny := wamp.List{wamp.Dict{"uri": "com.rv.", "match": "prefix", "allow": wamp.Dict{"register": false}}}
	if _, _, err := nodes[0].srv.Router().Call(ctx, realm, "tollgate.authorizer.revoke", nil,
		wamp.Dict{"session": int64(revoked.ID()), "permissions": deny}); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, nodes, "com.rv.single", wamp.MatchExact, 0)
	waitCallees(t, nodes, "com.rv.shared", wamp.MatchExact, 1)
	if n := nodes[0].c.StoredCallees(ctx, realm, "com.rv.single", wamp.MatchExact); n != 0 {
		t.Fatalf("the registry still holds %d callees of com.rv.single", n)
	}
	if n := nodes[0].c.StoredCallees(ctx, realm, "com.rv.shared", wamp.MatchExact); n != 1 {
		t.Fatalf("the registry holds %d callees of com.rv.shared, want 1", n)
	}
	for _, nd := range nodes[:2] {
		s := dial(t, nd)
		if _, err := s.Call(ctx, "com.rv.single", wamp.List{2}, nil); errURI(err) != wamp.ErrNoSuchProcedure {
			t.Errorf("%s: call to the revoked callee: %v, want no_such_procedure", nd.c.Node(), err)
		}
		for range 4 {
			if res, err := s.Call(ctx, "com.rv.shared", nil, nil); err != nil || res.Args[0] != "n1" {
				t.Errorf("%s: shared call after the revoke: %v %v, want n1's answer", nd.c.Node(), res, err)
			}
		}
	}
	close(release)
	if err := <-pending; err != nil {
		t.Errorf("call pending at the revoked callee: %v, want its result", err)
	}
	if p := nodes[0].c.Pending(); p != 0 {
		t.Errorf("%d calls still pending", p)
	}
}

// TestRemoveCalleeAcrossNodes: wamp.registration.remove_callee on the
// callee's node takes the callee out of the registry and every replica,
// as an UNREGISTER would, so a caller on another node gets
// no_such_procedure rather than a call routed to a callee that is gone.
func TestRemoveCalleeAcrossNodes(t *testing.T) {
	nodes := startMembers(t, 3, nil, withAllowAll)
	ctx := testCtx(t)
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(ctx); err != nil {
			t.Fatal(err)
		}
	}
	callee := dial(t, nodes[2])
	reg := register(t, callee, "com.rc.single", func() string { return "n2" })
	waitCallees(t, nodes, "com.rc.single", wamp.MatchExact, 1)

	if _, _, err := nodes[2].srv.Router().Call(ctx, realm, "wamp.registration.remove_callee",
		wamp.List{int64(reg.ID), int64(callee.ID())}, nil); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, nodes, "com.rc.single", wamp.MatchExact, 0)
	if n := nodes[0].c.StoredCallees(ctx, realm, "com.rc.single", wamp.MatchExact); n != 0 {
		t.Fatalf("the registry still holds %d callees of com.rc.single", n)
	}
	caller := dial(t, nodes[0])
	if _, err := caller.Call(ctx, "com.rc.single", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
		t.Errorf("call after remove_callee: %v, want no_such_procedure", err)
	}
}
