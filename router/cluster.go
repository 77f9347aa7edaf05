package router

import (
	"fmt"
	"slices"
	"sync"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// The router's side of the cluster seam (package cluster): local
// publications go out, remote ones come in through the broker exactly as
// local ones do (so matching, exclusion, eligibility and the per-event
// authorization of pattern subscriptions are the same code), and the
// node's interest follows its subscriptions. A nil *clusterLink is a
// single node: every method does nothing.

type clusterLink struct {
	c   cluster.Cluster
	r   *Router
	rpc rpcState // cluster_rpc.go
	// fenced are the sessions a fence closed, until their on_leave
	// (cluster_meta.go).
	fenced sync.Map
}

// startCluster links r to c (nil: none) and starts delivery. Each
// clustered realm's broker reports its subscriptions created and deleted
// (under its lock, so in order) as this node's interest. The realms left
// out of only (nil: all) stay node-local: their rm.cl stays nil, so the
// session paths that reach the cluster through rm.cl do nothing for them,
// as on a single node, and what comes from other nodes for them is
// dropped (realm below). The choice is made here, once: no lookup per
// message.
func startCluster(r *Router, c cluster.Cluster, only []wamp.URI) (*clusterLink, error) {
	if c == nil {
		return nil, nil
	}
	for _, name := range only {
		if r.realms[name] == nil {
			return nil, fmt.Errorf("router: ClusterRealms: realm %q is not one of this router's realms", name)
		}
	}
	l := &clusterLink{c: c, r: r}
	for _, rm := range r.realms {
		if only != nil && !slices.Contains(only, rm.name) {
			continue
		}
		name := rm.name
		rm.broker.Indexed = func(topic wamp.URI, policy string, created bool) {
			c.Interest(name, topic, policy, created)
		}
		rm.cl = l
		l.clusterMeta(rm) // cluster_meta.go
	}
	l.rpc.init()
	if err := c.Start(l); err != nil {
		return nil, err
	}
	return l, nil
}

// realm returns the clustered realm of that name; nil when this node
// does not serve it or keeps it node-local.
func (l *clusterLink) realm(name wamp.URI) *realm {
	if rm := l.r.realms[name]; rm != nil && rm.cl == l {
		return rm
	}
	return nil
}

func (l *clusterLink) stop() {
	if l != nil {
		l.c.Stop()
	}
}

// publish sends a local publication to the nodes with interest in it.
// What surely no node wants (Interested: the embedded server knows of no
// NATS subscription matching it) is not encoded nor sent: the server
// would drop it anyway, as the same view decides where it routes.
func (l *clusterLink) publish(rm *realm, p *broker.Publication) {
	if l == nil || !l.c.Interested(rm.name, p.Topic) {
		return
	}
	cp := &cluster.Publication{
		Realm: rm.name, Topic: p.Topic, ID: p.ID, Disclose: p.Disclose,
		Exclude: p.Exclude, Eligible: p.Eligible,
		ExcludeAuthID: p.ExcludeAuthID, EligibleAuthID: p.EligibleAuthID,
		ExcludeAuthRole: p.ExcludeAuthRole, EligibleAuthRole: p.EligibleAuthRole,
		Retain: p.Retain, Extra: p.Extra, Payload: p.Payload,
	}
	if p.Disclose {
		cp.Publisher, cp.AuthID, cp.AuthRole = p.Publisher.ID(), p.Publisher.AuthID(), p.Publisher.AuthRole()
	}
	if err := l.c.Publish(cp); err != nil {
		l.r.warnLimited("cluster: publication not sent to other nodes", "topic", p.Topic, "err", err)
	}
}

// Deliver implements cluster.Receiver.
func (l *clusterLink) Deliver(p *cluster.Publication) int {
	rm := l.realm(p.Realm)
	if rm == nil {
		return 0 // a realm this node does not serve, or keeps node-local
	}
	return rm.broker.Publish(&broker.Publication{
		ID: p.ID, Topic: p.Topic,
		Publisher: remotePublisher{p},
		Disclose:  p.Disclose,
		Exclude:   p.Exclude, Eligible: p.Eligible,
		ExcludeAuthID: p.ExcludeAuthID, EligibleAuthID: p.EligibleAuthID,
		ExcludeAuthRole: p.ExcludeAuthRole, EligibleAuthRole: p.EligibleAuthRole,
		Retain: p.Retain, Extra: p.Extra, Payload: p.Payload,
	})
}

// remotePublisher stands for a publisher on another node: never a local
// subscriber (so exclude_me has nothing to exclude here), identity as
// disclosed. It holds only the received publication's pointer, so it
// fits an interface without an allocation.
type remotePublisher struct{ p *cluster.Publication }

func (r remotePublisher) ID() wamp.ID        { return r.p.Publisher }
func (r remotePublisher) AuthID() string     { return r.p.AuthID }
func (r remotePublisher) AuthRole() string   { return r.p.AuthRole }
func (r remotePublisher) Codec() codec.Codec { return nil }
func (r remotePublisher) SendEvent([]byte)   {}
