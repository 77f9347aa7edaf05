package meta

import (
	"context"
	"sync"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Testaments (wamp.session.add_testament / flush_testaments): events a
// session leaves behind, published when it ends however it ends. Without
// session resumption a session is detached and destroyed at the same
// moment, so both scopes fire at its end: detached first, then destroyed,
// each in the order added. They are published as the session that left
// them: authorized as that session (its role, its authorizer) and
// disclosed as it would be. A testament the authorizer denies, or cannot
// answer (error, timeout, not registered any more) is dropped and logged.

// Testaments is one session's testament store (meta.Session.Testaments).
// The zero value is ready; it is a leaf lock (LOCKING.md).
type Testaments struct {
	mu      sync.Mutex
	byScope [2][]testament // detached, destroyed
}

// Testament scopes.
const (
	scopeDetached  = "detached"
	scopeDestroyed = "destroyed"
)

// maxTestaments bounds the testaments of one session per scope.
const maxTestaments = 64

type testament struct {
	topic wamp.URI
	// options are the publish options as the authorizer sees them
	// (acknowledge and exclude_me stripped).
	options wamp.Dict
	// pub is the publication with its options applied; ID, Publisher and
	// Disclose are filled in when it is published.
	pub broker.Publication
}

func scopeIndex(proc string, v any) (int, error) {
	if v == nil {
		return 1, nil
	}
	switch v {
	case scopeDetached:
		return 0, nil
	case scopeDestroyed:
		return 1, nil
	}
	return 0, invalidArg("%s: scope must be %q or %q, got %v", proc, scopeDetached, scopeDestroyed, v)
}

// testamentOwner returns the caller's session; the internal session has no
// testaments.
func (m *Meta) testamentOwner(proc string, caller wamp.ID) (Session, error) {
	s, ok := m.realm.Session(caller)
	if !ok {
		return nil, invalidArg("%s: only a client session can have testaments", proc)
	}
	return s, nil
}

// addTestament: [topic, args, kwargs], {publish_options?, scope?} → null.
func (m *Meta) addTestament(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.add_testament"
	if err := wantArgs(proc, args, 1, 3); err != nil {
		return nil, nil, err
	}
	if err := noKwargs(proc, kwargs, "publish_options", "scope"); err != nil {
		return nil, nil, err
	}
	s, err := m.testamentOwner(proc, caller)
	if err != nil {
		return nil, nil, err
	}
	topic, err := uriArg(proc, "topic", args[0])
	if err != nil {
		return nil, nil, err
	}
	if !m.realm.ValidURI(topic, wamp.MatchExact) {
		return nil, nil, metaError(wamp.ErrInvalidURI, "%s: invalid topic URI %q", proc, topic)
	}
	if m.realm.Reserved(topic) && s.AuthRole() != authz.RoleTrusted {
		return nil, nil, metaError(wamp.ErrInvalidURI, "%s: publishing to wamp.* and tollgate.* topics is reserved to the router", proc)
	}
	t := testament{topic: topic, options: wamp.Dict{}}
	if len(args) > 1 && args[1] != nil {
		l, ok := args[1].(wamp.List)
		if !ok {
			return nil, nil, invalidArg("%s: args must be a list, got %T", proc, args[1])
		}
		t.pub.Payload.Args = l
	}
	if len(args) > 2 && args[2] != nil {
		d, ok := args[2].(wamp.Dict)
		if !ok {
			return nil, nil, invalidArg("%s: kwargs must be a dict, got %T", proc, args[2])
		}
		t.pub.Payload.Kwargs = d
	}
	if v := kwargs["publish_options"]; v != nil {
		o, ok := v.(wamp.Dict)
		if !ok {
			return nil, nil, invalidArg("%s: publish_options must be a dict, got %T", proc, v)
		}
		for k, x := range o {
			if k != "acknowledge" && k != "exclude_me" {
				t.options[k] = x
			}
		}
	}
	if msg := t.pub.SetOptions(t.options); msg != "" {
		return nil, nil, invalidArg("%s: publish_options: %s", proc, msg)
	}
	t.pub.ExcludeMe = false // the session is gone when it is published
	scope, err := scopeIndex(proc, kwargs["scope"])
	if err != nil {
		return nil, nil, err
	}
	ts := s.Testaments()
	ts.mu.Lock()
	full := len(ts.byScope[scope]) >= maxTestaments
	if !full {
		ts.byScope[scope] = append(ts.byScope[scope], t)
	}
	ts.mu.Unlock()
	if full {
		return nil, nil, invalidArg("%s: a session may leave at most %d testaments per scope", proc, maxTestaments)
	}
	m.realm.TestamentsChanged(s)
	return nil, nil, nil
}

// flushTestaments: {scope?} → [count removed].
func (m *Meta) flushTestaments(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.flush_testaments"
	if err := wantArgs(proc, args, 0, 0); err != nil {
		return nil, nil, err
	}
	if err := noKwargs(proc, kwargs, "scope"); err != nil {
		return nil, nil, err
	}
	s, err := m.testamentOwner(proc, caller)
	if err != nil {
		return nil, nil, err
	}
	scope, err := scopeIndex(proc, kwargs["scope"])
	if err != nil {
		return nil, nil, err
	}
	ts := s.Testaments()
	ts.mu.Lock()
	n := len(ts.byScope[scope])
	ts.byScope[scope] = nil
	ts.mu.Unlock()
	m.realm.TestamentsChanged(s)
	return wamp.List{int64(n)}, nil, nil
}

// take removes and returns the testaments in publishing order: detached,
// then destroyed.
func (ts *Testaments) take() []testament {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	all := append(ts.byScope[0], ts.byScope[1]...)
	ts.byScope = [2][]testament{}
	return all
}

// publishTestaments publishes ts as the (departed) session s, each
// authorized as s. It may wait on a dynamic authorizer, bounded by the
// role's timeout, so it runs off the read loop.
func (m *Meta) publishTestaments(s Session, ts []testament) {
	for i := range ts {
		t := &ts[i]
		// The connection's context may be gone; a dynamic authorizer's
		// call is bounded by the role's timeout.
		d := s.Authorize(context.Background(), authz.ActionPublish, t.topic, t.options)
		if !d.Allow {
			if d.Failed {
				s.Logger().Warn("testament dropped: authorization failed", "topic", t.topic, "reason", d.Message)
			} else {
				s.Logger().Info("testament dropped: not authorized", "topic", t.topic)
			}
			continue
		}
		p := t.pub
		p.ID = wamp.GlobalID()
		p.Publisher = s
		p.Topic = t.topic
		p.Disclose = d.Disclose
		m.realm.Publish(&p, s)
	}
	// Drop what the testament questions cached for the departed session.
	m.realm.Forget(s.ID())
}

// Export returns the testaments as PUBLISH messages in publishing order
// (topic, publish options, payload), for a cluster's copy.
func (ts *Testaments) Export() []*wamp.Publish {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []*wamp.Publish
	for _, scope := range ts.byScope {
		for _, t := range scope {
			out = append(out, &wamp.Publish{Request: 1, Options: t.options, Topic: t.topic, Payload: t.pub.Payload})
		}
	}
	return out
}

// Import adds testaments exported on another node (scope destroyed, in
// order); those whose options no longer parse are skipped.
func (ts *Testaments) Import(ps []*wamp.Publish) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, p := range ps {
		t := testament{topic: p.Topic, options: p.Options}
		t.pub.Payload = p.Payload
		if t.pub.SetOptions(t.options) != "" {
			continue
		}
		t.pub.ExcludeMe = false
		ts.byScope[1] = append(ts.byScope[1], t)
	}
}

// Clear drops the testaments unpublished (a fenced node's sessions: the
// cluster's janitor published them).
func (ts *Testaments) Clear() { ts.take() }
