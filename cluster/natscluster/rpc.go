package natscluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Calls between nodes. The caller's node sends an Invoke to the callee
// node's inbox with a reply subject naming the call, and keeps the call
// pending under that node until its final answer. Two things answer a
// pending call instead of its callee's node:
//   - a NATS "no responders" status on the reply subject: nothing
//     subscribes to that inbox, so the Invoke was certainly not delivered
//     (wamp.error.no_available_callee);
//   - the node is lost: declared dead by membership (OnNodeLost), or its
//     inbox found without responders by a probe while calls to it are
//     pending (wamp.error.canceled, details.reason
//     tollgate.cluster.node_lost).
//
// An answer that arrives for a call no longer pending is dropped, so each
// call gets one final answer.

// calls are the node's pending calls by callee node.
type calls struct {
	mu      sync.Mutex
	pending map[uint64]pendingAt
	perNode map[string]int

	// drop, when set (tests), loses the RPC messages it returns true for
	// as if NATS had.
	drop atomic.Pointer[func(*cluster.CallMsg) bool]
	lost atomic.Uint64 // calls answered message_lost (lost.go)

	names cluster.Names // the dispatch goroutine's
}

// pendingAt is where a call is pending, and whether its Invoke went out
// (a probe asks only about those: it follows them on the wire).
type pendingAt struct {
	node string
	sent bool
}

func (cs *calls) add(call uint64, node string) {
	cs.mu.Lock()
	cs.pending[call] = pendingAt{node: node}
	cs.perNode[node]++
	cs.mu.Unlock()
}

// sent notes that call's Invoke is on the wire.
func (cs *calls) sent(call uint64) {
	cs.mu.Lock()
	if p, ok := cs.pending[call]; ok {
		p.sent = true
		cs.pending[call] = p
	}
	cs.mu.Unlock()
}

// take ends call; false when it was not pending (answered already).
func (cs *calls) take(call uint64) bool {
	_, ok := cs.end(call)
	return ok
}

// end is take that also says which node the call was pending at.
func (cs *calls) end(call uint64) (string, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	p, ok := cs.pending[call]
	if ok {
		delete(cs.pending, call)
		if cs.perNode[p.node]--; cs.perNode[p.node] == 0 {
			delete(cs.perNode, p.node)
		}
	}
	return p.node, ok
}

func (cs *calls) has(call uint64) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	_, ok := cs.pending[call]
	return ok
}

// takeNode ends and returns every call pending at node.
func (cs *calls) takeNode(node string) []uint64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	var out []uint64
	for call, p := range cs.pending {
		if p.node == node {
			out = append(out, call)
			delete(cs.pending, call)
		}
	}
	delete(cs.perNode, node)
	return out
}

// Pending is the number of this node's calls waiting for another node.
func (c *Cluster) Pending() int {
	c.calls.mu.Lock()
	defer c.calls.mu.Unlock()
	return len(c.calls.pending)
}

// Incarnation implements cluster.RPC.
func (c *Cluster) Incarnation() uint64 { return c.incarnation() }

// nodeSubjects are another node's RPC subjects, built once.
type nodeSubjects struct{ inbox, answers string }

func (c *Cluster) subjectsOf(node string) *nodeSubjects {
	if v, ok := c.peerSubjects.Load(node); ok {
		return v.(*nodeSubjects)
	}
	ns := &nodeSubjects{c.sj.Inbox(node), c.sj.Answers(node)}
	c.peerSubjects.Store(node, ns)
	return ns
}

// bufs hold encoded RPC messages until nats.go has copied them.
var bufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 512) // most calls' encoding fits: no regrowth
	return &b
}}

// SendCall implements cluster.RPC. An invocation's call is indexed
// under node before it goes out, so its answer always finds it.
func (c *Cluster) SendCall(node string, m *cluster.CallMsg) error {
	var reply string
	if m.Kind == cluster.KindInvoke {
		var b [128]byte // the reply subject built on the stack: one allocation
		reply = string(strconv.AppendUint(append(b[:0], c.rpcReplies...), m.Call, 10))
		c.calls.add(m.Call, node)
	}
	if err := c.publishCall(c.subjectsOf(node).inbox, reply, "send to", node, m); err != nil {
		if m.Kind == cluster.KindInvoke {
			c.calls.take(m.Call)
		}
		return err
	}
	if m.Kind == cluster.KindInvoke {
		c.calls.sent(m.Call)
	}
	return nil
}

// Reply implements cluster.RPC.
func (c *Cluster) Reply(node string, m *cluster.CallMsg) error {
	return c.publishCall(c.subjectsOf(node).answers, "", "reply to", node, m)
}

// publishCall encodes m, from this node, into a pooled buffer and
// publishes it; nats.go has copied it when Publish returns. A publish
// error says "verb node" (an encoding error is returned as it is).
func (c *Cluster) publishCall(subject, reply, verb, node string, m *cluster.CallMsg) error {
	m.From = c.cfg.Node
	bp := bufs.Get().(*[]byte)
	defer bufs.Put(bp)
	b, err := cluster.AppendCall((*bp)[:0], m)
	if err != nil {
		return err
	}
	*bp = b
	if drop := c.calls.drop.Load(); drop != nil && (*drop)(m) {
		return nil
	}
	if err := c.nc.PublishMsg(&nats.Msg{Subject: subject, Reply: reply, Data: b}); err != nil {
		return fmt.Errorf("natscluster: %s %s: %w", verb, node, err)
	}
	return nil
}

