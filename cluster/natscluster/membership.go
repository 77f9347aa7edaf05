package natscluster

import (
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/cluster"
)

// Membership: every node publishes a heartbeat (name, incarnation, config
// hash, roster sequence) every HeartbeatInterval; a peer silent for
// DeadAfter is dead, once per incarnation: the OnNodeLost hooks run and
// one janitor (meta.go) publishes its sessions' testaments and on_leave.
// A peer that comes back with an incarnation already declared dead is
// told so and fences (closes its sessions, takes a new incarnation). A
// node that sees no majority of the members it knows refuses REGISTER
// (Available) and, past DrainAfter, fences itself; cut off longer than
// DeadAfter it knows the majority declared it dead, so it fences when it
// sees them again.

// FenceReason is the GOODBYE reason of sessions closed because their node
// was fenced.
const FenceReason = "tollgate.close.cluster_fenced"

// Defaults (cluster-design.md §2.8).
const (
	defaultHeartbeat = 250 * time.Millisecond
	defaultDeadAfter = 1500 * time.Millisecond
	defaultGather    = time.Second
)

type peer struct {
	inc  uint64
	seen time.Time
}

type memberKey struct {
	node string
	inc  uint64
}

// membership is one node's view. mu is a leaf: no hook, receiver call or
// NATS request runs under it (roster batches are published under it, see
// flushRoster).
type membership struct {
	r    cluster.Controller
	stop chan struct{}
	subs []*nats.Subscription

	mu    sync.Mutex
	inc   uint64
	peers map[string]*peer
	// known are the nodes counted for the majority: every node seen live
	// (or seen with a mismatching config in strict mode), minus those that
	// left cleanly.
	known map[string]bool
	dead  map[memberKey]bool
	// cutSince is when this node lost sight of the majority (zero: it
	// sees it); presumedDead is set once that lasted DeadAfter.
	cutSince     time.Time
	presumedDead bool
	warned       map[memberKey]bool // config mismatches logged
	// stalled stops the heartbeats (tests: a node that stalls, then
	// comes back, without a partition).
	stalled bool
	ctl     controlState // control.go
	roster  rosterState  // meta.go
}

// membershipDefaults fills in and checks cfg's membership settings (in
// New, before any goroutine reads cfg).
func (cfg *Config) membershipDefaults() error {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = defaultHeartbeat
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = defaultDeadAfter
	}
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = defaultGather
	}
	if cfg.ConfigMismatch == "" {
		cfg.ConfigMismatch = "strict"
	}
	if cfg.ConfigMismatch != "strict" && cfg.ConfigMismatch != "warn" {
		return errors.New(`natscluster: ConfigMismatch must be "strict" or "warn"`)
	}
	return nil
}

func (c *Cluster) startMembership(r cluster.Controller) error {
	cfg := &c.cfg
	mb := &c.mb
	mb.r, mb.stop = r, make(chan struct{})
	mb.inc = c.incarnation()
	mb.peers, mb.known, mb.dead, mb.warned = map[string]*peer{}, map[string]bool{cfg.Node: true}, map[memberKey]bool{}, map[memberKey]bool{}
	mb.roster.init()
	if err := c.subscribeControl(); err != nil { // control.go
		return err
	}
	c.heartbeat() // so the others count this node at once
	c.wg.Add(1)
	go c.members()
	return nil
}

// incarnation returns the incarnation publications carry.
func (c *Cluster) incarnation() uint64 {
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	return c.origin
}

// Members implements cluster.Membership.
func (c *Cluster) Members() []cluster.Member {
	mb := &c.mb
	mb.mu.Lock()
	out := []cluster.Member{{Node: c.cfg.Node, Incarnation: mb.inc}}
	for n, p := range mb.peers {
		out = append(out, cluster.Member{Node: n, Incarnation: p.inc})
	}
	mb.mu.Unlock()
	slices.SortFunc(out, func(a, b cluster.Member) int { return strings.Compare(a.Node, b.Node) })
	return out
}

// Available implements cluster.Membership: this node and the peers it
// hears are more than half of the nodes it knows, and it has not been
// cut off long enough to be presumed dead.
func (c *Cluster) Available() bool {
	mb := &c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return mb.availableLocked()
}

func (mb *membership) availableLocked() bool {
	return !mb.presumedDead && 2*(len(mb.peers)+1) > len(mb.known)
}

