package natscluster

// Node loss is detected by membership (heartbeats, leases) and acted on by
// whatever holds per-node state (pending calls, the registry replica, the
// meta gather): they meet here so neither has to know the other.

// OnNodeLost registers fn to run once for every node declared dead, with
// its name. Hooks run in registration order on the membership goroutine;
// they must not block.
func (c *Cluster) OnNodeLost(fn func(node string)) {
	c.lostMu.Lock()
	c.lost = append(c.lost, fn)
	c.lostMu.Unlock()
}

// nodeLost runs the OnNodeLost hooks for node.
func (c *Cluster) nodeLost(node string) {
	c.lostMu.Lock()
	hooks := append([]func(string){}, c.lost...)
	c.lostMu.Unlock()
	for _, fn := range hooks {
		fn(node)
	}
}
