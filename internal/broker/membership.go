package broker

import "github.com/tollgate-wamp/tollgate/wamp"

// Taking sessions off subscriptions: unsubscribing, leaving, revocation.

// Detached reports one subscription a session left.
type Detached struct {
	ID      wamp.ID
	Topic   wamp.URI
	Deleted bool // the session was its last subscriber: it is gone
}

// detachLocked removes s from subscription id. Called with b.mu held.
func (b *Broker) detachLocked(s Session, id wamp.ID) (d Detached, ok bool) {
	sub, found := b.byID[id]
	if !found {
		return Detached{}, false
	}
	last := len(sub.subscribers) == 1
	if !b.unsubscribeLocked(s, id) {
		return Detached{}, false
	}
	return Detached{ID: id, Topic: sub.topic, Deleted: last}, true
}

// Detach is Unsubscribe that also reports what happened; ok is false if s
// was not subscribed to id.
func (b *Broker) Detach(s Session, id wamp.ID) (d Detached, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.detachLocked(s, id)
}

// DetachAll removes s from the subscriptions ids (session leaving) and
// reports each one s actually left (ids s was no longer part of, e.g.
// after a revocation, are skipped).
func (b *Broker) DetachAll(s Session, ids []wamp.ID) []Detached {
	var out []Detached
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, id := range ids {
		if d, ok := b.detachLocked(s, id); ok {
			out = append(out, d)
		}
	}
	return out
}

// RemoveSubscriber removes the subscriber whose session id is session from
// subscription id (revocation). It returns that session; ok is false when
// the subscription does not exist or the session is not its subscriber.
func (b *Broker) RemoveSubscriber(id, session wamp.ID) (s Session, d Detached, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub, found := b.byID[id]
	if !found {
		return nil, Detached{}, false
	}
	for _, m := range sub.subscribers {
		if x := m.s; x.ID() == session {
			d, ok = b.detachLocked(x, id)
			return x, d, ok
		}
	}
	return nil, Detached{}, false
}
