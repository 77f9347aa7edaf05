package natscluster

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The session roster and the janitor. Every node keeps, for each live
// peer incarnation, the list of its sessions (id, authid, authrole,
// testaments): enough to publish their testaments and on_leave when that
// node dies without saying goodbye. A node sends its changes in batches
// (at most one per heartbeat interval, numbered; testament changes at
// once); a peer that misses a
// batch (the heartbeat announces the last number) asks for a snapshot.
// No consensus store is involved: sessions that joined within the last
// batch window before a crash may miss their on_leave (documented).
//
// The janitor of a dead incarnation is the live member with the smallest
// name, as each survivor sees it, and only while it sees a majority: the
// majority's members agree on who is live once DeadAfter has passed, and
// a minority never acts. It hands the sessions to the router
// (Controller.Orphaned) and tells the others, who drop their copy. Should
// the janitor die first, the next smallest takes over the copies it still
// holds.

// batchOps bounds one roster message (testaments make entries large).
const batchOps = 512

type rkey struct {
	realm wamp.URI
	id    wamp.ID
}

// rosterOp is one change (or, in a snapshot, one session).
type rosterOp struct {
	Realm wamp.URI            `json:"r"`
	Left  bool                `json:"l,omitempty"`
	S     cluster.SessionInfo `json:"s"`
}

type remoteRoster struct {
	seq      uint64
	sessions map[rkey]cluster.SessionInfo
	snapping bool      // a snapshot request is in flight
	dead     time.Time // when it was orphaned
}

// rosterState is under membership.mu.
type rosterState struct {
	seq     uint64 // the last batch sent
	local   map[rkey]cluster.SessionInfo
	pending []rosterOp
	remote  map[memberKey]*remoteRoster
	orphans map[memberKey]*remoteRoster
	// cleaned are the dead incarnations whose janitor reported: its notice
	// may arrive before this node declares the death itself.
	cleaned map[memberKey]bool
	// purges are the gone incarnations whose callees are still to be
	// removed from the registry (since when); purged those whose janitor
	// reported it (cleanup.go).
	purges map[memberKey]time.Time
	purged map[memberKey]bool
}

func (rs *rosterState) init() {
	rs.reset()
	rs.remote, rs.orphans, rs.cleaned = map[memberKey]*remoteRoster{}, map[memberKey]*remoteRoster{}, map[memberKey]bool{}
	rs.purges, rs.purged = map[memberKey]time.Time{}, map[memberKey]bool{}
}

// reset starts a new incarnation's roster.
func (rs *rosterState) reset() {
	rs.seq, rs.local, rs.pending = 0, map[rkey]cluster.SessionInfo{}, nil
}

// behind reports whether a peer announced a roster beyond what this node
// holds of it (a batch was lost), and marks a snapshot as requested.
func (rs *rosterState) behind(k memberKey, seq uint64) bool {
	rr := rs.remote[k]
	if rr == nil {
		rr = &remoteRoster{sessions: map[rkey]cluster.SessionInfo{}}
		rs.remote[k] = rr
	}
	if rr.seq >= seq || rr.snapping {
		return false
	}
	rr.snapping = true
	return true
}

// SessionJoined implements cluster.Membership.
func (c *Cluster) SessionJoined(realm wamp.URI, s cluster.SessionInfo) {
	c.rosterChange(rosterOp{Realm: realm, S: s})
}

// SessionTestaments implements cluster.Membership.
func (c *Cluster) SessionTestaments(realm wamp.URI, id wamp.ID, testaments [][]byte) {
	mb := &c.mb
	mb.mu.Lock()
	s, ok := mb.roster.local[rkey{realm, id}]
	mb.mu.Unlock()
	if ok {
		s.Testaments = testaments
		c.rosterChange(rosterOp{Realm: realm, S: s})
		c.flushRoster() // at once: rare, and a testament matters most at a crash
	}
}

