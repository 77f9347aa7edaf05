// Package broker keeps a realm's subscriptions and fans publications out
// to subscribers, encoding each EVENT once per subscription and serializer.
//
// A Broker is safe for concurrent use: publishes from many sessions run in
// parallel under a read lock of the subscription index; subscribe and
// unsubscribe take the write lock briefly. No lock is held while frames are
// queued to subscribers.
package broker

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/match"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Session is what the broker needs to know of a session.
type Session interface {
	ID() wamp.ID
	AuthID() string
	AuthRole() string
	Codec() codec.Codec
	// SendEvent queues an encoded EVENT frame. It must not block; the
	// session applies its slow-consumer policy when its queue is full.
	SendEvent(frame []byte)
}

// Features the broker implements and announces.
var Features = []string{
	"publisher_identification",
	"publisher_exclusion",
	"subscriber_blackwhite_listing",
	"pattern_based_subscription",
	"event_retention",       // store.go
	"event_history",         // store.go
	"payload_passthru_mode", // Publication.Extra
	// internal/meta (with introspect.go and membership.go here)
	"session_meta_api",
	"subscription_meta_api",
	"subscription_revocation",
}

// Broker holds the subscriptions of one realm.
type Broker struct {
	mu    sync.RWMutex
	index *match.Index[*subscription]
	byID  map[wamp.ID]*subscription
	ids   *wamp.Sequence // router-scope subscription ids

	// MayReceive, if set, is asked before an event of a prefix or wildcard
	// subscription is queued to a subscriber; false skips that subscriber
	// (pattern subscriptions deliver only what the subscriber may see).
	// Exact subscriptions are not asked. It must be cheap and must not
	// block. Set it before the broker is used.
	MayReceive func(s Session, topic wamp.URI) bool
	// Unencodable, if set, counts events not delivered to a subscriber
	// because its serializer cannot carry them (NaN to JSON): there is no
	// request to answer. Set it before the broker is used.
	Unencodable *atomic.Uint64
	// Indexed, if set, is told when a subscription (topic, policy) is
	// created (true) or deleted (false), however that happens (subscribe,
	// unsubscribe, leave, revocation). It is called with b.mu held, so
	// calls come in index order; it must not block or call the broker.
	// Set it before the broker is used.
	Indexed func(topic wamp.URI, policy string, created bool)
	// NewID, if set, gives a new subscription (topic, policy) its id
	// instead of the sequence (a cluster makes ids equal on every node);
	// an id in use (a hash collision) falls back to the sequence. Set it
	// before the broker is used.
	NewID func(topic wamp.URI, policy string) wamp.ID

	stores stores // retained events and event history (store.go)
}

type subscription struct {
	id     wamp.ID
	topic  wamp.URI
	policy string
	// created is when the first subscriber attached (meta API).
	created time.Time
	// subscribers is copy-on-write: replaced, never modified, so publishers
	// can iterate a snapshot after releasing the lock.
	subscribers []member
}

// member is one subscriber with its serializer's slot in a publication's
// frames, read once at subscribe time (a session's codec never changes),
// so the fan-out loop makes no interface call to pick the frame.
type member struct {
	s   Session
	cid uint8
}

func newMember(s Session) member { return member{s, s.Codec().SerializerID() & 3} }

// indexOf returns the position of s in ms, or -1.
func indexOf(ms []member, s Session) int {
	return slices.IndexFunc(ms, func(m member) bool { return m.s == s })
}

// New returns a broker drawing subscription ids from ids.
func New(ids *wamp.Sequence) *Broker {
	return &Broker{index: match.New[*subscription](), byID: map[wamp.ID]*subscription{}, ids: ids}
}

// Attach adds s to the subscription for (topic, policy), creating it if
// needed, and returns its id (the same one when s subscribes twice). It
// reports whether the subscription was created by this call and whether s
// was added to it (false when s was already subscribed), which the meta
// events need.
func (b *Broker) Attach(s Session, topic wamp.URI, policy string) (id wamp.ID, created, added bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub, ok := b.index.Get(topic, policy)
	if !ok {
		sub = &subscription{id: b.newIDLocked(topic, policy), topic: topic, policy: policy, created: time.Now()}
		b.index.Put(topic, policy, sub)
		b.byID[sub.id] = sub
		created = true
		if b.Indexed != nil {
			b.Indexed(topic, policy, true)
		}
	}
	if indexOf(sub.subscribers, s) < 0 {
		sub.subscribers = append(slices.Clip(sub.subscribers), newMember(s))
		added = true
	}
	return sub.id, created, added
}

func (b *Broker) newIDLocked(topic wamp.URI, policy string) wamp.ID {
	if b.NewID != nil {
		if id := b.NewID(topic, policy); id.Valid() && b.byID[id] == nil {
			return id
		}
	}
	return b.ids.Next()
}

