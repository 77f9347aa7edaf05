package natscluster

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Control traffic: <prefix>.ctl.<kind> carries heartbeats, goodbyes,
// fence notices, roster batches, janitor notices and broadcasts, all on
// one subscription (so one goroutine, in each sender's order: a roster
// batch is applied before the heartbeat that announces it);
// <prefix>.q.meta carries gather queries and <prefix>.q.snap roster
// snapshot requests, each on its own subscription so a slow answer never
// delays a heartbeat. An event subject's third token is always "ev", so
// a realm named "ctl" or "q" cannot collide.

const (
	kindHeartbeat = "hb"
	kindLeave     = "bye"
	kindFence     = "fence"
	kindRoster    = "roster"
	kindJanitor   = "janitor"
	kindBroadcast = "bcast"
)

// ctlMsg is every control message (JSON: rare, small, and readable with
// the nats CLI).
type ctlMsg struct {
	Kind  string     `json:"k"`
	Node  string     `json:"n"` // the sender; fence, janitor, snapshot request: the node concerned
	Inc   uint64     `json:"i"`
	Hash  string     `json:"h,omitempty"`
	Seq   uint64     `json:"s,omitempty"` // roster sequence; broadcast id
	Realm wamp.URI   `json:"r,omitempty"`
	Body  []byte     `json:"b,omitempty"`
	Ops   []rosterOp `json:"o,omitempty"` // roster batch or snapshot
	Regs  bool       `json:"g,omitempty"` // janitor: the registry part (cleanup.go)
}

// controlState dedupes broadcasts: per origin incarnation, the ids seen
// (a broadcast id is the origin's counter; a window of recent ids).
type controlState struct {
	next uint64
	seen map[uint64]map[uint64]bool
}

const dedupeWindow = 1024

func (c *Cluster) ctlSubject(kind string) string { return c.cfg.SubjectPrefix + ".ctl." + kind }

func (c *Cluster) subscribeControl() error {
	mb := &c.mb
	mb.ctl.seen = map[uint64]map[uint64]bool{}
	ctl, err := c.nc.Subscribe(c.cfg.SubjectPrefix+".ctl.*", c.onControl)
	if err != nil {
		return err
	}
	q, err := c.nc.Subscribe(c.cfg.SubjectPrefix+".q.meta", c.onQuery)
	if err != nil {
		return err
	}
	snap, err := c.nc.Subscribe(c.cfg.SubjectPrefix+".q.snap", c.onSnapshotRequest)
	if err != nil {
		return err
	}
	mb.subs = []*nats.Subscription{ctl, q, snap}
	return nil
}

func (c *Cluster) sendControl(m *ctlMsg) {
	if err := c.nc.Publish(c.ctlSubject(m.Kind), encodeCtl(m)); err != nil {
		c.log.Warn("cluster: control message not sent", "kind", m.Kind, "err", err)
	}
}

func (c *Cluster) onControl(msg *nats.Msg) {
	var m ctlMsg
	if err := json.Unmarshal(msg.Data, &m); err != nil || m.Node == "" {
		c.log.Warn("cluster: bad control message", "subject", msg.Subject, "err", err)
		return
	}
	switch m.Kind {
	case kindHeartbeat, kindLeave:
		c.onHeartbeat(&m)
	case kindFence:
		c.onFence(&m)
	case kindRoster:
		c.onRoster(&m) // meta.go
	case kindJanitor:
		c.onJanitor(&m) // meta.go
	case kindBroadcast:
		if c.firstSeen(m.Inc, m.Seq) {
			c.mb.r.Control(m.Realm, m.Body)
		}
	}
}

// firstSeen reports whether broadcast (origin, id) is new.
func (c *Cluster) firstSeen(origin, id uint64) bool {
	mb := &c.mb
	mb.mu.Lock()
	defer mb.mu.Unlock()
	s := mb.ctl.seen[origin]
	if s == nil {
		s = map[uint64]bool{}
		mb.ctl.seen[origin] = s
	}
	if s[id] {
		return false
	}
	s[id] = true
	delete(s, id-dedupeWindow) // ids grow by one: keep a window
	return true
}

// Interested implements cluster.Membership: the embedded server knows
// every node's interest (one of the counted subscriptions may be this
// node's own); an external NATS cannot be asked.
func (c *Cluster) Interested(realm, topic wamp.URI) bool {
	return c.srv == nil || c.InterestCount(realm, topic) > 0
}

// Broadcast implements cluster.Membership.
func (c *Cluster) Broadcast(realm wamp.URI, body []byte) error {
	mb := &c.mb
	mb.mu.Lock()
	mb.ctl.next++
	m := ctlMsg{Kind: kindBroadcast, Node: c.cfg.Node, Inc: mb.inc, Seq: mb.ctl.next, Realm: realm, Body: body}
	mb.mu.Unlock()
	return c.nc.Publish(c.ctlSubject(kindBroadcast), encodeCtl(&m))
}

// Gather implements cluster.Membership.
func (c *Cluster) Gather(realm wamp.URI, query []byte) (answers [][]byte, missing []string) {
	want := c.livePeers()
	if len(want) == 0 {
		return nil, nil
	}
	inbox := c.nc.NewInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, want
	}
	defer func() { _ = sub.Unsubscribe() }()
	q := ctlMsg{Kind: "q", Node: c.cfg.Node, Realm: realm, Body: query}
	if err := c.nc.PublishRequest(c.cfg.SubjectPrefix+".q.meta", inbox, encodeCtl(&q)); err != nil {
		return nil, want
	}
	pending := map[string]bool{}
	for _, n := range want {
		pending[n] = true
	}
	deadline := time.Now().Add(c.cfg.GatherTimeout)
	for len(pending) > 0 {
		msg, err := sub.NextMsg(time.Until(deadline))
		if err != nil {
			break // the timeout (or the connection closing)
		}
		var a ctlMsg
		if json.Unmarshal(msg.Data, &a) != nil || !pending[a.Node] {
			continue
		}
		delete(pending, a.Node)
		answers = append(answers, a.Body)
	}
	for n := range pending {
		missing = append(missing, n)
	}
	if len(missing) > 0 {
		c.log.Warn("cluster: meta gather incomplete", "realm", realm, "missing", missing)
	}
	return answers, missing
}

// onQuery answers a gather query.
func (c *Cluster) onQuery(msg *nats.Msg) {
	var q ctlMsg
	if json.Unmarshal(msg.Data, &q) != nil || q.Node == c.cfg.Node || msg.Reply == "" {
		return
	}
	a := ctlMsg{Kind: "a", Node: c.cfg.Node, Body: c.mb.r.AnswerGather(q.Realm, q.Body)}
	if err := c.nc.Publish(msg.Reply, encodeCtl(&a)); err != nil {
		c.log.Warn("cluster: meta answer not sent", "err", err)
	}
}