// SessionLeft implements cluster.Membership.
func (c *Cluster) SessionLeft(realm wamp.URI, id wamp.ID) {
	c.rosterChange(rosterOp{Realm: realm, Left: true, S: cluster.SessionInfo{ID: id}})
}

func (c *Cluster) rosterChange(op rosterOp) {
	mb := &c.mb
	k := rkey{op.Realm, op.S.ID}
	mb.mu.Lock()
	defer mb.mu.Unlock()
	if op.Left {
		if _, ok := mb.roster.local[k]; !ok {
			return // joined before a fence, or never announced
		}
		delete(mb.roster.local, k)
	} else {
		mb.roster.local[k] = op.S
	}
	mb.roster.pending = append(mb.roster.pending, op)
}

// flushRoster sends the pending changes. It publishes under mu so that
// batches go out in sequence order (nats.go buffers; see LOCKING.md).
func (c *Cluster) flushRoster() {
	mb := &c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	for len(mb.roster.pending) > 0 {
		n := min(len(mb.roster.pending), batchOps)
		mb.roster.seq++
		m := ctlMsg{Kind: kindRoster, Node: c.cfg.Node, Inc: mb.inc, Seq: mb.roster.seq, Ops: mb.roster.pending[:n]}
		c.sendControl(&m)
		mb.roster.pending = mb.roster.pending[n:]
	}
	mb.roster.pending = nil
}

func applyOps(sessions map[rkey]cluster.SessionInfo, ops []rosterOp) {
	for _, op := range ops {
		if op.Left {
			delete(sessions, rkey{op.Realm, op.S.ID})
		} else {
			sessions[rkey{op.Realm, op.S.ID}] = op.S
		}
	}
}

// onRoster applies a peer's batch, or asks for a snapshot if one is
// missing before it.
func (c *Cluster) onRoster(m *ctlMsg) {
	mb := &c.mb
	k := memberKey{m.Node, m.Inc}
	mb.mu.Lock()
	if mb.dead[k] || m.Node == c.cfg.Node {
		mb.mu.Unlock()
		return
	}
	rr := mb.roster.remote[k]
	if rr == nil {
		rr = &remoteRoster{sessions: map[rkey]cluster.SessionInfo{}}
		mb.roster.remote[k] = rr
	}
	snapshot := false
	switch {
	case m.Seq == rr.seq+1:
		applyOps(rr.sessions, m.Ops)
		rr.seq = m.Seq
	case m.Seq > rr.seq+1 && !rr.snapping:
		rr.snapping, snapshot = true, true
	}
	mb.mu.Unlock()
	if snapshot {
		c.requestSnapshot(k)
	}
}

// requestSnapshot fetches peer k's whole roster (off the control
// goroutine).
func (c *Cluster) requestSnapshot(k memberKey) {
	go func() {
		req := ctlMsg{Kind: "snap", Node: k.node, Inc: k.inc}
		msg, err := c.nc.Request(c.cfg.SubjectPrefix+".q.snap", encodeCtl(&req), c.cfg.GatherTimeout)
		var a ctlMsg
		if err == nil {
			err = json.Unmarshal(msg.Data, &a)
		}
		mb := &c.mb
		mb.mu.Lock()
		defer mb.mu.Unlock()
		rr := mb.roster.remote[k]
		if rr == nil {
			return // dead meanwhile
		}
		rr.snapping = false
		if err != nil {
			c.log.Warn("cluster: roster snapshot failed", "peer", k.node, "err", err)
			return
		}
		if a.Seq >= rr.seq {
			rr.sessions = map[rkey]cluster.SessionInfo{}
			applyOps(rr.sessions, a.Ops)
			rr.seq = a.Seq
		}
	}()
}

