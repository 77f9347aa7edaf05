package natscluster

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Probes: every ProbeInterval a node with calls pending at another sends
// that node's inbox the ids of those calls whose Invoke went out. Two
// answers come back on the probe's reply subject:
//   - "no responders": nothing subscribes to the inbox, the node is gone
//     (rpc.go, gone);
//   - the ids among them that no invocation there is running for. Core
//     NATS is at-most-once: such a call's Invoke was lost, or its final
//     answer was. Each node's messages keep their order on the wire (one
//     connection each, one dispatch goroutine), so the probe reached the
//     callee's node after every Invoke it lists, and an answer the
//     callee's node sent before it forgot the call reached this node
//     before the probe's answer. A call still pending here then has lost
//     a message: it is answered wamp.error.canceled with details.reason
//     tollgate.cluster.message_lost.
//
// Lost progressive results, chunks and cancels are not detected this way
// (the final answer, or the call timeout, still ends the call; a lost
// chunk leaves a progressive call invocation to its timeout).

const (
	probeMark = 'P' // a probe: the asking node, then call ids
	ackMark   = 'A' // a probe's answer: the call ids unknown there
)

// probe runs until ctx ends.
func (c *Cluster) probe(ctx context.Context) {
	t := time.NewTicker(c.cfg.ProbeInterval)
	defer t.Stop()
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for node, ids := range c.calls.sentByNode() {
			buf = append(buf[:0], probeMark)
			buf = binary.AppendUvarint(buf, uint64(len(c.cfg.Node)))
			buf = append(buf, c.cfg.Node...)
			for _, id := range ids {
				buf = binary.AppendUvarint(buf, id)
			}
			_ = c.nc.PublishMsg(&nats.Msg{Subject: c.subjectsOf(node).inbox, Reply: c.sj.ProbeReply(c.cfg.Node, node), Data: buf})
		}
	}
}

// maxProbeIDs bounds the calls one probe asks about; with more pending
// at a node, each probe asks about others (map order is random), so every
// call is asked about within a few probes.
const maxProbeIDs = 4096

// sentByNode lists the pending calls whose Invoke went out, by node.
func (cs *calls) sentByNode() map[string][]uint64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make(map[string][]uint64, len(cs.perNode))
	for node := range cs.perNode {
		out[node] = nil // probed even with none sent yet: is it there?
	}
	for call, p := range cs.pending {
		if p.sent && len(out[p.node]) < maxProbeIDs {
			out[p.node] = append(out[p.node], call)
		}
	}
	return out
}

// answerProbe answers another node's probe on the dispatch goroutine:
// the calls it asks about that no invocation here is running for.
func (c *Cluster) answerProbe(r cluster.Receiver, m *nats.Msg) {
	if len(m.Data) == 0 || m.Reply == "" {
		return
	}
	node, ids, err := readProbe(m.Data[1:])
	if err != nil {
		c.invalidRPC(m, err)
		return
	}
	ack := []byte{ackMark}
	if len(ids) > 0 {
		for _, id := range r.Unknown(node, ids) {
			ack = binary.AppendUvarint(ack, id)
		}
	}
	_ = c.nc.Publish(m.Reply, ack)
}

// probeAnswered fails the calls node does not know of that are still
// pending at it.
func (c *Cluster) probeAnswered(r cluster.Receiver, node string, data []byte) {
	if len(data) == 0 || data[0] != ackMark {
		c.stats.invalid.Add(1)
		return
	}
	ids, err := readIDs(data[1:])
	if err != nil {
		c.stats.invalid.Add(1)
		return
	}
	for _, call := range ids {
		if at, ok := c.calls.end(call); !ok || at != node {
			continue // answered meanwhile (or never this node's: ignored)
		}
		c.calls.lost.Add(1)
		c.log.Warn("cluster: RPC message lost", "node", node, "call", call)
		r.Answer(&cluster.CallMsg{Kind: cluster.KindError, Call: call, Error: wamp.ErrCanceled,
			Details: wamp.Dict{"reason": cluster.ReasonMessageLost},
			Payload: wamp.Payload{Args: wamp.List{"the invocation or its answer was lost between this node and node " + node}}})
	}
}

var errProbe = errors.New("natscluster: malformed probe")

func readProbe(b []byte) (string, []uint64, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errProbe
	}
	ids, err := readIDs(b[k+int(n):])
	return string(b[k : k+int(n)]), ids, err
}

func readIDs(b []byte) ([]uint64, error) {
	var ids []uint64
	for len(b) > 0 {
		id, k := binary.Uvarint(b)
		if k <= 0 {
			return nil, errProbe
		}
		ids, b = append(ids, id), b[k:]
	}
	return ids, nil
}

// MessagesLost is the number of calls answered
// tollgate.cluster.message_lost here.
func (c *Cluster) MessagesLost() uint64 { return c.calls.lost.Load() }
