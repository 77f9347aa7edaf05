package broker

import (
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// StoreBounds bound the bytes retained events and event history keep.
// Sizes are what a stored event holds: its encoded payload and options
// (storedSize). Eviction is oldest first (least recently retained topic;
// oldest event of a history), so after a publisher's large events are
// replaced or evicted nothing keeps them alive.
type StoreBounds struct {
	// EventBytes: a larger event is neither retained nor kept in history
	// (it is still delivered live); a topic's older retained event is
	// dropped, since it is no longer the latest. 0: unbounded.
	EventBytes int64
	// RetainedBytes bounds all retained events of the broker. 0: unbounded.
	RetainedBytes int64
	// Evicted counts stored events evicted to stay within a bound, and
	// TooLarge events not stored for EventBytes. Either may be nil.
	Evicted, TooLarge *atomic.Uint64
}

// SetStoreBounds sets the byte bounds. Call it before the broker is used.
func (b *Broker) SetStoreBounds(sb StoreBounds) { b.stores.bounds = sb }

// storedOverhead approximates a stored snapshot's fixed cost (the
// Publication, its publisher, list and map headers).
const storedOverhead = 512

// storedSize is what a snapshot of p holds in memory, approximately: the
// payload as received (or encoded, for payload built in the router), the
// topic and the options.
func storedSize(p *Publication) int64 {
	n := int64(storedOverhead + len(p.Topic))
	if r := p.Payload.Raw; r != nil {
		n += int64(len(r.Args) + len(r.Kwargs))
	} else if !p.Payload.Empty() {
		f, err := codec.MsgPack.Encode(nil, &wamp.Event{Details: wamp.Dict{}, Payload: p.Payload})
		if err == nil {
			n += int64(len(f))
		}
	}
	if len(p.Extra) > 0 {
		f, err := codec.MsgPack.Encode(nil, &wamp.Event{Details: p.Extra})
		if err == nil {
			n += int64(len(f))
		}
	}
	for _, l := range [][]string{p.ExcludeAuthID, p.EligibleAuthID, p.ExcludeAuthRole, p.EligibleAuthRole} {
		for _, s := range l {
			n += int64(len(s)) + 16
		}
	}
	return n
}

func count(c *atomic.Uint64, n int) {
	if c != nil && n > 0 {
		c.Add(uint64(n))
	}
}

// retainedEvent is a topic's retained snapshot and its size.
type retainedEvent struct {
	p    *Publication
	size int64
}

// retain makes snap (of size bytes) its topic's retained event and evicts
// the least recently retained topics over the bounds.
func (st *stores) retain(snap *Publication, size int64) {
	st.retainMu.Lock()
	defer st.retainMu.Unlock()
	e := st.retained[snap.Topic]
	if st.bounds.EventBytes > 0 && size > st.bounds.EventBytes {
		count(st.bounds.TooLarge, 1)
		if e != nil { // no longer the latest: drop it
			st.retainedBytes -= st.lru.Remove(e).(*retainedEvent).size
			delete(st.retained, snap.Topic)
		}
		return
	}
	if e != nil {
		r := e.Value.(*retainedEvent)
		st.retainedBytes += size - r.size
		e.Value = &retainedEvent{snap, size}
		st.lru.MoveToFront(e)
	} else {
		st.retained[snap.Topic] = st.lru.PushFront(&retainedEvent{snap, size})
		st.retainedBytes += size
	}
	evicted := 0
	for st.lru.Len() > st.retainMax || st.bounds.RetainedBytes > 0 && st.retainedBytes > st.bounds.RetainedBytes {
		old := st.lru.Remove(st.lru.Back()).(*retainedEvent)
		delete(st.retained, old.p.Topic)
		st.retainedBytes -= old.size
		evicted++
	}
	count(st.bounds.Evicted, evicted)
}

// RetainedBytes is the accounted size of the retained events.
func (b *Broker) RetainedBytes() int64 {
	b.stores.retainMu.Lock()
	defer b.stores.retainMu.Unlock()
	return b.stores.retainedBytes
}

// HistoryBytes is the accounted size of all event histories.
func (b *Broker) HistoryBytes() int64 {
	var n int64
	for _, h := range b.stores.histories {
		h.mu.Lock()
		n += h.bytes
		h.mu.Unlock()
	}
	return n
}
