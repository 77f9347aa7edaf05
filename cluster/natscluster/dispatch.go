package natscluster

import (
	"maps"
	"os"
	"slices"

	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Interest implements cluster.Cluster: one NATS subscription per distinct
// subject, counted, all feeding the one dispatch channel.
func (c *Cluster) Interest(realm, uri wamp.URI, match string, add bool) {
	subject := c.sj.Interest(realm, uri, match)
	c.mu.Lock()
	defer c.mu.Unlock()
	in := c.subs[subject]
	switch {
	case add && in != nil:
		in.refs++
	case add:
		sub, err := c.nc.ChanSubscribe(subject, c.ch)
		if err != nil {
			c.log.Error("cluster: subscribe", "subject", subject, "err", err)
			return
		}
		c.subs[subject] = &interest{sub: sub, refs: 1}
	case in == nil:
		// a remove without an add (a subscribe that failed above)
	case in.refs > 1:
		in.refs--
	default:
		delete(c.subs, subject)
		if err := in.sub.Unsubscribe(); err != nil {
			c.log.Warn("cluster: unsubscribe", "subject", subject, "err", err)
		}
	}
}

// Subjects returns the subjects this node has interest in (for tests and
// diagnostics).
func (c *Cluster) Subjects() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Keys(c.subs))
}

// dispatch is the node's one ordered delivery path.
func (c *Cluster) dispatch(r cluster.Receiver) {
	defer c.wg.Done()
	for {
		select {
		case <-c.done:
			return
		case m := <-c.ch:
			c.handle(r, m)
		}
	}
}

func (c *Cluster) handle(r cluster.Receiver, m *nats.Msg) {
	if c.isRPC(m.Subject) {
		c.handleRPC(r, m)
		return
	}
	c.stats.received.Add(1)
	h, err := cluster.ReadHeader(m.Data)
	if err != nil {
		c.stats.invalid.Add(1)
		c.log.Warn("cluster: dropped message", "subject", m.Subject, "err", err)
		return
	}
	// Overlapping subscriptions (exact a.b and prefix a) hand one message
	// over once per subscription; one origin's stream arrives in order, so
	// anything at or below the last sequence seen is a copy.
	last, seen := c.last[h.Origin]
	if seen && h.Seq <= last {
		c.stats.duplicates.Add(1)
		return
	}
	if seen && h.Seq > last+1 {
		c.stats.gaps.Add(h.Seq - last - 1)
		c.log.Debug("cluster: sequence gap", "origin", h.Origin, "after", last, "got", h.Seq)
	}
	c.last[h.Origin] = h.Seq
	p, err := cluster.DecodePublication(m.Data)
	if err == nil {
		p.Realm, p.Topic, err = c.parseEvent(m.Subject)
	}
	if err != nil {
		c.stats.invalid.Add(1)
		c.log.Warn("cluster: dropped publication", "subject", m.Subject, "err", err)
		return
	}
	if r.Deliver(p) == 0 {
		c.stats.unmatched.Add(1)
	}
}

// Stop implements cluster.Cluster: the node's interest goes with its
// connection, then the embedded server shuts down.
func (c *Cluster) Stop() {
	c.stopOnce.Do(c.stop)
}

func (c *Cluster) stop() {
	c.leave() // membership.go
	c.mu.Lock()
	for s, in := range c.subs {
		_ = in.sub.Unsubscribe()
		delete(c.subs, s)
	}
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	c.nc.Close()
	close(c.done)
	c.wg.Wait()
	c.shutdownServer()
	c.removeTmp()
}

func (c *Cluster) shutdownServer() {
	if c.srv != nil {
		c.srv.Shutdown()
		c.srv.WaitForShutdown()
	}
}

func (c *Cluster) removeTmp() {
	if c.tmpDir != "" {
		_ = os.RemoveAll(c.tmpDir)
	}
}