// livePeers returns the names of the live peers.
func (c *Cluster) livePeers() []string {
	mb := &c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return slices.Collect(maps.Keys(mb.peers))
}

// members is the membership goroutine: heartbeats out, silent peers
// declared dead, isolation and draining watched.
func (c *Cluster) members() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-c.mb.stop:
			return
		case <-t.C:
			c.flushRoster() // meta.go: before the heartbeat announcing it
			c.heartbeat()
			c.check(time.Now())
		}
	}
}

// check declares silent peers dead and fences this node when the
// majority presumes it dead or it was cut off past DrainAfter.
func (c *Cluster) check(now time.Time) {
	mb := &c.mb
	var lost []memberKey
	routed := c.routed()
	mb.mu.Lock()
	for n, p := range mb.peers {
		silent := now.Sub(p.seen)
		// A process that died closed its route at once: a third of
		// DeadAfter of silence then suffices (cluster-design.md §2.8).
		if silent > c.cfg.DeadAfter || routed != nil && !routed[n] && silent > c.cfg.DeadAfter/3 {
			lost = append(lost, memberKey{n, p.inc})
			delete(mb.peers, n)
			mb.dead[memberKey{n, p.inc}] = true
		}
	}
	fence := ""
	switch majority := 2*(len(mb.peers)+1) > len(mb.known); {
	case majority && mb.presumedDead:
		fence = "rejoined the majority after being presumed dead"
	case majority:
		mb.cutSince = time.Time{}
	case mb.cutSince.IsZero():
		mb.cutSince = now
	default:
		cut := now.Sub(mb.cutSince)
		if cut > c.cfg.DeadAfter && !mb.presumedDead {
			mb.presumedDead = true
			c.log.Warn("cluster: cut off from the majority; presumed dead by it", "for", cut, "live", len(mb.peers)+1, "known", len(mb.known))
		}
		if c.cfg.DrainAfter > 0 && cut > c.cfg.DrainAfter {
			fence = "cut off from the majority past partition.drain_after"
		}
	}
	mb.mu.Unlock()
	for _, k := range lost {
		c.declareDead(k)
	}
	c.runJanitors() // meta.go: orphans whose janitor died, or a regained majority
	if fence != "" {
		c.fence(fence)
	}
}

// routed returns the names of the nodes the embedded server has a route
// to (nil with an external NATS: there, only silence counts).
func (c *Cluster) routed() map[string]bool {
	if c.srv == nil {
		return nil
	}
	rz, err := c.srv.Routez(nil)
	if err != nil {
		return nil
	}
	out := make(map[string]bool, len(rz.Routes))
	for _, r := range rz.Routes {
		out[r.RemoteName] = true
	}
	return out
}

// declareDead acts on a peer incarnation found dead (declared dead under
// mu already): the hooks run once, then the janitor.
func (c *Cluster) declareDead(k memberKey) {
	c.log.Warn("cluster: node declared dead", "dead", k.node, "incarnation", k.inc)
	c.nodeLost(k.node, k.inc)
	c.orphan(k) // meta.go
}

// heartbeat publishes this node's heartbeat.
func (c *Cluster) heartbeat() {
	mb := &c.mb
	mb.mu.Lock()
	hb := ctlMsg{Kind: kindHeartbeat, Node: c.cfg.Node, Inc: mb.inc, Hash: c.cfg.ConfigHash, Seq: mb.roster.seq}
	stalled := mb.stalled
	mb.mu.Unlock()
	if !stalled {
		c.sendControl(&hb)
	}
}

