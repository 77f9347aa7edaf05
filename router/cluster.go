package router

import (
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
	c cluster.Cluster
	r *Router

	mu sync.Mutex // a leaf: announced holds what Interest was told
	// announced maps a live subscription's id to its (realm, topic,
	// match), which broker.Detached does not carry.
	announced map[wamp.ID]announcedSub
}

type announcedSub struct {
	realm, topic wamp.URI
	match        string
}

// startCluster links r to c (nil: none) and starts delivery.
func startCluster(r *Router, c cluster.Cluster) (*clusterLink, error) {
	if c == nil {
		return nil, nil
	}
	l := &clusterLink{c: c, r: r, announced: map[wamp.ID]announcedSub{}}
	if err := c.Start(l); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *clusterLink) stop() {
	if l != nil {
		l.c.Stop()
	}
}

// subscribed announces a subscription the broker just created.
func (l *clusterLink) subscribed(rm *realm, id wamp.ID, topic wamp.URI, match string, created bool) {
	if l == nil || !created {
		return
	}
	l.mu.Lock()
	l.announced[id] = announcedSub{rm.name, topic, match}
	l.mu.Unlock()
	l.c.Interest(rm.name, topic, match, true)
}

// unsubscribed withdraws a subscription the broker just deleted.
func (l *clusterLink) unsubscribed(d broker.Detached) {
	if l == nil || !d.Deleted {
		return
	}
	l.mu.Lock()
	a, ok := l.announced[d.ID]
	delete(l.announced, d.ID)
	l.mu.Unlock()
	if ok {
		l.c.Interest(a.realm, a.topic, a.match, false)
	}
}

// publish sends a local publication to the nodes with interest in it.
func (l *clusterLink) publish(rm *realm, p *broker.Publication) {
	if l == nil {
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
	rm := l.r.realms[p.Realm]
	if rm == nil {
		return 0 // a realm this node does not serve
	}
	return rm.broker.Publish(&broker.Publication{
		ID: p.ID, Topic: p.Topic,
		Publisher: remotePublisher{p.Publisher, p.AuthID, p.AuthRole},
		Disclose:  p.Disclose,
		Exclude:   p.Exclude, Eligible: p.Eligible,
		ExcludeAuthID: p.ExcludeAuthID, EligibleAuthID: p.EligibleAuthID,
		ExcludeAuthRole: p.ExcludeAuthRole, EligibleAuthRole: p.EligibleAuthRole,
		Retain: p.Retain, Extra: p.Extra, Payload: p.Payload,
	})
}

// remotePublisher stands for a publisher on another node: never a local
// subscriber (so exclude_me has nothing to exclude here), identity as
// disclosed.
type remotePublisher struct {
	id               wamp.ID
	authid, authrole string
}

func (p remotePublisher) ID() wamp.ID        { return p.id }
func (p remotePublisher) AuthID() string     { return p.authid }
func (p remotePublisher) AuthRole() string   { return p.authrole }
func (p remotePublisher) Codec() codec.Codec { return nil }
func (p remotePublisher) SendEvent([]byte)   {}
