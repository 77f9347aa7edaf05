package natscluster

import (
	"context"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Crash shuts the embedded server down without a goodbye: to its peers
// the node vanishes as if its process had been killed.
func (c *Cluster) Crash() { c.srv.Shutdown() }

// Stall stops (true) or resumes this node's heartbeats.
func (c *Cluster) Stall(on bool) {
	c.mb.mu.Lock()
	c.mb.stalled = on
	c.mb.mu.Unlock()
}

// Orphans is the number of dead incarnations whose rosters this node
// still holds (their janitor not heard of).
func (c *Cluster) Orphans() int {
	c.mb.mu.Lock()
	defer c.mb.mu.Unlock()
	return len(c.mb.roster.orphans)
}

// Roster is the number of sessions and testaments this node holds of
// node's current incarnation.
func (c *Cluster) Roster(node string) (sessions, testaments int) {
	c.mb.mu.Lock()
	defer c.mb.mu.Unlock()
	for k, rr := range c.mb.roster.remote {
		if k.node == node {
			for _, s := range rr.sessions {
				sessions++
				testaments += len(s.Testaments)
			}
		}
	}
	return sessions, testaments
}

// NodeLost runs c's OnNodeLost hooks for every incarnation of node, as
// membership will.
func NodeLost(c *Cluster, node string) { c.nodeLost(node, 0) }

// StoredCallees is the number of callees the registry bucket itself (not
// the replica) holds for (realm, match, uri); -1 when it cannot be read.
func (c *Cluster) StoredCallees(ctx context.Context, realm, procedure wamp.URI, match string) int {
	kv, err := c.reg.store(ctx)
	if err != nil {
		return -1
	}
	rec, _, err := c.reg.get(ctx, kv, cluster.RegistryKey(realm, procedure, match))
	switch {
	case err != nil:
		return -1
	case rec == nil:
		return 0
	}
	return len(rec.Callees)
}

// DropRPC makes c lose the RPC messages f returns true for, as NATS may
// (nil: none).
func (c *Cluster) DropRPC(f func(*cluster.CallMsg) bool) {
	if f == nil {
		c.calls.drop.Store(nil)
		return
	}
	c.calls.drop.Store(&f)
}
