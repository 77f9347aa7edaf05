package natscluster_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startRPCNodes is startNodes and a registry every node watches; ropt
// (optional) configures the routers.
func startRPCNodes(t testing.TB, n int, ropt ...func(*router.Options)) []*node {
	t.Helper()
	nodes := startNodesWith(t, n, func(o *router.Options) {
		for _, f := range ropt {
			f(o)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(ctx); err != nil {
			t.Fatalf("%s: registry: %v", nd.c.Node(), err)
		}
	}
	return nodes
}

// dialN is dial with n concurrent handlers.
func dialN(t testing.TB, nd *node, n int) *client.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, nd.srv.URL("tcp"), client.Config{Realm: realm, Serializer: "msgpack", MaxConcurrentHandlers: n})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func register(t testing.TB, s *client.Session, uri wamp.URI, fn any, opts ...client.Option) *client.Registration {
	t.Helper()
	reg, err := s.Register(context.Background(), uri, fn, opts...)
	if err != nil {
		t.Fatalf("register %s: %v", uri, err)
	}
	return reg
}

// waitCallees waits until every node's replica has n callees for uri.
func waitCallees(t testing.TB, nodes []*node, uri wamp.URI, match string, n int) {
	t.Helper()
	for _, nd := range nodes {
		waitFor(t, fmt.Sprintf("%d callees of %s on %s", n, uri, nd.c.Node()), func() bool {
			return len(nd.c.Callees(realm, uri, match)) == n
		})
	}
}

func errURI(err error) wamp.URI {
	var we *client.Error
	if errors.As(err, &we) {
		return we.URI
	}
	return ""
}

// pendingCall starts caller's call to proc and waits until nd holds it
// pending; the call's error arrives on the returned channel.
func pendingCall(t testing.TB, ctx context.Context, caller *client.Session, proc wamp.URI, nd *node) <-chan error {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		_, err := caller.Call(ctx, proc, nil, nil)
		errc <- err
	}()
	waitFor(t, "call pending", func() bool { return nd.c.Pending() == 1 })
	return errc
}

// callLoad counts the calls of loadCalls' workers; half closes when the
// first worker is halfway through.
type callLoad struct {
	made, results, failed atomic.Int64
	wg                    sync.WaitGroup
	half                  chan struct{}
}

// loadCalls starts workers goroutines calling proc perWorker times each
// on caller(w): a result counts as one, canceled or no_available_callee
// as failed, any other error fails the test (and counts as failed).
func loadCalls(t testing.TB, ctx context.Context, workers, perWorker int, proc wamp.URI, caller func(w int) *client.Session) *callLoad {
	l := &callLoad{half: make(chan struct{})}
	var once sync.Once
	for w := range workers {
		s := caller(w)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for i := range perWorker {
				if i == perWorker/2 {
					once.Do(func() { close(l.half) })
				}
				l.made.Add(1)
				_, err := s.Call(ctx, proc, nil, nil)
				switch u := errURI(err); {
				case err == nil:
					l.results.Add(1)
				case u == wamp.ErrCanceled || u == wamp.ErrNoAvailableCallee:
					l.failed.Add(1)
				default:
					l.failed.Add(1)
					t.Errorf("call: %v", err)
				}
			}
		}()
	}
	return l
}

