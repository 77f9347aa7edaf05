package meta

import (
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Meta events, published from the hooks the router's session lifecycle
// and its subscribe/register handlers call.

// Meta event topics.
const (
	topicSessionOnJoin  wamp.URI = "wamp.session.on_join"
	topicSessionOnLeave wamp.URI = "wamp.session.on_leave"
)

// memberTopics are the meta events of registrations or subscriptions:
// created, a member (callee, subscriber) added, a member removed, deleted.
type memberTopics struct{ create, attach, detach, delete wamp.URI }

var (
	registrationTopics = memberTopics{"wamp.registration.on_create", "wamp.registration.on_register", "wamp.registration.on_unregister", "wamp.registration.on_delete"}
	subscriptionTopics = memberTopics{"wamp.subscription.on_create", "wamp.subscription.on_subscribe", "wamp.subscription.on_unsubscribe", "wamp.subscription.on_delete"}
)

// ---- meta events ----

// trustedOnly restricts a meta event about a hidden session.
var trustedOnly = []string{authz.RoleTrusted}

// publishMeta publishes a meta event about session s from the internal
// session. Events about a hidden session go to trusted subscribers only.
func (m *Meta) publishMeta(s Session, topic wamp.URI, hidden bool, args ...any) {
	if !m.broker.Matches(topic) && !m.realm.Listened(topic) {
		return // nobody listens: skip the publication
	}
	p := &broker.Publication{ID: wamp.GlobalID(), Publisher: m.self, Topic: topic, Payload: wamp.Payload{Args: wamp.List(args)}}
	if hidden {
		p.EligibleAuthRole = trustedOnly
	}
	m.realm.Publish(p, s)
}

// Joined publishes on_join. The router calls it as the last step of a
// session's join.
func (m *Meta) Joined(s Session) {
	if m.broker.Matches(topicSessionOnJoin) || m.realm.Listened(topicSessionOnJoin) { // details cost ~60 allocations
		m.publishMeta(s, topicSessionOnJoin, hiddenRole(s.AuthRole()), s.SessionDetails())
	}
}

// Subscribed publishes that s subscribed to id (on_create first when
// created); nothing when s was subscribed already (added is false).
func (m *Meta) Subscribed(s Session, id wamp.ID, created, added bool) {
	if !added {
		return
	}
	if info, ok := m.broker.Get(id); ok {
		m.metaAttached(s, subscriptionTopics, id, info.Topic, created, func() wamp.Dict { return subscriptionDetails(info) })
	}
}

// Unsubscribed publishes that s left subscription d (on_delete last when
// it is gone).
func (m *Meta) Unsubscribed(s Session, d broker.Detached) {
	m.metaDetached(s, subscriptionTopics, d.ID, d.Topic, d.Deleted)
}

// Registered publishes that s registered id (on_create first when
// created).
func (m *Meta) Registered(s Session, id wamp.ID, created bool) {
	if info, ok := m.dealer.Get(id); ok {
		m.metaAttached(s, registrationTopics, id, info.Procedure, created, func() wamp.Dict { return registrationDetails(info) })
	}
}

// Unregistered publishes that s left registration d (on_delete last
// when it is gone).
func (m *Meta) Unregistered(s Session, d dealer.Detached) {
	m.metaDetached(s, registrationTopics, d.ID, d.Procedure, d.Deleted)
}

// metaAttached publishes that s became a member of registration or
// subscription id on uri: on_create first when created made it.
func (m *Meta) metaAttached(s Session, t memberTopics, id wamp.ID, uri wamp.URI, created bool, details func() wamp.Dict) {
	if m.realm.Reserved(uri) {
		return
	}
	hidden := hiddenRole(s.AuthRole())
	if created {
		m.publishMeta(s, t.create, hidden, s.ID(), details())
	}
	m.publishMeta(s, t.attach, hidden, s.ID(), id)
}

// metaDetached publishes that s left registration or subscription id on
// uri: on_delete last when deleted (s was its last member).
func (m *Meta) metaDetached(s Session, t memberTopics, id wamp.ID, uri wamp.URI, deleted bool) {
	if m.realm.Reserved(uri) {
		return
	}
	hidden := hiddenRole(s.AuthRole())
	m.publishMeta(s, t.detach, hidden, s.ID(), id)
	if deleted {
		m.publishMeta(s, t.delete, hidden, s.ID(), id)
	}
}

// Left publishes s's testaments, then on_leave. The router calls it when
// s has left the realm's session table and its subscriptions and
// registrations went. Testaments may wait on a dynamic authorizer, so when
// there are any they and on_leave run on a goroutine of Realm.Go;
// otherwise on_leave is published at once.
func (m *Meta) Left(s Session) {
	ts := s.Testaments().take()
	if len(ts) == 0 {
		m.publishOnLeave(s)
		return
	}
	m.realm.Go(func() {
		m.publishTestaments(s, ts)
		m.publishOnLeave(s)
	})
}

func (m *Meta) publishOnLeave(s Session) {
	m.publishMeta(s, topicSessionOnLeave, hiddenRole(s.AuthRole()), s.ID(), s.AuthID(), s.AuthRole())
}
