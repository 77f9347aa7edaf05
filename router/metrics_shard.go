package router

import (
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Per-message counters are sharded per connection (issue 12 #4): each
// connection counts its own messages and bytes in msgCounters, a block no
// other connection writes, so routing on several cores touches no
// router-wide cache line per message. A scrape sums the live connections
// (under Router.mu) and the totals of closed ones, which serveConn folds
// into Router.retired under the same lock when a connection ends — once
// per connection, not per message — so a sum never counts a connection
// twice or misses it.

// msgTypes bounds the message type codes (YIELD is 70).
const msgTypes = 71

// msgSlots is the number of dense slots, one per known message type.
const msgSlots = 24

// slotOf maps a message type to its dense slot plus one (0: not counted).
var slotOf = func() (t [msgTypes]uint8) {
	n := uint8(0)
	for mt := range wamp.MessageType(msgTypes) {
		if mt.Known() {
			n++
			t[mt] = n
		}
	}
	if n > msgSlots {
		panic("router: more message types than msgSlots")
	}
	if t[wamp.TypeHello] != 1 || t[wamp.TypeGoodbye] != hsSlots {
		panic("router: the handshake's types are not the first hsSlots slots")
	}
	return t
}()

// typeOfSlot is slotOf's inverse.
var typeOfSlot = func() (t [msgSlots]wamp.MessageType) {
	for mt, s := range slotOf {
		if s > 0 {
			t[s-1] = wamp.MessageType(mt)
		}
	}
	return t
}()

// hsSlots is how many slots, those of the handshake's types (HELLO …
// GOODBYE, codes 1–6), a connection counts inline; an idle session never
// sends or receives another kind, so the rest of the counters (msgRest,
// 288 bytes) come with its first other message.
const hsSlots = 6

// msgCounters are one connection's message and byte counts. Received
// counts and bytesIn have a single writer (the read loop) and are updated
// with a load and a store (no locked instruction); sent counts and
// bytesOut are written by every goroutine that queues to this
// connection, so they use Add.
type msgCounters struct {
	hsIn, hsOut       [hsSlots]atomic.Uint64
	bytesIn, bytesOut atomic.Uint64
	rest              atomic.Pointer[msgRest]
}

// msgRest counts the slots from hsSlots on.
type msgRest struct {
	received, sent [msgSlots - hsSlots]atomic.Uint64
}

// counter is slot s's count of received (in) or sent messages, making
// the rest of the block if s needs it.
func (mc *msgCounters) counter(s int, in bool) *atomic.Uint64 {
	if s < hsSlots {
		if in {
			return &mc.hsIn[s]
		}
		return &mc.hsOut[s]
	}
	r := mc.rest.Load()
	if r == nil {
		if r = new(msgRest); !mc.rest.CompareAndSwap(nil, r) {
			r = mc.rest.Load()
		}
	}
	if in {
		return &r.received[s-hsSlots]
	}
	return &r.sent[s-hsSlots]
}

// in counts a message read by the connection's read loop (its only writer).
func (mc *msgCounters) in(t wamp.MessageType, bytes int) {
	if t < msgTypes {
		if s := slotOf[t]; s > 0 {
			c := mc.counter(int(s-1), true)
			c.Store(c.Load() + 1)
		}
	}
	mc.bytesIn.Store(mc.bytesIn.Load() + uint64(bytes))
}

// out counts a message queued to the connection.
func (mc *msgCounters) out(t wamp.MessageType, bytes int) {
	if t < msgTypes {
		if s := slotOf[t]; s > 0 {
			mc.counter(int(s-1), false).Add(1)
		}
	}
	mc.bytesOut.Add(uint64(bytes))
}

// msgTotals is a plain sum of msgCounters.
type msgTotals struct {
	received, sent    [msgSlots]uint64
	bytesIn, bytesOut uint64
	calls             callTotals // metrics_calls.go
}

func (mt *msgTotals) add(mc *msgCounters) {
	for i := range hsSlots {
		mt.received[i] += mc.hsIn[i].Load()
		mt.sent[i] += mc.hsOut[i].Load()
	}
	if r := mc.rest.Load(); r != nil {
		for i := range r.received {
			mt.received[hsSlots+i] += r.received[i].Load()
			mt.sent[hsSlots+i] += r.sent[i].Load()
		}
	}
	mt.bytesIn += mc.bytesIn.Load()
	mt.bytesOut += mc.bytesOut.Load()
}

// retire folds the counts of c, which is leaving r.conns, into r.retired.
// r.mu must be held.
func (r *Router) retire(c *conn) {
	r.retired.add(&c.msgs)
	r.retired.calls.add(c.calls.Load())
}

// messageTotals sums every connection's counters, closed ones included.
func (r *Router) messageTotals() (mt msgTotals, conns int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mt = r.retired
	for c := range r.conns {
		mt.add(&c.msgs)
		mt.calls.add(c.calls.Load())
	}
	return mt, len(r.conns)
}
