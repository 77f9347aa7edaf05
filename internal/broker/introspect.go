package broker

import (
	"cmp"
	"slices"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Introspection and revocation for the subscription meta API. Every method
// copies what it needs under the index lock and returns; none blocks.

// SubscriptionInfo describes one subscription.
type SubscriptionInfo struct {
	ID      wamp.ID
	Topic   wamp.URI
	Match   string // exact, prefix or wildcard
	Created time.Time
}

func (sub *subscription) info() SubscriptionInfo {
	return SubscriptionInfo{ID: sub.id, Topic: sub.topic, Match: sub.policy, Created: sub.created}
}

// List returns every live subscription, ordered by id.
func (b *Broker) List() []SubscriptionInfo {
	b.mu.RLock()
	out := make([]SubscriptionInfo, 0, len(b.byID))
	for _, sub := range b.byID {
		out = append(out, sub.info())
	}
	b.mu.RUnlock()
	slices.SortFunc(out, func(x, y SubscriptionInfo) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// Get returns subscription id.
func (b *Broker) Get(id wamp.ID) (SubscriptionInfo, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	sub, ok := b.byID[id]
	if !ok {
		return SubscriptionInfo{}, false
	}
	return sub.info(), true
}

// Lookup returns the subscription for exactly (topic, policy).
func (b *Broker) Lookup(topic wamp.URI, policy string) (SubscriptionInfo, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	sub, ok := b.index.Get(topic, policy)
	if !ok {
		return SubscriptionInfo{}, false
	}
	return sub.info(), true
}

// Match returns every subscription a publication to topic would reach
// (any policy), ordered by id.
func (b *Broker) Match(topic wamp.URI) []SubscriptionInfo {
	var out []SubscriptionInfo
	b.mu.RLock()
	b.index.All(topic, func(sub *subscription) bool {
		out = append(out, sub.info())
		return true
	})
	b.mu.RUnlock()
	slices.SortFunc(out, func(x, y SubscriptionInfo) int { return cmp.Compare(x.ID, y.ID) })
	return out
}

// Subscribers returns the subscribers of subscription id in the order they
// subscribed; ok is false for an unknown id.
func (b *Broker) Subscribers(id wamp.ID) (subs []Session, ok bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	sub, ok := b.byID[id]
	if !ok {
		return nil, false
	}
	subs = make([]Session, len(sub.subscribers))
	for i, m := range sub.subscribers {
		subs[i] = m.s
	}
	return subs, true
}

// Matches reports whether a publication to topic would reach any
// subscription, so a publisher can skip building an event nobody gets.
func (b *Broker) Matches(topic wamp.URI) bool {
	found := false
	b.mu.RLock()
	b.index.All(topic, func(*subscription) bool {
		found = true
		return false
	})
	b.mu.RUnlock()
	return found
}
