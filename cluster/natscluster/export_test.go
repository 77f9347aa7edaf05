package natscluster

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

// NodeLost runs c's OnNodeLost hooks for node, as membership will.
var NodeLost = (*Cluster).nodeLost
