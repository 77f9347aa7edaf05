package natscluster

// Leaders reports whether this node's embedded server leads the
// JetStream meta group and the registry stream.
func (c *Cluster) Leaders() (meta, registry bool) {
	return c.srv.JetStreamIsLeader(), c.srv.JetStreamIsStreamLeader("$G", "KV_"+c.reg.bucket)
}