// onSnapshotRequest answers with this node's roster if it is the one
// asked for.
func (c *Cluster) onSnapshotRequest(msg *nats.Msg) {
	var q ctlMsg
	if json.Unmarshal(msg.Data, &q) != nil || q.Node != c.cfg.Node || msg.Reply == "" {
		return
	}
	mb := &c.mb
	mb.mu.Lock()
	if q.Inc != mb.inc {
		mb.mu.Unlock()
		return
	}
	a := ctlMsg{Kind: "snap", Node: c.cfg.Node, Inc: mb.inc, Seq: mb.roster.seq, Ops: make([]rosterOp, 0, len(mb.roster.local))}
	for k, s := range mb.roster.local {
		a.Ops = append(a.Ops, rosterOp{Realm: k.realm, S: s})
	}
	mb.mu.Unlock()
	if err := c.nc.Publish(msg.Reply, encodeCtl(&a)); err != nil {
		c.log.Warn("cluster: roster snapshot not sent", "err", err)
	}
}

// dropRoster forgets a peer that left cleanly.
func (c *Cluster) dropRoster(k memberKey) {
	c.mb.mu.Lock()
	delete(c.mb.roster.remote, k)
	c.mb.mu.Unlock()
}

// orphan keeps a dead incarnation's roster until its janitor is done.
func (c *Cluster) orphan(k memberKey) {
	c.queuePurge(k) // cleanup.go
	mb := &c.mb
	mb.mu.Lock()
	if rr := mb.roster.remote[k]; rr != nil {
		delete(mb.roster.remote, k)
		if len(rr.sessions) > 0 && !mb.roster.cleaned[k] {
			rr.dead = time.Now()
			mb.roster.orphans[k] = rr
		}
	}
	mb.mu.Unlock()
	c.runJanitors()
}

// runJanitors cleans up the orphans this node is the janitor of, and
// forgets those another janitor should have cleaned long ago.
func (c *Cluster) runJanitors() {
	mb := &c.mb
	mb.mu.Lock()
	if len(mb.roster.orphans) == 0 && len(mb.roster.purges) == 0 {
		mb.mu.Unlock()
		return
	}
	janitor := mb.availableLocked()
	for n := range mb.peers {
		janitor = janitor && c.cfg.Node < n
	}
	var mine map[memberKey]*remoteRoster
	var purges map[memberKey]time.Time
	if janitor {
		mine, mb.roster.orphans = mb.roster.orphans, map[memberKey]*remoteRoster{}
		purges, mb.roster.purges = mb.roster.purges, map[memberKey]time.Time{}
	} else {
		for k, rr := range mb.roster.orphans {
			if time.Since(rr.dead) > 4*c.cfg.DeadAfter {
				delete(mb.roster.orphans, k)
			}
		}
		for k, since := range mb.roster.purges {
			if time.Since(since) > 4*c.cfg.DeadAfter {
				delete(mb.roster.purges, k)
			}
		}
	}
	mb.mu.Unlock()
	for k, since := range purges {
		c.purgeDead(k, since) // cleanup.go
	}
	for k, rr := range mine {
		byRealm := map[wamp.URI][]cluster.SessionInfo{}
		for rk, s := range rr.sessions {
			byRealm[rk.realm] = append(byRealm[rk.realm], s)
		}
		c.log.Info("cluster: janitor of a dead node", "dead", k.node, "incarnation", k.inc, "sessions", len(rr.sessions))
		taken := true
		for realm, ss := range byRealm {
			if !mb.r.Orphaned(realm, ss) {
				taken = false
				break
			}
		}
		if !taken { // shutting down: leave it to the next janitor
			continue
		}
		c.sendControl(&ctlMsg{Kind: kindJanitor, Node: k.node, Inc: k.inc})
	}
}

// onJanitor drops the copy of a roster its janitor took care of.
func (c *Cluster) onJanitor(m *ctlMsg) {
	k := memberKey{m.Node, m.Inc}
	rs := &c.mb.roster
	c.mb.mu.Lock()
	if m.Regs {
		delete(rs.purges, k)
		rs.purged[k] = true
	} else {
		delete(rs.orphans, k)
		rs.cleaned[k] = true
	}
	c.mb.mu.Unlock()
}