// unsubscribeLocked removes s from subscription id, reporting false if s
// was not subscribed to it. Called with b.mu held.
func (b *Broker) unsubscribeLocked(s Session, id wamp.ID) bool {
	sub, ok := b.byID[id]
	if !ok {
		return false
	}
	i := indexOf(sub.subscribers, s)
	if i < 0 {
		return false
	}
	if len(sub.subscribers) == 1 {
		b.index.Delete(sub.topic, sub.policy)
		delete(b.byID, id)
		sub.subscribers = nil
		if b.Indexed != nil {
			b.Indexed(sub.topic, sub.policy, false)
		}
		return true
	}
	sub.subscribers = slices.Delete(slices.Clone(sub.subscribers), i, i+1)
	return true
}

// Publication is one PUBLISH to route.
type Publication struct {
	ID        wamp.ID
	Publisher Session
	Topic     wamp.URI
	// ExcludeMe defaults to true (publisher exclusion).
	ExcludeMe bool
	// Disclose adds the publisher's identity to EVENT.Details.
	Disclose bool
	// Black- and whitelisting (nil means unset).
	Exclude, Eligible                 []wamp.ID
	ExcludeAuthID, EligibleAuthID     []string
	ExcludeAuthRole, EligibleAuthRole []string
	Payload                           wamp.Payload
	// Retain keeps the event as the topic's retained event (store.go).
	Retain bool
	// Extra keys are copied into EVENT.Details (payload passthru ppt_*).
	Extra wamp.Dict
}

// Publish delivers p to every matching subscriber and returns the number of
// events queued.
func (b *Broker) Publish(p *Publication) int {
	b.record(p)
	type target struct {
		sub  *subscription
		subs []member
	}
	var buf [8]target
	targets := buf[:0]
	b.mu.RLock()
	b.index.All(p.Topic, func(sub *subscription) bool {
		targets = append(targets, target{sub, sub.subscribers})
		return true
	})
	b.mu.RUnlock()

	n := 0
	listed := p.listed()
	for _, t := range targets {
		n += b.fanout(p, t.sub, t.subs, listed)
	}
	return n
}

// fanout queues p's EVENT for sub to its subscribers subs (a snapshot),
// encoding it once per serializer; listed says p has black- or whitelists.
// Per subscriber it costs a pointer compare and SendEvent unless p is
// filtered or sub is a pattern subscription (then also MayReceive).
func (b *Broker) fanout(p *Publication, sub *subscription, subs []member, listed bool) int {
	var frames [4][]byte
	var ev *wamp.Event // built once, encoded once per serializer
	pattern := sub.policy != wamp.MatchExact && b.MayReceive != nil
	n := 0
	for _, m := range subs {
		s := m.s
		if s == p.Publisher && p.ExcludeMe || listed && !p.eligible(s) ||
			pattern && !b.MayReceive(s, p.Topic) {
			continue
		}
		f := frames[m.cid]
		if f == nil {
			if ev == nil {
				ev = p.event(sub)
			}
			var err error
			if f, err = s.Codec().Encode(nil, ev); err != nil {
				f = []byte{} // payload the codec cannot carry: nothing sensible to send
			}
			frames[m.cid] = f
		}
		if len(f) == 0 {
			count(b.Unencodable, 1)
			continue
		}
		s.SendEvent(f)
		n++
	}
	return n
}

func (p *Publication) event(sub *subscription) *wamp.Event {
	details := wamp.Dict{}
	if p.Disclose {
		details["publisher"] = p.Publisher.ID()
		details["publisher_authid"] = p.Publisher.AuthID()
		details["publisher_authrole"] = p.Publisher.AuthRole()
	}
	if sub.policy != wamp.MatchExact {
		details["topic"] = p.Topic
	}
	for k, v := range p.Extra {
		details[k] = v
	}
	return &wamp.Event{Subscription: sub.id, Publication: p.ID, Details: details, Payload: p.Payload}
}

// listed reports whether p has a black- or whitelist to check.
func (p *Publication) listed() bool {
	return p.Eligible != nil || p.Exclude != nil || p.EligibleAuthID != nil || p.ExcludeAuthID != nil ||
		p.EligibleAuthRole != nil || p.ExcludeAuthRole != nil
}

// eligible applies p's black- and whitelists to s (publisher exclusion is
// checked by the caller).
func (p *Publication) eligible(s Session) bool {
	id := s.ID()
	if p.Eligible != nil && !slices.Contains(p.Eligible, id) ||
		slices.Contains(p.Exclude, id) {
		return false
	}
	if p.EligibleAuthID != nil || p.ExcludeAuthID != nil {
		a := s.AuthID()
		if p.EligibleAuthID != nil && !slices.Contains(p.EligibleAuthID, a) || slices.Contains(p.ExcludeAuthID, a) {
			return false
		}
	}
	if p.EligibleAuthRole != nil || p.ExcludeAuthRole != nil {
		r := s.AuthRole()
		if p.EligibleAuthRole != nil && !slices.Contains(p.EligibleAuthRole, r) || slices.Contains(p.ExcludeAuthRole, r) {
			return false
		}
	}
	return true
}

// Count returns the number of live subscriptions.
func (b *Broker) Count() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.byID)
}
