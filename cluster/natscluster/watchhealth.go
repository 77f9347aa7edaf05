package natscluster

import (
	"context"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Registry watch health. The watch is an ordered consumer living on one
// server; nats.go notices that consumer gone (its server lost or cut
// off, the consumer deleted) only after two missed 5 s heartbeats, and
// the registry renews it on its own only on a node loss, a fence or a
// REGISTER waiting for its revision. So every Config.WatchCheck the node
// compares the last revision its replica applied with the registry
// stream's last sequence (one stream info request): a watch still behind
// a sequence the stream had one check earlier is renewed from the next
// revision (registry.kick). This file only reads the registry's state
// and kicks it; registry.go owns the watch.

// watchHealth runs the check until ctx ends.
func (c *Cluster) watchHealth(ctx context.Context) {
	defer c.wg.Done()
	r := c.reg
	select {
	case <-r.ready:
	case <-ctx.Done():
		return
	}
	every := c.cfg.WatchCheck
	t := time.NewTicker(every)
	defer t.Stop()
	var target uint64 // the stream's last sequence at the previous check
	behind := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if applied := r.appliedRevision(); applied < target {
			if !behind { // once per stall, not per check
				c.log.Info("cluster: registry watch behind the stream; renewing it", "applied", applied, "stream", target)
			}
			behind = true
			c.stats.watchRenewals.Add(1)
			r.kick()
		} else {
			behind = false
		}
		target = r.streamLast(ctx, every) // 0 without an answer: nothing to compare next time
	}
}

// appliedRevision is the last revision the replica applied.
func (r *registry) appliedRevision() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// streamLast is the registry stream's last sequence (a KV revision), 0
// when the stream does not answer within d (no leader, cut off).
func (r *registry) streamLast(ctx context.Context, d time.Duration) uint64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	last, _ := r.lastSeq(ctx)
	return last
}

// renewable reports whether renewing the watch can work now. A renewal
// creates a consumer, which needs the JetStream meta leader, and nats.go
// waits 5 s for the answer; while the leader is a server this one has no
// route to (lost, cut off, not yet replaced by an election) that wait
// would only delay the renewal after the election by up to 5 s, so the
// registry retries shortly instead (registry.watch). With an external
// NATS it cannot be asked, and a JetStream of one server has no meta
// group: true.
func (c *Cluster) renewable() bool {
	if c.srv == nil || !c.srv.JetStreamIsClustered() {
		return true
	}
	jsz, err := c.srv.Jsz(nil)
	if err != nil || jsz.Meta == nil || jsz.Meta.Leader == "" {
		return false
	}
	if jsz.Meta.Leader == c.cfg.Node {
		return true
	}
	rz, err := c.srv.Routez(&server.RoutezOptions{})
	if err != nil {
		return true // cannot tell: try
	}
	for _, rt := range rz.Routes {
		if rt.RemoteName == jsz.Meta.Leader {
			return true
		}
	}
	return false
}
