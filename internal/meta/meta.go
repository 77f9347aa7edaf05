// Package meta serves a realm's WAMP meta API (docs/meta-api.md): the
// wamp.session.*, wamp.registration.* and wamp.subscription.* procedures,
// testaments, revocation, and the meta events. The router runs the
// procedures on the realm's internal session and calls the hooks
// (Joined, Subscribed, ..., Left) from its session lifecycle. Procedures
// run on the caller's read loop, so each one only copies state under short
// locks and queues messages.
//
// Visibility: sessions with role "trusted" (and the internal session) and
// registrations/subscriptions on reserved URIs (wamp.*, tollgate.*) are
// hidden from callers that are not trusted: they are absent from lists and
// counts, and asking for them by id answers as if they did not exist.
// Meta events about a trusted session are delivered to trusted subscribers
// only; changes on reserved URIs publish no meta events at all.
package meta

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Session is what the meta API needs from a client session.
type Session interface {
	broker.Session // ID, AuthID, AuthRole; publisher of its testaments
	// Send queues m to the session without blocking (revocation notices).
	Send(m wamp.Message) error
	// SessionDetails is the session's details as other sessions may see
	// them (on_join, wamp.session.get): no HTTP headers.
	SessionDetails() wamp.Dict
	// Revocation reports the announced registration_revocation (callee)
	// and subscription_revocation (subscriber) features.
	Revocation() (registration, subscription bool)
	// Kill says GOODBYE with reason and msg. It never blocks and does
	// nothing when the session has ended.
	Kill(reason wamp.URI, msg string)
	// Authorize asks the realm whether the session may do action on uri
	// (publishing its testaments); ctx bounds a dynamic authorizer.
	Authorize(ctx context.Context, action authz.Action, uri wamp.URI, options wamp.Dict) authz.Decision
	// Testaments is the session's testament store.
	Testaments() *Testaments
	Logger() *slog.Logger
}

// Realm is what the meta API needs from a realm.
type Realm interface {
	// Session returns the session with id, or ok=false.
	Session(id wamp.ID) (s Session, ok bool)
	// Sessions returns the realm's sessions, in any order.
	Sessions() []Session
	// ValidURI applies the realm's URI check.
	ValidURI(u wamp.URI, match string) bool
	// Reserved reports whether only trusted sessions may publish to u and
	// whether registrations and subscriptions on u are hidden.
	Reserved(u wamp.URI) bool
	// Forget drops what the realm's authorizer cached for session id.
	Forget(id wamp.ID)
	// Go runs f on a goroutine that the router's shutdown waits for.
	Go(f func())

	// Publish routes a meta event or testament about (or of) session s
	// to the realm's local subscribers and, clustered, to the other nodes.
	Publish(p *broker.Publication, s Session)
	// Listened reports whether a subscriber on another node may want
	// topic, so an event nobody here listens to is still published.
	Listened(topic wamp.URI) bool
	// TestamentsChanged tells the realm s's testaments changed (a cluster
	// keeps a copy for when this node dies).
	TestamentsChanged(s Session)
	// CalleeRemoved tells the realm callee s was taken off registration
	// d (remove_callee, a revocation), so a cluster's registry forgets it.
	CalleeRemoved(s Session, d dealer.Detached)
}

// Config is what New needs.
type Config struct {
	Name   wamp.URI
	Realm  Realm
	Broker *broker.Broker
	Dealer *dealer.Dealer
	// Self is the realm's internal session: it publishes the meta events
	// and sees everything.
	Self broker.Session
}

// Meta is one realm's meta API.
type Meta struct {
	name   wamp.URI
	realm  Realm
	broker *broker.Broker
	dealer *dealer.Dealer
	self   broker.Session
}

// New returns the meta API of the realm described by c.
func New(c Config) *Meta {
	return &Meta{name: c.Name, realm: c.Realm, broker: c.Broker, dealer: c.Dealer, self: c.Self}
}

