package natscluster

// Node loss is detected by membership (heartbeats, leases) and acted on by
// whatever holds per-node state (pending calls, the registry replica, the
// meta gather): they meet here so neither has to know the other.

// OnNodeLost registers fn to run once for every node incarnation that is
// gone, with its name: declared dead (heartbeat silence, or back with a
// new incarnation) or left with a goodbye. Hooks run in registration
// order on a membership goroutine (the heartbeat loop or the control
// subscription's); they must not block.
func (c *Cluster) OnNodeLost(fn func(node string)) {
	c.onNodeLost(func(node string, _ uint64) { fn(node) })
}

// onNodeLost is OnNodeLost with the lost incarnation (0: unknown, every
// incarnation of node seen so far).
func (c *Cluster) onNodeLost(fn func(node string, inc uint64)) {
	c.lostMu.Lock()
	c.lost = append(c.lost, fn)
	c.lostMu.Unlock()
}

// nodeLost runs the OnNodeLost hooks for incarnation inc of node.
func (c *Cluster) nodeLost(node string, inc uint64) {
	c.lostMu.Lock()
	hooks := append([]func(string, uint64){}, c.lost...)
	c.lostMu.Unlock()
	for _, fn := range hooks {
		fn(node, inc)
	}
}
