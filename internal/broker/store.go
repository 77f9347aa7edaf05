package broker

import (
	"container/list"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/match"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Event retention (PUBLISH.Options.retain, SUBSCRIBE.Options.get_retained)
// and event history (wamp.subscription.get_events) live here. Both keep
// copies of publications in memory, bounded by configuration; neither is
// persistent.
//
// Locks: stores.retainMu guards the retained events; each history has its
// own mu. Neither is held together with Broker.mu, nor while a frame is
// queued.

type stores struct {
	bounds        StoreBounds // storebounds.go
	retainMax     int         // 0: retention off
	retainMu      sync.Mutex
	retained      map[wamp.URI]*list.Element // values are *retainedEvent (snapshots)
	lru           list.List                  // front: most recently retained
	retainedBytes int64

	// history and histories are immutable after SetHistory: publishes
	// look it up without a lock; each history guards its own ring.
	history   *match.Index[*history]
	histories []*history
}

// SetRetention enables event retention with room for max topics (least
// recently retained topic evicted first). max <= 0 turns retention off:
// retain is then ignored, as the spec allows. Call it before the broker
// is used.
func (b *Broker) SetRetention(max int) {
	b.stores.retainMax = max
	b.stores.retained = map[wamp.URI]*list.Element{}
}

// HistoryConfig keeps the last Limit events published to topics matching
// (Topic, Match), at most Bytes of them (0: unbounded; storedSize).
type HistoryConfig struct {
	Topic wamp.URI
	Match string // exact, prefix, wildcard
	Limit int
	Bytes int64
}

// SetHistory configures the event history stores. Each (Topic, Match) may
// appear once and Limit must be positive. Call it before the broker is
// used.
func (b *Broker) SetHistory(cfgs []HistoryConfig) error {
	if len(cfgs) == 0 {
		return nil
	}
	ix := match.New[*history]()
	var errs []error
	for i, c := range cfgs {
		m := c.Match
		if m == "" {
			m = wamp.MatchExact
		}
		switch {
		case m != wamp.MatchExact && m != wamp.MatchPrefix && m != wamp.MatchWildcard:
			errs = append(errs, fmt.Errorf("event history %d (%s): match must be exact, prefix or wildcard, got %q", i, c.Topic, c.Match))
		case c.Limit <= 0:
			errs = append(errs, fmt.Errorf("event history %d (%s): limit must be positive, got %d", i, c.Topic, c.Limit))
		default:
			if _, dup := ix.Get(c.Topic, m); dup {
				errs = append(errs, fmt.Errorf("event history %d: %s (match %s) configured twice", i, c.Topic, m))
				continue
			}
			h := &history{topic: c.Topic, policy: m, ring: make([]storedEvent, 0, min(c.Limit, 1024)), limit: c.Limit, maxBytes: c.Bytes}
			ix.Put(c.Topic, m, h)
			b.stores.histories = append(b.stores.histories, h)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	b.stores.history = ix
	return nil
}

// history is the recent events of one configured (topic, match).
type history struct {
	topic    wamp.URI
	policy   string
	limit    int
	maxBytes int64 // 0: unbounded

	mu    sync.Mutex
	ring  []storedEvent // oldest first; at most limit events and maxBytes
	bytes int64
}

type storedEvent struct {
	at   time.Time
	p    *Publication // snapshot
	size int64        // storedSize
}

// add appends e and evicts the oldest events over the bounds; it returns
// how many it evicted.
func (h *history) add(e storedEvent) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ring = append(h.ring, e)
	h.bytes += e.size
	n := 0
	for len(h.ring) > h.limit || h.maxBytes > 0 && h.bytes > h.maxBytes {
		h.bytes -= h.ring[0].size
		h.ring[0] = storedEvent{} // let the snapshot go
		h.ring = h.ring[1:]
		n++
	}
	return n
}

// events returns the stored events oldest first.
func (h *history) events() []storedEvent {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ring)
}

// publisher is a stored publication's publisher: its identity only, so a
// stored event does not keep a departed session's connection alive.
type publisher struct {
	id             wamp.ID
	authid, role   string
	excludedItself bool
}

func (p *publisher) ID() wamp.ID        { return p.id }
func (p *publisher) AuthID() string     { return p.authid }
func (p *publisher) AuthRole() string   { return p.role }
func (p *publisher) Codec() codec.Codec { return nil }
func (p *publisher) SendEvent([]byte)   {}

// snapshot copies p for storage, with the publisher reduced to its identity.
func (p *Publication) snapshot() *Publication {
	c := *p
	c.Publisher = &publisher{id: p.Publisher.ID(), authid: p.Publisher.AuthID(), role: p.Publisher.AuthRole(), excludedItself: p.ExcludeMe}
	return &c
}

// storedEligible is eligible for a snapshot: publisher exclusion compares
// session ids, since the publisher is no longer the session itself.
func (p *Publication) storedEligible(s Session) bool {
	if pub, ok := p.Publisher.(*publisher); ok && pub.excludedItself && s.ID() == pub.id {
		return false
	}
	return p.eligible(s)
}

// record stores p as retained event and in the matching histories.
// Publications addressed to session id lists (exclude, eligible) are not
// kept in the history (spec §12.8): whether a later reader is one of those
// sessions cannot be told.
func (b *Broker) record(p *Publication) {
	st := &b.stores
	retain := p.Retain && st.retainMax > 0
	keep := st.history != nil && p.Exclude == nil && p.Eligible == nil
	if !retain && !keep {
		return
	}
	snap := p.snapshot()
	size := storedSize(p)
	if retain {
		st.retain(snap, size) // storebounds.go
	}
	if keep {
		if st.bounds.EventBytes > 0 && size > st.bounds.EventBytes {
			if !retain { // else retain counted it
				count(st.bounds.TooLarge, 1)
			}
			return
		}
		e := storedEvent{at: time.Now(), p: snap, size: size}
		st.history.All(p.Topic, func(h *history) bool { count(st.bounds.Evicted, h.add(e)); return true })
	}
}

// RetainedCount is the number of topics with a retained event.
func (b *Broker) RetainedCount() int {
	b.stores.retainMu.Lock()
	defer b.stores.retainMu.Unlock()
	return b.stores.lru.Len()
}

// SendRetained queues to s the retained events that subscription id
// matches (one for an exact subscription, every matching topic's for a
// pattern one, most recently retained first), each with
// Details.retained = true, and returns how many it queued. The same
// filters as live delivery apply: black/whitelists, publisher exclusion
// and MayReceive for pattern subscriptions. The router calls it right
// after SUBSCRIBED.
func (b *Broker) SendRetained(s Session, id wamp.ID) int {
	st := &b.stores
	if st.retainMax <= 0 {
		return 0
	}
	b.mu.RLock()
	live, ok := b.byID[id]
	var sub subscription
	if ok {
		sub = subscription{id: live.id, topic: live.topic, policy: live.policy}
	}
	b.mu.RUnlock()
	if !ok {
		return 0
	}
	var pubs []*Publication
	st.retainMu.Lock()
	if sub.policy == wamp.MatchExact {
		if e := st.retained[sub.topic]; e != nil {
			pubs = append(pubs, e.Value.(*retainedEvent).p)
		}
	} else {
		one := match.New[bool]()
		one.Put(sub.topic, sub.policy, true)
		for e := st.lru.Front(); e != nil; e = e.Next() {
			p := e.Value.(*retainedEvent).p
			if _, hit := one.Best(p.Topic); hit {
				pubs = append(pubs, p)
			}
		}
	}
	st.retainMu.Unlock()

	n := 0
	for _, p := range pubs {
		if !p.storedEligible(s) {
			continue
		}
		if sub.policy != wamp.MatchExact && b.MayReceive != nil && !b.MayReceive(s, p.Topic) {
			continue
		}
		ev := p.event(&sub)
		ev.Details["retained"] = true
		f, err := s.Codec().Encode(nil, ev)
		if err != nil {
			continue
		}
		s.SendEvent(f)
		n++
	}
	return n
}

// Errors of History.
var (
	ErrNoSuchSubscription = errors.New("broker: no such subscription")
	ErrNoHistory          = errors.New("broker: no event history is kept for this subscription")
)

// StoredEvent is one event from the history, as the subscription would
// have received it.
type StoredEvent struct {
	Time        time.Time
	Publication wamp.ID
	Topic       wamp.URI
	Details     wamp.Dict // publisher (if disclosed), topic (pattern subscriptions), ppt_*
	Payload     wamp.Payload
}

// History returns the stored events of subscription id that reader may
// see, oldest first. The store is the history configured for exactly the
// subscription's (topic, match); an exact subscription without one is
// served by the best configured pattern matching its topic (exact, longest
// prefix, most specific wildcard), filtered to its topic. Authid/authrole
// black- and whitelists are applied for reader, and MayReceive for pattern
// subscriptions. Errors: ErrNoSuchSubscription, ErrNoHistory.
func (b *Broker) History(id wamp.ID, reader Session) (SubscriptionInfo, []StoredEvent, error) {
	b.mu.RLock()
	live, ok := b.byID[id]
	var info SubscriptionInfo
	if ok {
		info = live.info()
	}
	b.mu.RUnlock()
	if !ok {
		return info, nil, ErrNoSuchSubscription
	}
	hix := b.stores.history
	if hix == nil {
		return info, nil, ErrNoHistory
	}
	h, ok := hix.Get(info.Topic, info.Match)
	filter := false
	if !ok && info.Match == wamp.MatchExact {
		h, ok = hix.Best(info.Topic)
		filter = true
	}
	if !ok {
		return info, nil, ErrNoHistory
	}
	sub := &subscription{id: info.ID, topic: info.Topic, policy: info.Match}
	var out []StoredEvent
	for _, e := range h.events() {
		p := e.p
		if filter && p.Topic != info.Topic {
			continue
		}
		if !p.authEligible(reader) {
			continue
		}
		if sub.policy != wamp.MatchExact && b.MayReceive != nil && !b.MayReceive(reader, p.Topic) {
			continue
		}
		ev := p.event(sub)
		out = append(out, StoredEvent{Time: e.at, Publication: p.ID, Topic: p.Topic, Details: ev.Details, Payload: p.Payload})
	}
	return info, out, nil
}

// authEligible applies the authid and authrole lists only (a history
// reader is not a subscriber: publisher exclusion does not apply, and
// session id lists are never stored).
func (p *Publication) authEligible(s Session) bool {
	q := Publication{
		ExcludeAuthID: p.ExcludeAuthID, EligibleAuthID: p.EligibleAuthID,
		ExcludeAuthRole: p.ExcludeAuthRole, EligibleAuthRole: p.EligibleAuthRole,
	}
	return q.eligible(s)
}
