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
	// Membership knows the live nodes, their sessions and the control
	// messages between them (membership.go).
	Membership
}

// Receiver takes remote publications.
type Receiver interface {
	// Deliver routes p to the local subscribers as if it had been
	// published on this node, and returns the number of events queued.
	Deliver(p *Publication) int
	// RPCReceiver takes the registry and calls (rpc.go).
	RPCReceiver
	// Controller takes control messages and meta queries from other nodes.
	Controller
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

// ---- membership, meta gather and control (docs/cluster.md, "Membership
// and faults", "Meta API across nodes") ----

// Member is one live node: its name and the incarnation of its current
// process (random per start, new after fencing).
type Member struct {
	Node        string
	Incarnation uint64
}

// Membership is the cluster's view of its nodes, what the meta API
// gathers from them and the session roster a dead node's janitor needs.
// None of its methods blocks on the network except Gather.
type Membership interface {
	// Members returns the live members, this node included, by name.
	Members() []Member
	// Available reports whether this node sees a majority of the members
	// it knows of; a node that does not refuses REGISTER.
	Available() bool
	// Gather sends query to every other live member of realm's cluster
	// and returns their answers (Controller.AnswerGather on each), waiting until
	// all answered or the gather timeout; missing names those that did
	// not answer in time.
	Gather(realm wamp.URI, query []byte) (answers [][]byte, missing []string)
	// Interested reports whether another node may have a subscriber to
	// topic in realm (false only when it surely has none), so a meta event
	// nobody listens to anywhere is not built.
	Interested(realm, topic wamp.URI) bool
	// Broadcast sends body to every other node (Controller.Control on
	// each, once).
	Broadcast(realm wamp.URI, body []byte) error
	// SessionJoined, SessionTestaments and SessionLeft keep the roster the
	// other nodes hold of this node's sessions, so that when it dies one
	// of them publishes their testaments and on_leave. They batch: the
	// roster reaches the others within one heartbeat interval.
	SessionJoined(realm wamp.URI, s SessionInfo)
	SessionTestaments(realm wamp.URI, id wamp.ID, testaments [][]byte)
	SessionLeft(realm wamp.URI, id wamp.ID)
}

// SessionInfo is what the other nodes keep of a session.
type SessionInfo struct {
	ID               wamp.ID
	AuthID, AuthRole string
	// Testaments are the session's testaments in publishing order, each a
	// CBOR-encoded PUBLISH (topic, publish options, payload).
	Testaments [][]byte `json:",omitempty"`
}

// Controller is the router's side of membership and control.
type Controller interface {
	// AnswerGather serves another node's Gather query; it must not block.
	AnswerGather(realm wamp.URI, query []byte) []byte
	// Control applies another node's Broadcast; it must not block.
	Control(realm wamp.URI, body []byte)
	// Orphaned hands this node, the janitor of a dead node, that node's
	// sessions of realm: publish their testaments, then on_leave. It
	// reports false if it cannot take them (shutting down): another node
	// will.
	Orphaned(realm wamp.URI, sessions []SessionInfo) bool
	// Fence closes every local session with reason, dropping their
	// testaments (the janitor published them): this node was declared
	// dead, or was cut off from the majority past partition.drain_after.
	Fence(reason wamp.URI)
}