// Procedure serves one meta procedure: its positional and keyword
// arguments in, its result out. An error is answered as a WAMP error (a
// *wamp.CallError keeps its URI).
type Procedure func(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

// Procedures returns the meta procedures by URI.
func (m *Meta) Procedures() map[wamp.URI]Procedure {
	procs := map[wamp.URI]Procedure{
		"wamp.session.count":            m.sessionCount,
		"wamp.session.list":             m.sessionList,
		"wamp.session.get":              m.sessionGet,
		"wamp.session.kill":             m.sessionKill,
		"wamp.session.kill_by_authid":   m.sessionKillByAuthID,
		"wamp.session.kill_by_authrole": m.sessionKillByAuthRole,
		"wamp.session.kill_all":         m.sessionKillAll,
		"wamp.session.add_testament":    m.addTestament,
		"wamp.session.flush_testaments": m.flushTestaments,

		// The rest of wamp.registration.* and wamp.subscription.*
		// (list, lookup, get, list_/count_callees or _subscribers,
		// remove_callee or _subscriber): see index.
		"wamp.registration.match": m.registrationMatch,
		"wamp.subscription.match": m.subscriptionMatch,
	}
	maps.Copy(procs, m.registrationIndex().procedures())
	maps.Copy(procs, m.subscriptionIndex().procedures())
	return procs
}

// ---- visibility ----

// hiddenRole reports whether sessions of role are hidden from callers that
// are not trusted.
func hiddenRole(role string) bool { return role == authz.RoleTrusted }

// trustedCaller reports whether caller sees hidden sessions and URIs: the
// internal session itself or a session with role trusted.
func (m *Meta) trustedCaller(caller wamp.ID) bool {
	if caller == m.self.ID() {
		return true
	}
	s, ok := m.realm.Session(caller)
	return ok && s.AuthRole() == authz.RoleTrusted
}

// visibleSession returns the session id as caller may see it, or nil.
func (m *Meta) visibleSession(id wamp.ID, trusted bool) Session {
	s, ok := m.realm.Session(id)
	if !ok || !trusted && hiddenRole(s.AuthRole()) {
		return nil
	}
	return s
}

// visibleSessions returns the sessions caller may see that keep selects,
// by id.
func (m *Meta) visibleSessions(trusted bool, keep func(Session) bool) []Session {
	out := slices.DeleteFunc(m.realm.Sessions(), func(s Session) bool {
		return !(trusted || !hiddenRole(s.AuthRole())) || keep != nil && !keep(s)
	})
	slices.SortFunc(out, func(a, b Session) int { return cmp.Compare(a.ID(), b.ID()) })
	return out
}

// visibleURI reports whether a caller may see a registration or
// subscription on uri.
func (m *Meta) visibleURI(uri wamp.URI, trusted bool) bool {
	return trusted || !m.realm.Reserved(uri)
}

// ---- arguments ----

func invalidArg(format string, a ...any) error {
	return &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{fmt.Sprintf(format, a...)}}
}

func metaError(uri wamp.URI, format string, a ...any) error {
	return &wamp.CallError{URI: uri, Args: wamp.List{fmt.Sprintf(format, a...)}}
}

// wantArgs checks the number of positional arguments.
func wantArgs(proc string, args wamp.List, min, max int) error {
	if len(args) < min || len(args) > max {
		switch {
		case min == max && min == 0:
			return invalidArg("%s takes no positional arguments, got %d", proc, len(args))
		case min == max:
			return invalidArg("%s takes %d positional argument(s), got %d", proc, min, len(args))
		}
		return invalidArg("%s takes %d to %d positional arguments, got %d", proc, min, max, len(args))
	}
	return nil
}

// noKwargs refuses keyword arguments a procedure does not take.
func noKwargs(proc string, kwargs wamp.Dict, allowed ...string) error {
	for k := range kwargs {
		if !slices.Contains(allowed, k) {
			if len(allowed) == 0 {
				return invalidArg("%s takes no keyword arguments, got %q", proc, k)
			}
			return invalidArg("%s: unknown keyword argument %q (takes %v)", proc, k, allowed)
		}
	}
	return nil
}

func idArg(proc, name string, v any) (wamp.ID, error) {
	if id, ok := v.(wamp.ID); ok && id.Valid() { // from Router.Call in Go
		return id, nil
	}
	n, ok := wamp.AsInt(v)
	if !ok || !wamp.ID(n).Valid() {
		return 0, invalidArg("%s: %s must be an id (integer in [1, 2^53]), got %v", proc, name, v)
	}
	return wamp.ID(n), nil
}

func stringArg(proc, name string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", invalidArg("%s: %s must be a string, got %T", proc, name, v)
	}
	return s, nil
}

// uriArg reads a URI argument (loose check: any non-empty URI a client
// could have used on a lenient realm).
func uriArg(proc, name string, v any) (wamp.URI, error) {
	s, ok := v.(string)
	if !ok {
		return "", invalidArg("%s: %s must be a URI string, got %T", proc, name, v)
	}
	return wamp.URI(s), nil
}

// matchArg reads the optional options dict of lookup ({"match": policy}).
func matchArg(proc string, args wamp.List) (string, error) {
	if len(args) < 2 || args[1] == nil {
		return wamp.MatchExact, nil
	}
	o, ok := args[1].(wamp.Dict)
	if !ok {
		return "", invalidArg("%s: options must be a dict, got %T", proc, args[1])
	}
	p, ok := wamp.MatchPolicy(o)
	if !ok {
		return "", invalidArg("%s: unknown match policy %v", proc, o["match"])
	}
	return p, nil
}

// ---- session procedures ----
