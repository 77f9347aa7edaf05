//go:build clusterchaos

package natscluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestLeaderLoss measures how long REGISTER is refused after the node
// whose embedded server leads the JetStream meta group, or the registry
// stream, is lost (it may lead both; the log says), and how long until the
// other survivor's watch has the new record. Lost is: its routes closed
// (a crash: the sockets go at once), or frozen (a silent partition); a
// clean nats-server shutdown hands its leaderships over, so Crash would
// not show the election. nats-server's raft election timeout (4-9 s, not
// configurable) bounds both; the test asserts they end within 12 s and
// logs the figures.
func TestLeaderLoss(t *testing.T) {
	for _, tc := range []struct {
		name         string
		meta, frozen bool
	}{{"meta/crash", true, false}, {"meta/partition", true, true}, {"registry/crash", false, false}, {"registry/partition", false, true}} {
		t.Run(tc.name, func(t *testing.T) { testLeaderLoss(t, tc.meta, tc.frozen) })
	}
}

func testLeaderLoss(t *testing.T, meta, frozen bool) {
	nodes, links := proxyMesh(t, 3, func(_ int, c *natscluster.Config) { c.RegistryTimeout = 500 * time.Millisecond })
	waitMembers(t, nodes, 3)
	ctx := testCtx(t)
	for _, nd := range nodes {
		if err := nd.c.WaitRegistry(ctx); err != nil {
			t.Fatal(err)
		}
	}
	victim := -1
	waitFor(t, "a leader", func() bool {
		for i, nd := range nodes {
			if m, r := nd.c.Leaders(); meta && m || !meta && r {
				victim = i
				return true
			}
		}
		return false
	})
	metaLeader, streamLeader := nodes[victim].c.Leaders()
	var rest []*node
	for i, nd := range nodes {
		if i != victim {
			rest = append(rest, nd)
		}
	}
	s := dial(t, rest[0])
	start := time.Now()
	for _, p := range links[victim] {
		if frozen {
			p.freeze(true)
		} else {
			p.close()
		}
	}
	tries := 0
	for {
		tries++
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := s.Register(rctx, wamp.URI(fmt.Sprintf("com.after.%d", tries)), echo)
		cancel()
		if err == nil {
			break
		}
		if time.Since(start) > 12*time.Second {
			t.Fatalf("REGISTER still refused %v after the leader's crash: %v", time.Since(start), err)
		}
	}
	registered := time.Since(start)
	uri := wamp.URI(fmt.Sprintf("com.after.%d", tries))
	within(t, start, 12*time.Second, "the record on the other survivor", func() bool {
		return len(rest[1].c.Callees(realm, uri, wamp.MatchExact)) == 1
	})
	t.Logf("victim n%d (meta leader %v, registry stream leader %v): REGISTER works %v after the crash (%d tries), the other replica has it %v after",
		victim, metaLeader, streamLeader, registered, tries, time.Since(start))
}
