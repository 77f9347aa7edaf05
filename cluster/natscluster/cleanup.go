package natscluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate-wamp/tollgate/cluster"
)

// Registry cleanup: the callees of a node incarnation that is gone leave
// the bucket, so that a single URI it held is free again and a node that
// starts later (whose replica knows of no loss) does not route to them.
//   - A node leaving cleanly removes its own before its goodbye.
//   - A dead (or departed) incarnation's callees are removed by its janitor
//     (meta.go: the smallest live name, in a majority), which then tells
//     the others; should it die first, the next one does it.
//   - A node that starts, or fences itself, removes the entries of its
//     own name left by an earlier incarnation.
//
// Removal is by (node, incarnation) with CAS, so it is idempotent and
// never touches a callee that registered since.

var errFenced = fmt.Errorf("%w: this node was fenced meanwhile (new incarnation)", cluster.ErrUnavailable)

// remove drops the callees drop selects from key's record: CAS Update, or
// a Delete at that revision when no live callee is left; retried on a
// conflict.
func (r *registry) remove(ctx context.Context, kv jetstream.KeyValue, key string, drop func(cluster.Callee) bool) error {
	for range 64 {
		rec, rev, err := r.get(ctx, kv, key)
		if settling(ctx, err) {
			continue
		}
		if err != nil || rec == nil {
			return err
		}
		n := len(rec.Callees)
		if rec.Callees = slices.DeleteFunc(rec.Callees, drop); len(rec.Callees) == n {
			return nil
		}
		r.mu.Lock()
		rest := len(r.live(rec.Callees))
		r.mu.Unlock()
		if rest == 0 {
			err = kv.Delete(ctx, key, jetstream.LastRevision(rev))
		} else {
			var b []byte
			if b, err = cluster.EncodeRegistration(rec); err == nil {
				_, err = kv.Update(ctx, key, b, rev)
			}
		}
		if conflict(err) || settling(ctx, err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: %w", cluster.ErrUnavailable, err)
		}
		return nil
	}
	return fmt.Errorf("%w: too many concurrent changes to %s", cluster.ErrUnavailable, key)
}

// purge removes the callees drop selects from every record of this node's
// replica that has one. Without JetStream there is nothing to clean.
func (c *Cluster) purge(ctx context.Context, drop func(cluster.Callee) bool) error {
	r := c.reg
	if !c.jetStream() {
		return nil
	}
	select {
	case <-r.ready:
	default:
		return fmt.Errorf("%w: the registry is not bound here yet", cluster.ErrUnavailable)
	}
	r.mu.Lock()
	var keys []string
	for k, rec := range r.records {
		if slices.ContainsFunc(rec.Callees, drop) {
			keys = append(keys, k)
		}
	}
	r.mu.Unlock()
	var errs error
	for _, k := range keys {
		if err := r.remove(ctx, r.kv, k, drop); err != nil {
			errs = errors.Join(errs, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return errs
}

// purgeOwn removes this node's callees of incarnation inc (a clean
// leave), within bound.
func (c *Cluster) purgeOwn(inc uint64, bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	node := c.cfg.Node
	if err := c.purge(ctx, func(x cluster.Callee) bool { return x.Node == node && x.Incarnation == inc }); err != nil {
		c.log.Warn("cluster: own registry entries left to the janitor", "err", err)
	}
}

// purgeStale removes the entries of this node's name that an earlier
// incarnation left (a restart, a fence), off the calling goroutine.
func (c *Cluster) purgeStale() {
	go func() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RegistryTimeout)
		defer cancel()
		node, inc := c.cfg.Node, c.incarnation()
		if err := c.purge(ctx, func(x cluster.Callee) bool { return x.Node == node && x.Incarnation != inc }); err != nil && c.ctx.Err() == nil {
			c.log.Warn("cluster: stale registry entries of this node's earlier incarnation left", "err", err)
		}
	}()
}

// queuePurge notes that incarnation k's callees are to be removed from
// the registry by its janitor.
func (c *Cluster) queuePurge(k memberKey) {
	mb := &c.mb
	mb.mu.Lock()
	if !mb.roster.purged[k] {
		if _, ok := mb.roster.purges[k]; !ok {
			mb.roster.purges[k] = time.Now()
		}
	}
	mb.mu.Unlock()
}

// purgeDead is the janitor removing dead incarnation k's callees, off the
// membership goroutine (a registry write may wait for a quorum); it tells
// the others once done, or puts k back to be retried at the next check.
func (c *Cluster) purgeDead(k memberKey, since time.Time) {
	go func() {
		ctx, cancel := context.WithTimeout(c.ctx, c.cfg.RegistryTimeout)
		defer cancel()
		err := c.purge(ctx, func(x cluster.Callee) bool { return x.Node == k.node && x.Incarnation == k.inc })
		if err == nil {
			c.sendControl(&ctlMsg{Kind: kindJanitor, Node: k.node, Inc: k.inc, Regs: true})
			return
		}
		if c.ctx.Err() != nil {
			return
		}
		c.log.Debug("cluster: dead node's registry entries not removed yet", "dead", k.node, "err", err)
		mb := &c.mb
		mb.mu.Lock()
		if !mb.roster.purged[k] {
			mb.roster.purges[k] = since
		}
		mb.mu.Unlock()
	}()
}