// startRPC subscribes the node's inboxes (into the one dispatch channel),
// starts the registry and the probes.
func (c *Cluster) startRPC(ctx context.Context, r cluster.Receiver) error {
	c.reg.mu.Lock()
	c.reg.rx = r
	c.reg.mu.Unlock()
	self := c.sj.NodeSubject(c.cfg.Node)
	// the replies' prefix as the scheme defines it (cluster.Subjects.ReplyTo)
	replies := strings.TrimSuffix(c.sj.ReplyTo(c.cfg.Node, 0), "0")
	c.rpcInbox, c.rpcAnswers, c.rpcReplies, c.rpcProbes = self+".i", self+".a", replies, self+".p."
	for _, s := range []string{c.rpcInbox, c.rpcAnswers, c.rpcReplies + ">", c.rpcProbes + ">"} {
		sub, err := c.nc.ChanSubscribe(s, c.ch)
		if err != nil {
			return fmt.Errorf("natscluster: subscribe %s: %w", s, err)
		}
		c.rpcSubs = append(c.rpcSubs, sub)
	}
	c.onNodeLost(func(node string, inc uint64) { c.lose(r, node, inc, "declared lost") })
	c.wg.Add(2)
	go func() { defer c.wg.Done(); c.reg.run(ctx) }()
	go func() { defer c.wg.Done(); c.probe(ctx) }()
	return nil
}

// isRPC reports whether subject is one of this node's RPC subjects.
func (c *Cluster) isRPC(subject string) bool {
	return subject == c.rpcInbox || subject == c.rpcAnswers || strings.HasPrefix(subject, c.rpcReplies) || strings.HasPrefix(subject, c.rpcProbes)
}

func noResponders(m *nats.Msg) bool {
	return len(m.Data) == 0 && m.Header.Get("Status") == "503"
}

// handleRPC runs on the dispatch goroutine.
func (c *Cluster) handleRPC(r cluster.Receiver, m *nats.Msg) {
	switch {
	case m.Subject == c.rpcInbox:
		if len(m.Data) == 0 || m.Data[0] == probeMark {
			c.answerProbe(r, m)
			return
		}
		cm, err := c.calls.names.DecodeCall(m.Data)
		if err != nil || cm.Kind > cluster.KindCancel {
			c.invalidRPC(m, err)
			return
		}
		c.heard(cm.From)
		r.Call(cm)
	case strings.HasPrefix(m.Subject, c.rpcProbes):
		node, err := cluster.ParseProbeReply(m.Subject[len(c.rpcProbes):])
		switch {
		case err != nil:
		case noResponders(m):
			c.gone(r, node)
		default:
			c.probeAnswered(r, node, m.Data)
		}
	case m.Subject == c.rpcAnswers:
		cm, err := c.calls.names.DecodeCall(m.Data)
		if err != nil || cm.Kind < cluster.KindResult {
			c.invalidRPC(m, err)
			return
		}
		c.heard(cm.From)
		if cm.Final() && !c.calls.take(cm.Call) || !cm.Final() && !c.calls.has(cm.Call) {
			return // answered already (node lost)
		}
		r.Answer(cm)
	default: // an Invoke's reply subject: only "no responders" comes here
		call, err := strconv.ParseUint(m.Subject[len(c.rpcReplies):], 10, 64)
		if err != nil || !noResponders(m) {
			c.invalidRPC(m, err)
			return
		}
		node, ok := c.calls.end(call)
		if !ok {
			return
		}
		// A node this one has heard from has an inbox no more: it is gone
		// (one never heard from may only not be known here yet). First,
		// so its callees have left the replica when the call is rerouted.
		if _, heard := c.seen.Load(node); heard {
			c.gone(r, node)
		}
		r.Answer(&cluster.CallMsg{Kind: cluster.KindError, Call: call, Error: wamp.ErrNoAvailableCallee, NotDelivered: true, Details: wamp.Dict{},
			Payload: wamp.Payload{Args: wamp.List{"the callee's node is not in the cluster"}}})
	}
}

// heard notes that a message came from node (a read, once it is known).
func (c *Cluster) heard(node string) {
	if _, ok := c.seen.Load(node); !ok {
		c.seen.Store(node, true)
	}
}

func (c *Cluster) invalidRPC(m *nats.Msg, err error) {
	c.stats.invalid.Add(1)
	c.log.Warn("cluster: dropped RPC message", "subject", m.Subject, "err", err)
}

// lose answers every call pending at node (ERROR canceled with
// details.reason tollgate.cluster.node_lost), drops node's callees from
// the replica and lets the router settle the invocations node made here.
func (c *Cluster) lose(r cluster.Receiver, node string, inc uint64, why string) {
	c.failPending(r, node, why)
	c.reg.nodeLost(node, inc)
	r.NodeLost(node)
}

// gone is a probe's finding: node's inbox, which took this node's
// invocations, has no subscriber left anywhere. With embedded NATS its
// in-process connection closes only when it stops, so it is lost; an
// external NATS may give it its connection back, so only the pending calls
// fail (membership decides the rest).
func (c *Cluster) gone(r cluster.Receiver, node string) {
	if c.srv != nil {
		c.lose(r, node, 0, "its inbox has no responders")
		return
	}
	c.failPending(r, node, "its inbox has no responders")
}

func (c *Cluster) failPending(r cluster.Receiver, node, why string) {
	for _, call := range c.calls.takeNode(node) {
		r.Answer(&cluster.CallMsg{Kind: cluster.KindError, Call: call, Error: wamp.ErrCanceled,
			Details: wamp.Dict{"reason": cluster.ReasonNodeLost},
			Payload: wamp.Payload{Args: wamp.List{"the callee's node " + node + " is gone: " + why}}})
	}
}