// onHeartbeat records a peer's heartbeat (or goodbye).
func (c *Cluster) onHeartbeat(m *ctlMsg) {
	mb := &c.mb
	k := memberKey{m.Node, m.Inc}
	var lost, left []memberKey
	var tellDead, snapshot bool
	mb.mu.Lock()
	p := mb.peers[m.Node]
	switch {
	case m.Node == c.cfg.Node:
		// another process with this node's name: not a peer
	case m.Kind == kindLeave:
		if p != nil && p.inc == m.Inc {
			delete(mb.peers, m.Node)
			mb.dead[k] = true
			left = append(left, k)
		}
		delete(mb.known, m.Node)
	case mb.dead[k]:
		// Only a majority's verdict fences: a node that was cut off
		// declared the majority dead too.
		tellDead = mb.availableLocked()
	case m.Hash != c.cfg.ConfigHash && c.cfg.ConfigMismatch == "strict":
		mb.known[m.Node] = true // known, never live: the minority side refuses REGISTER
		if !mb.warned[k] {
			mb.warned[k] = true
			c.log.Error("cluster: peer's config differs (config_mismatch: strict); not a member", "peer", m.Node, "incarnation", m.Inc)
		}
	default:
		if m.Hash != c.cfg.ConfigHash && !mb.warned[k] {
			mb.warned[k] = true
			c.log.Warn("cluster: peer's config differs (config_mismatch: warn)", "peer", m.Node, "incarnation", m.Inc)
		}
		if p != nil && p.inc != m.Inc { // restarted faster than DeadAfter
			lost = append(lost, memberKey{m.Node, p.inc})
			mb.dead[memberKey{m.Node, p.inc}] = true
			p = nil
		}
		if p == nil {
			p = &peer{inc: m.Inc}
			mb.peers[m.Node] = p
			mb.known[m.Node] = true
		}
		p.seen = time.Now()
		snapshot = mb.roster.behind(k, m.Seq)
	}
	mb.mu.Unlock()
	for _, l := range lost {
		c.declareDead(l)
	}
	for _, l := range left { // its sessions left before it did: no janitor
		c.log.Info("cluster: node left", "node", l.node, "incarnation", l.inc)
		c.nodeLost(l.node, l.inc)
		c.dropRoster(l)
		c.queuePurge(l) // cleanup.go: it removed its callees; in case it could not
	}
	if tellDead {
		c.sendControl(&ctlMsg{Kind: kindFence, Node: m.Node, Inc: m.Inc})
	}
	if snapshot {
		c.requestSnapshot(k) // meta.go
	}
}

// onFence fences this node if it is the incarnation declared dead.
func (c *Cluster) onFence(m *ctlMsg) {
	if m.Node == c.cfg.Node && m.Inc == c.incarnation() {
		c.fence("declared dead by the majority")
	}
}

// fence closes every local session (their testaments dropped: the
// janitor published them) and rejoins with a new incarnation.
func (c *Cluster) fence(why string) {
	c.pubMu.Lock()
	old := c.origin
	c.origin = rand.Uint64() | 1
	inc := c.origin
	c.pubMu.Unlock()
	mb := &c.mb
	mb.mu.Lock()
	mb.inc = inc
	mb.presumedDead, mb.cutSince = false, time.Time{}
	mb.roster.reset()
	// What this node declared dead while cut off was a minority's view:
	// forget it, so it neither cleans up after nor fences the majority.
	mb.dead = map[memberKey]bool{}
	mb.roster.orphans, mb.roster.purges = map[memberKey]*remoteRoster{}, map[memberKey]time.Time{}
	mb.mu.Unlock()
	c.reg.fenced(old)
	c.log.Warn("cluster: fenced: closing local sessions, rejoining with a new incarnation", "why", why, "old", old, "incarnation", inc)
	mb.r.Fence(FenceReason)
	c.purgeStale() // cleanup.go: the old incarnation's entries
	c.heartbeat()
}

// leave tells the others this node is going (they drop it from the known
// members at once) and stops the membership goroutine.
func (c *Cluster) leave() {
	mb := &c.mb
	if mb.stop == nil {
		return // never started
	}
	close(mb.stop)
	for _, s := range mb.subs {
		_ = s.Unsubscribe()
	}
	c.flushRoster() // the sessions' departures, before the goodbye
	mb.mu.Lock()
	bye := ctlMsg{Kind: kindLeave, Node: c.cfg.Node, Inc: mb.inc}
	mb.mu.Unlock()
	if c.Available() { // cut off, it leaves them to the janitor
		c.purgeOwn(bye.Inc, time.Second) // cleanup.go
	}
	c.sendControl(&bye)
	if c.nc.IsConnected() { // a node cut off says goodbye to nobody
		_ = c.nc.FlushTimeout(c.cfg.HeartbeatInterval)
	}
}

// encodeCtl is json.Marshal for control messages, which cannot fail.
func encodeCtl(m *ctlMsg) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("natscluster: control message: " + err.Error())
	}
	return b
}
