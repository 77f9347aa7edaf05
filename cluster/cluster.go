// Package cluster is the seam between the router and whatever carries its
// traffic to other nodes. It holds the interface the router calls, the
// publication envelope and the subject scheme; it imports no transport, so
// a single-node build never links NATS (package cluster/natscluster does).
package cluster

import "github.com/tollgate-wamp/tollgate/wamp"

// Cluster is what the router needs from the other nodes. The router calls
// Start once (in router.New) and Stop once (in Shutdown).
type Cluster interface {
	// Node is this node's name, unique in the cluster.
	Node() string
	// Start begins delivering remote publications to r: on one goroutine,
	// in arrival order, so one publisher's events keep their order.
	Start(r Receiver) error
	// Publish sends a local publication to every other node with interest
	// in its topic: one copy per interested node, never per subscriber. It
	// must not block on the network.
	Publish(p *Publication) error
	// Interest announces (add) or withdraws this node's interest in
	// publications matching (uri, match) in realm. The router calls it
	// once per local subscription created and once per one deleted, with
	// the realm's subscription index locked (so in index order): it must
	// not block. The cluster counts overlapping calls itself.
	Interest(realm, uri wamp.URI, match string, add bool)
	// Stop withdraws all interest and leaves the cluster.
	Stop()
	// RPC carries registrations and calls (rpc.go).
	RPC
}

// Receiver takes remote publications.
type Receiver interface {
	// Deliver routes p to the local subscribers as if it had been
	// published on this node, and returns the number of events queued.
	Deliver(p *Publication) int
	// RPCReceiver takes the registry and calls (rpc.go).
	RPCReceiver
}

// Publication is one PUBLISH crossing nodes: what the receiving node needs
// to apply exclusion, eligibility and disclosure exactly as the publishing
// node would have.
type Publication struct {
	Realm wamp.URI
	Topic wamp.URI
	ID    wamp.ID
	// Disclose is the publishing node's decision; the publisher's identity
	// travels only when it is true, so no node receives an identity it
	// must hide.
	Disclose                          bool
	Publisher                         wamp.ID
	AuthID, AuthRole                  string
	Exclude, Eligible                 []wamp.ID
	ExcludeAuthID, EligibleAuthID     []string
	ExcludeAuthRole, EligibleAuthRole []string
	Retain                            bool
	// Extra keys go into EVENT.Details (payload passthru ppt_*).
	Extra   wamp.Dict
	Payload wamp.Payload
}