// TestCrossNodeCall: result, application error with its payload,
// progressive results in order, caller disclosure — callee on C, callers
// on A and B.
func TestCrossNodeCall(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	callee := dialN(t, nodes[2], 4)
	add := register(t, callee, "com.add", func(a, b int64) int64 { return a + b })
	register(t, callee, "com.fail", func() error { return client.NewError("com.app.oops", "bad", int64(7)) })
	register(t, callee, "com.prog", func(cc *client.CallContext, n int64) (int64, error) {
		for i := range n {
			if err := cc.Progress(cc, i); err != nil {
				return 0, err
			}
		}
		return n, nil
	})
	register(t, callee, "com.who", func(cc *client.CallContext) client.Result {
		return client.Result{Args: wamp.List{uint64(cc.Caller), cc.CallerAuthID, cc.CallerAuthRole}}
	})
	for _, u := range []wamp.URI{"com.add", "com.fail", "com.prog", "com.who"} {
		waitCallees(t, nodes, u, wamp.MatchExact, 1)
	}
	// The registration id is the registry's: the same on every node.
	for _, nd := range nodes {
		res, err := dial(t, nd).Call(ctx, "wamp.registration.lookup", wamp.List{"com.add"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := wamp.AsInt(res.Args[0]); wamp.ID(id) != add.ID {
			t.Errorf("%s: wamp.registration.lookup(com.add) = %v, want %d", nd.c.Node(), res.Args, add.ID)
		}
	}
	for _, nd := range nodes[:2] {
		caller := dial(t, nd)
		res, err := caller.Call(ctx, "com.add", wamp.List{2, 40}, nil)
		if err != nil || len(res.Args) != 1 {
			t.Fatalf("%s: com.add = %v, %v", nd.c.Node(), res, err)
		}
		if v, _ := wamp.AsInt(res.Args[0]); v != 42 {
			t.Fatalf("%s: com.add = %v, want 42", nd.c.Node(), res.Args)
		}
		_, err = caller.Call(ctx, "com.fail", nil, nil)
		var we *client.Error
		if !errors.As(err, &we) || we.URI != "com.app.oops" || len(we.Args) != 2 || we.Args[0] != "bad" {
			t.Fatalf("%s: com.fail = %v, want com.app.oops with its args", nd.c.Node(), err)
		}
		var got []int64
		res, err = caller.Call(ctx, "com.prog", wamp.List{20}, nil, client.ReceiveProgress(func(r *client.Result) {
			v, _ := wamp.AsInt(r.Args[0])
			got = append(got, v)
		}))
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := wamp.AsInt(res.Args[0]); v != 20 || len(got) != 20 {
			t.Fatalf("%s: progressive: final %v after %d results, want 20 after 20", nd.c.Node(), res.Args, len(got))
		}
		for i, v := range got {
			if v != int64(i) {
				t.Fatalf("%s: progressive result %d is %d (order)", nd.c.Node(), i, v)
			}
		}
		res, err = caller.Call(ctx, "com.who", nil, nil)
		if err != nil || res.Args[0] != uint64(0) && res.Args[0] != int64(0) {
			t.Fatalf("%s: undisclosed caller seen as %v (%v)", nd.c.Node(), res, err)
		}
		res, err = caller.Call(ctx, "com.who", nil, nil, client.DiscloseMe())
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := wamp.AsInt(res.Args[0]); wamp.ID(id) != caller.ID() || res.Args[2] != "anonymous" {
			t.Fatalf("%s: disclosed caller seen as %v, want %d", nd.c.Node(), res.Args, caller.ID())
		}
		if _, err := caller.Call(ctx, "com.none", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
			t.Fatalf("%s: unregistered procedure: %v", nd.c.Node(), err)
		}
	}
	for _, nd := range nodes {
		if p := nd.c.Pending(); p != 0 {
			t.Errorf("%s: %d calls still pending", nd.c.Node(), p)
		}
	}
}

// TestCrossNodeProgressiveInvocation: a caller on A streams input to a
// prefix-registered callee on C and gets progressive results back.
func TestCrossNodeProgressiveInvocation(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	register(t, dialN(t, nodes[2], 4), "com.sum.", func(cc *client.CallContext, first int) (int, error) {
		sum := first
		for {
			c, err := cc.NextChunk(cc)
			if errors.Is(err, io.EOF) {
				return sum, nil
			}
			if err != nil {
				return 0, err
			}
			n, _ := wamp.AsInt(c.Args[0])
			sum += int(n)
			if err := cc.Progress(cc, sum); err != nil {
				return 0, err
			}
		}
	}, client.Match(wamp.MatchPrefix))
	waitCallees(t, nodes, "com.sum.", wamp.MatchPrefix, 1)
	var partial []int64
	cs, err := dial(t, nodes[0]).CallProgressive(ctx, "com.sum.x", client.ReceiveProgress(func(r *client.Result) {
		n, _ := wamp.AsInt(r.Arg(0))
		partial = append(partial, n)
	}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		if err := cs.Send(ctx, wamp.List{i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := cs.Finish(ctx, wamp.List{5}, nil)
	if n, _ := wamp.AsInt(res.Arg(0)); err != nil || n != 15 {
		t.Fatalf("Finish = %v, %v; want 15", res, err)
	}
	// as on one node (client/advanced_test.go)
	if fmt.Sprint(partial) != "[3 6 10 15]" {
		t.Errorf("progressive results %v, want [3 6 10 15]", partial)
	}
}

// TestCrossNodeCancelAndTimeout: CANCEL in every mode and the call timeout
// of a caller on A reach the callee on C as on one node.
func TestCrossNodeCancelAndTimeout(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	callee := dialN(t, nodes[2], 8)
	started := make(chan struct{}, 8)
	interrupted := make(chan error, 8)
	release := make(chan struct{}, 8)
	register(t, callee, "com.slow", func(cc *client.CallContext) error {
		started <- struct{}{}
		select {
		case <-cc.Done():
			interrupted <- cc.Err()
			return cc.Err()
		case <-release:
			interrupted <- nil
			return nil
		}
	})
	waitCallees(t, nodes, "com.slow", wamp.MatchExact, 1)
	caller := dial(t, nodes[0])
	for _, mode := range []string{wamp.CancelKillNoWait, wamp.CancelKill, wamp.CancelSkip} {
		cctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		go func() {
			_, err := caller.Call(cctx, "com.slow", nil, nil, client.CancelMode(mode))
			errc <- err
		}()
		<-started
		cancel()
		if err := <-errc; errURI(err) != wamp.ErrCanceled {
			t.Fatalf("%s: err = %v, want wamp.error.canceled", mode, err)
		}
		if mode == wamp.CancelSkip {
			release <- struct{}{} // skip leaves the invocation running
		}
		ierr := <-interrupted
		if mode != wamp.CancelSkip && !errors.Is(ierr, context.Canceled) {
			t.Fatalf("%s: handler ctx %v, want canceled by INTERRUPT", mode, ierr)
		}
	}
	_, err := caller.Call(ctx, "com.slow", nil, nil, client.CallTimeout(100*time.Millisecond))
	if errURI(err) != wamp.ErrTimeout {
		t.Fatalf("timeout: err = %v, want wamp.error.timeout", err)
	}
	<-started
	if ierr := <-interrupted; ierr == nil {
		t.Fatal("timed-out invocation not interrupted")
	}
	waitFor(t, "no call pending", func() bool { return nodes[0].c.Pending() == 0 })
}

// TestRegisterRace: the same single URI registered from A and C at once
// has exactly one winner per round; the loser gets
// procedure_already_exists and every replica ends with one callee.
func TestRegisterRace(t *testing.T) {
	rounds := *registerRounds
	nodes := startRPCNodes(t, 3)
	a, c := dial(t, nodes[0]), dial(t, nodes[2])
	ctx := testCtx(t)
	// the bucket exists before the race
	register(t, a, "com.race.warmup", func() {})
	fn := func() {}
	for i := range rounds {
		uri := wamp.URI(fmt.Sprintf("com.race.%d", i))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for j, s := range []*client.Session{a, c} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[j] = s.Register(ctx, uri, fn)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case errURI(err) != wamp.ErrProcedureAlreadyExists:
				t.Fatalf("round %d: %v, want REGISTERED or procedure_already_exists", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d winners (%v)", i, won, errs)
		}
	}
	last := wamp.URI(fmt.Sprintf("com.race.%d", rounds-1))
	waitCallees(t, nodes, last, wamp.MatchExact, 1)
}

// registerRounds: go test -run RegisterRace -register-rounds 1000 is the
// acceptance run (cluster-design.md §8 row 5).
var registerRounds = flag.Int("register-rounds", 100, "rounds of TestRegisterRace")

// TestInvokePoliciesAcrossNodes: one callee per node; roundrobin splits a
// node's calls evenly (the rotation is per caller node), first and last
// follow registration order from every node, random reaches every callee.
func TestInvokePoliciesAcrossNodes(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	var callers []*client.Session
	for _, nd := range nodes {
		callers = append(callers, dial(t, nd))
	}
	for _, policy := range []string{wamp.InvokeRoundRobin, wamp.InvokeFirst, wamp.InvokeLast, wamp.InvokeRandom} {
		uri := wamp.URI("com.policy." + policy)
		for i, nd := range nodes { // in order: A, B, C
			s := dial(t, nd)
			register(t, s, uri, func() int64 { return int64(i) }, client.Invoke(policy))
			waitCallees(t, nodes, uri, wamp.MatchExact, i+1)
		}
		const calls = 300
		for from, caller := range callers {
			var count [3]int
			for range calls {
				res, err := caller.Call(ctx, uri, nil, nil)
				if err != nil {
					t.Fatalf("%s from %d: %v", policy, from, err)
				}
				v, _ := wamp.AsInt(res.Args[0])
				count[v]++
			}
			var want [3]int
			switch policy {
			case wamp.InvokeRoundRobin:
				want = [3]int{calls / 3, calls / 3, calls / 3}
			case wamp.InvokeFirst:
				want = [3]int{calls, 0, 0}
			case wamp.InvokeLast:
				want = [3]int{0, 0, calls}
			default:
				if count[0] == 0 || count[1] == 0 || count[2] == 0 {
					t.Errorf("random from node %d: %v, want every callee reached", from, count)
				}
				continue
			}
			if count != want {
				t.Errorf("%s from node %d: %v, want %v", policy, from, count, want)
			}
		}
	}
}

// TestPatternPrecedenceAcrossNodes: exact on A, prefix on B, wildcard on
// C; from every node each call goes to the one best match only.
func TestPatternPrecedenceAcrossNodes(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	var hits [3]atomic.Int64
	regs := []struct {
		uri, match string
	}{{"com.app.proc", wamp.MatchExact}, {"com.app.", wamp.MatchPrefix}, {"com..proc", wamp.MatchWildcard}}
	for i, r := range regs {
		s := dial(t, nodes[i])
		register(t, s, wamp.URI(r.uri), func(cc *client.CallContext) client.Result {
			hits[i].Add(1)
			return client.Result{Args: wamp.List{int64(i), string(cc.Procedure)}}
		}, client.Match(r.match))
		waitCallees(t, nodes, wamp.URI(r.uri), r.match, 1)
	}
	cases := []struct {
		proc wamp.URI
		want int64 // -1: no_such_procedure
	}{{"com.app.proc", 0}, {"com.app.procx", 1}, {"com.app.other.proc", 1}, {"com.app", -1}, {"com.x.proc", 2}, {"com.x.y.proc", -1}, {"org.app.proc", -1}}
	calls := 0
	for _, nd := range nodes {
		caller := dial(t, nd)
		for _, c := range cases {
			res, err := caller.Call(ctx, c.proc, nil, nil)
			if c.want < 0 {
				if errURI(err) != wamp.ErrNoSuchProcedure {
					t.Errorf("%s → %s: %v, want no_such_procedure", nd.c.Node(), c.proc, err)
				}
				continue
			}
			calls++
			if err != nil {
				t.Fatalf("%s → %s: %v", nd.c.Node(), c.proc, err)
			}
			if v, _ := wamp.AsInt(res.Args[0]); v != c.want {
				t.Errorf("%s → %s went to %s, want %s", nd.c.Node(), c.proc, regs[v].match, regs[c.want].match)
			}
			if res.Args[1] != string(c.proc) {
				t.Errorf("%s → %s: the callee saw procedure %q", nd.c.Node(), c.proc, res.Args[1])
			}
		}
	}
	if n := hits[0].Load() + hits[1].Load() + hits[2].Load(); n != int64(calls) {
		t.Errorf("%d invocations for %d calls", n, calls)
	}
}

// TestUnregisterAndLeaveAcrossNodes: UNREGISTER and a callee session's
// leave remove its entry from every replica; the URI is free again.
func TestUnregisterAndLeaveAcrossNodes(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	s := dial(t, nodes[1])
	reg := register(t, s, "com.u", func() {})
	waitCallees(t, nodes, "com.u", wamp.MatchExact, 1)
	if err := s.Unregister(ctx, reg); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, nodes, "com.u", wamp.MatchExact, 0)
	if _, err := dial(t, nodes[0]).Call(ctx, "com.u", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
		t.Fatalf("after unregister: %v", err)
	}
	other := dial(t, nodes[2])
	register(t, other, "com.u", func() {})
	waitCallees(t, nodes, "com.u", wamp.MatchExact, 1)
	if err := other.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitCallees(t, nodes, "com.u", wamp.MatchExact, 0)
	register(t, dial(t, nodes[0]), "com.u", func() {})
}

// TestNodeLostFailsPendingCalls: the OnNodeLost hook answers the calls
// pending at the lost node with canceled / tollgate.cluster.node_lost and
// drops its callees from the replica.
func TestNodeLostFailsPendingCalls(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	release := make(chan struct{})
	defer close(release)
	register(t, dialN(t, nodes[2], 8), "com.stuck", func() { <-release })
	waitCallees(t, nodes, "com.stuck", wamp.MatchExact, 1)
	caller := dial(t, nodes[0])
	const n = 5
	errc := make(chan error, n)
	for range n {
		go func() {
			_, err := caller.Call(ctx, "com.stuck", nil, nil)
			errc <- err
		}()
	}
	waitFor(t, "calls pending", func() bool { return nodes[0].c.Pending() == n })
	natscluster.NodeLost(nodes[0].c, "n2")
	for range n {
		err := <-errc
		var we *client.Error
		if !errors.As(err, &we) || we.URI != wamp.ErrCanceled || we.Details["reason"] != cluster.ReasonNodeLost {
			t.Fatalf("err = %v (details %v), want canceled with reason %s", err, we, cluster.ReasonNodeLost)
		}
	}
	if cs := nodes[0].c.Callees(realm, "com.stuck", wamp.MatchExact); len(cs) != 0 {
		t.Fatalf("lost node's callee still in the replica: %v", cs)
	}
	if _, err := caller.Call(ctx, "com.stuck", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
		t.Fatalf("call after node loss: %v, want no_such_procedure", err)
	}
}

// TestCalleeClusterStops: C's cluster link stops cleanly with a call
// from A pending. C removes its callees from the registry and says
// goodbye: A answers the pending call (canceled, node_lost), every
// replica drops C's callees at once, and a call from B then answers
// no_such_procedure (the registration left with its node, as when its
// sessions leave).
func TestCalleeClusterStops(t *testing.T) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	release := make(chan struct{})
	defer close(release)
	register(t, dialN(t, nodes[2], 8), "com.stuck", func() { <-release })
	waitCallees(t, nodes, "com.stuck", wamp.MatchExact, 1)
	b := dial(t, nodes[1])
	caller := dial(t, nodes[0])
	errc := pendingCall(t, ctx, caller, "com.stuck", nodes[0])
	nodes[2].c.Stop()
	if err := <-errc; !isNodeLost(err) {
		t.Fatalf("pending call: %v, want canceled (node lost)", err)
	}
	waitCallees(t, nodes[:2], "com.stuck", wamp.MatchExact, 0)
	for _, s := range []*client.Session{caller, b} {
		if _, err := s.Call(ctx, "com.stuck", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
			t.Fatalf("call after the stop: %v, want no_such_procedure", err)
		}
	}
	// (the stream may be electing a leader without the stopped node)
	waitFor(t, "the stopped node's callee gone from the bucket", func() bool {
		return nodes[0].c.StoredCallees(ctx, realm, "com.stuck", wamp.MatchExact) == 0
	})
	for _, nd := range nodes[:2] {
		if p := nd.c.Pending(); p != 0 {
			t.Fatalf("%s: %d calls pending", nd.c.Node(), p)
		}
	}
}

// TestCalleeNodeVanishes: C's NATS server goes without a goodbye and
// membership is slow (dead_after 1 min), so only RPC notices: A's probe
// finds C's inbox without responders and answers its pending call
// (canceled, node_lost); B, with no call pending, still lists C's callee:
// its call is not delivered and answered no_available_callee, and having
// heard from C before, B then drops C's callees.
func TestCalleeNodeVanishes(t *testing.T) {
	nodes := startMesh(t, 3, func(_ int, c *natscluster.Config) { c.DeadAfter = time.Minute })
	waitFor(t, "full mesh", func() bool { return nodes[0].c.Peers() == 2 && nodes[1].c.Peers() == 2 && nodes[2].c.Peers() == 2 })
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(testCtx(t)); err != nil {
			t.Fatal(err)
		}
	}
	ctx := testCtx(t)
	release := make(chan struct{})
	defer close(release)
	register(t, dialN(t, nodes[2], 8), "com.stuck", func() { <-release })
	register(t, dial(t, nodes[2]), "com.quick", func() {})
	waitCallees(t, nodes, "com.stuck", wamp.MatchExact, 1)
	waitCallees(t, nodes, "com.quick", wamp.MatchExact, 1)
	b := dial(t, nodes[1])
	if _, err := b.Call(ctx, "com.quick", nil, nil); err != nil {
		t.Fatal(err)
	}
	caller := dial(t, nodes[0])
	errc := pendingCall(t, ctx, caller, "com.stuck", nodes[0])
	nodes[2].c.Crash()
	if err := <-errc; !isNodeLost(err) {
		t.Fatalf("pending call: %v, want canceled (node lost)", err)
	}
	if cs := nodes[0].c.Callees(realm, "com.stuck", wamp.MatchExact); len(cs) != 0 {
		t.Fatalf("A still lists the vanished node's callee: %v", cs)
	}
	waitFor(t, "C out of B's mesh", func() bool { return nodes[1].c.Peers() == 1 })
	if len(nodes[1].c.Members()) != 3 {
		t.Fatalf("B's membership already dropped C: the test needs it slow")
	}
	if _, err := b.Call(ctx, "com.stuck", nil, nil); errURI(err) != wamp.ErrNoAvailableCallee {
		t.Fatalf("B's call to the vanished node: %v, want no_available_callee", err)
	}
	waitCallees(t, nodes[1:2], "com.quick", wamp.MatchExact, 0)
	for _, nd := range nodes[:2] {
		if p := nd.c.Pending(); p != 0 {
			t.Fatalf("%s: %d calls pending", nd.c.Node(), p)
		}
	}
}

// TestEveryCallAnsweredWhenCalleeNodeStops: callers on A keep calling a
// roundrobin procedure with callees on B and C; C stops midway, its
// cluster link alone (found by A's probe) or its whole router (its
// callees leave and answer). Every call returns exactly once, with a
// result or canceled / no_available_callee, and none is left pending.
func TestEveryCallAnsweredWhenCalleeNodeStops(t *testing.T) {
	t.Run("cluster stop", func(t *testing.T) { callsUnderNodeStop(t, func(nd *node) { nd.c.Stop() }) })
	t.Run("router shutdown", func(t *testing.T) {
		callsUnderNodeStop(t, func(nd *node) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := nd.srv.Router().Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	})
}

func callsUnderNodeStop(t *testing.T, stop func(*node)) {
	nodes := startRPCNodes(t, 3)
	ctx := testCtx(t)
	for i, nd := range nodes[1:] {
		register(t, dialN(t, nd, 16), "com.load", func() int64 { return int64(i) }, client.Invoke(wamp.InvokeRoundRobin))
		waitCallees(t, nodes, "com.load", wamp.MatchExact, i+1)
	}
	const workers, perWorker = 8, 100
	load := loadCalls(t, ctx, workers, perWorker, "com.load", func(int) *client.Session { return dial(t, nodes[0]) })
	<-load.half
	stop(nodes[2])
	load.wg.Wait()
	if load.made.Load() != load.results.Load()+load.failed.Load() {
		t.Fatalf("%d calls made, %d results + %d errors", load.made.Load(), load.results.Load(), load.failed.Load())
	}
	// C's callee is dropped once a probe finds its inbox gone; until then
	// calls to it fail (in flight: canceled; not delivered:
	// no_available_callee), after that B takes them all.
	if load.results.Load() < workers*perWorker/2 {
		t.Errorf("only %d of %d calls succeeded", load.results.Load(), load.made.Load())
	}
	if p := nodes[0].c.Pending(); p != 0 {
		t.Errorf("%d calls still pending", p)
	}
	t.Logf("%d calls: %d results, %d canceled or no_available_callee", load.made.Load(), load.results.Load(), load.failed.Load())
}

// TestAuthorizationAcrossNodes: the caller's node authorizes the CALL and
// decides disclosure by the caller's role; the callee's node applies the
// pattern rule with the callee's role, as one node does.
func TestAuthorizationAcrossNodes(t *testing.T) {
	all := authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	nodes := startRPCNodes(t, 3, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: realm, Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: wamp.MatchPrefix, Allow: all}}},
			{Name: "guest", Permissions: []authz.Permission{
				{URI: "public.", Match: wamp.MatchPrefix, Allow: authz.Actions{Call: true}, Disclose: authz.Disclose{Caller: true}},
				{URI: "com.", Match: wamp.MatchPrefix, Allow: authz.Actions{Call: true}}}},
			{Name: "partial", Permissions: []authz.Permission{
				{URI: "com.app.", Match: wamp.MatchPrefix, Allow: authz.Actions{Register: true}},
				{URI: "com.app.secret", Match: wamp.MatchExact}}},
		}}}
	})
	ctx := testCtx(t)
	// Every listener first: their cleanups shut the routers down, after
	// the sessions' (cleanups run last first).
	urls := map[string]string{}
	for i, role := range []string{"guest", "partial", "backend"} {
		urls[role] = nodes[i].srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
			{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: role}}}}})
	}
	join := func(role string) *client.Session {
		url := urls[role]
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := client.Dial(cctx, url, client.Config{Realm: realm, Serializer: "cbor"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}
	var invoked atomic.Int64
	backend := join("backend")
	register(t, backend, "public.who", func(cc *client.CallContext) client.Result {
		invoked.Add(1)
		return client.Result{Args: wamp.List{uint64(cc.Caller)}}
	})
	register(t, backend, "private.secret", func() { invoked.Add(1) })
	register(t, join("partial"), "com.app.", func() { invoked.Add(1) }, client.Match(wamp.MatchPrefix))
	waitCallees(t, nodes, "public.who", wamp.MatchExact, 1)
	waitCallees(t, nodes, "private.secret", wamp.MatchExact, 1)
	waitCallees(t, nodes, "com.app.", wamp.MatchPrefix, 1)

	guest := join("guest")
	res, err := guest.Call(ctx, "public.who", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := wamp.AsInt(res.Args[0]); wamp.ID(id) != guest.ID() {
		t.Errorf("the guest role discloses the caller: callee saw %v, want %d", res.Args, guest.ID())
	}
	if _, err := guest.Call(ctx, "private.secret", nil, nil); errURI(err) != wamp.ErrNotAuthorized {
		t.Errorf("private.secret: %v, want not_authorized", err)
	}
	if _, err := guest.Call(ctx, "com.app.open", nil, nil); err != nil {
		t.Errorf("com.app.open: %v", err)
	}
	if _, err := guest.Call(ctx, "com.app.secret", nil, nil); errURI(err) != wamp.ErrNoSuchProcedure {
		t.Errorf("com.app.secret (the callee's role may not register it): %v, want no_such_procedure", err)
	}
	if n := invoked.Load(); n != 2 {
		t.Errorf("%d invocations, want 2 (public.who, com.app.open)", n)
	}
}

// TestRegisterWithoutJetStream: a node with a route listener but no routes
// has no JetStream; its REGISTER is refused at once with
// tollgate.error.cluster_unavailable.
func TestRegisterWithoutJetStream(t *testing.T) {
	c, err := natscluster.New(natscluster.Config{Node: "lonely", Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	nd := &node{c: c, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = c })}
	_, err = dial(t, nd).Register(testCtx(t), "com.x", func() {})
	if errURI(err) != cluster.ErrClusterUnavailable {
		t.Fatalf("REGISTER = %v, want %s", err, cluster.ErrClusterUnavailable)
	}
}
