package router

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// The meta API (docs/meta-api.md): session, registration and subscription
// procedures served by each realm's internal session, the meta events it
// publishes, and revocation. Procedures run on the caller's read loop, so
// each one only copies state under short locks and queues messages.
//
// Visibility: sessions with role "trusted" (and the internal session) and
// registrations/subscriptions on wamp.* and tollgate.* URIs are hidden
// from callers that are not trusted: they are absent from lists and
// counts, and asking for them by id answers as if they did not exist.
// Meta events about a trusted session are delivered to trusted subscribers
// only; changes on wamp.*/tollgate.* URIs publish no meta events at all.

// sessionMeta is a session's meta API state.
type sessionMeta struct {
	mu         sync.Mutex
	testaments [2][]testament // by scope: detached, destroyed
}

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

// The internal session publishes meta events through the broker; it never
// subscribes, so it receives no events.
func (s *internalSession) Codec() codec.Codec { return codec.JSON }
func (s *internalSession) SendEvent([]byte)   {}

// registerMeta registers the meta procedures on the realm's internal
// session. Called once while the realm is set up.
func (rm *realm) registerMeta() {
	procs := map[wamp.URI]internalProc{
		"wamp.session.count":            rm.sessionCount,
		"wamp.session.list":             rm.sessionList,
		"wamp.session.get":              rm.sessionGet,
		"wamp.session.kill":             rm.sessionKill,
		"wamp.session.kill_by_authid":   rm.sessionKillByAuthID,
		"wamp.session.kill_by_authrole": rm.sessionKillByAuthRole,
		"wamp.session.kill_all":         rm.sessionKillAll,
		"wamp.session.add_testament":    rm.addTestament,
		"wamp.session.flush_testaments": rm.flushTestaments,

		// The rest of wamp.registration.* and wamp.subscription.*
		// (list, lookup, get, list_/count_callees or _subscribers,
		// remove_callee or _subscriber): see metaIndex.
		"wamp.registration.match": rm.registrationMatch,
		"wamp.subscription.match": rm.subscriptionMatch,
	}
	maps.Copy(procs, rm.registrationIndex().procedures())
	maps.Copy(procs, rm.subscriptionIndex().procedures())
	for uri, fn := range procs {
		rm.internal.register(uri, fn)
	}
}

// ---- visibility ----

// hiddenRole reports whether sessions of role are hidden from callers that
// are not trusted.
func hiddenRole(role string) bool { return role == authz.RoleTrusted }

// session returns the session with id on this realm, or nil.
func (rm *realm) session(id wamp.ID) *session {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return rm.sessions[id]
}

// trustedCaller reports whether caller sees hidden sessions and URIs: the
// internal session itself or a session with role trusted.
func (rm *realm) trustedCaller(caller wamp.ID) bool {
	if caller == rm.internal.id {
		return true
	}
	s := rm.session(caller)
	return s != nil && s.authrole == authz.RoleTrusted
}

// visibleSession returns the session id as caller may see it, or nil.
func (rm *realm) visibleSession(id wamp.ID, trusted bool) *session {
	s := rm.session(id)
	if s == nil || !trusted && hiddenRole(s.authrole) {
		return nil
	}
	return s
}

// sessions returns the sessions caller may see that keep selects, by id.
func (rm *realm) visibleSessions(trusted bool, keep func(*session) bool) []*session {
	rm.mu.RLock()
	out := make([]*session, 0, len(rm.sessions))
	for _, s := range rm.sessions {
		if (trusted || !hiddenRole(s.authrole)) && (keep == nil || keep(s)) {
			out = append(out, s)
		}
	}
	rm.mu.RUnlock()
	slices.SortFunc(out, func(a, b *session) int { return cmp.Compare(a.id, b.id) })
	return out
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
	p, ok := matchPolicy(o)
	if !ok {
		return "", invalidArg("%s: unknown match policy %v", proc, o["match"])
	}
	return p, nil
}

// ---- session procedures ----

// authroleFilter reads the optional [filter_authroles] of count and list.
func authroleFilter(proc string, args wamp.List, kwargs wamp.Dict) (func(*session) bool, error) {
	if err := wantArgs(proc, args, 0, 1); err != nil {
		return nil, err
	}
	if err := noKwargs(proc, kwargs); err != nil {
		return nil, err
	}
	if len(args) == 0 || args[0] == nil {
		return nil, nil
	}
	l, ok := args[0].(wamp.List)
	if !ok {
		return nil, invalidArg("%s: filter_authroles must be a list of strings, got %T", proc, args[0])
	}
	roles := make([]string, len(l))
	for i, v := range l {
		if roles[i], ok = v.(string); !ok {
			return nil, invalidArg("%s: filter_authroles must be a list of strings, got a %T", proc, v)
		}
	}
	return func(s *session) bool { return slices.Contains(roles, s.authrole) }, nil
}

func (rm *realm) sessionCount(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	keep, err := authroleFilter("wamp.session.count", args, kwargs)
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(rm.visibleSessions(rm.trustedCaller(caller), keep)))}, nil, nil
}

func (rm *realm) sessionList(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	keep, err := authroleFilter("wamp.session.list", args, kwargs)
	if err != nil {
		return nil, nil, err
	}
	ss := rm.visibleSessions(rm.trustedCaller(caller), keep)
	ids := make(wamp.List, len(ss))
	for i, s := range ss {
		ids[i] = s.id
	}
	return wamp.List{ids}, nil, nil
}

func (rm *realm) sessionGet(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.get"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	if err := noKwargs(proc, kwargs); err != nil {
		return nil, nil, err
	}
	id, err := idArg(proc, "session_id", args[0])
	if err != nil {
		return nil, nil, err
	}
	s := rm.visibleSession(id, rm.trustedCaller(caller))
	if s == nil {
		return nil, nil, metaError(wamp.ErrNoSuchSession, "no session %d on realm %s", id, rm.name)
	}
	return wamp.List{s.Details(metaView)}, nil, nil
}

// killArgs reads the reason and message keyword arguments of the kill
// procedures.
func killArgs(proc string, kwargs wamp.Dict) (reason wamp.URI, msg string, err error) {
	if err := noKwargs(proc, kwargs, "reason", "message"); err != nil {
		return "", "", err
	}
	reason = wamp.CloseKilled
	if v, ok := kwargs["reason"]; ok && v != nil {
		r, isString := v.(string)
		if !isString || !wamp.ValidURI(wamp.URI(r), false, wamp.MatchExact) {
			return "", "", metaError(wamp.ErrInvalidURI, "%s: reason must be a valid URI, got %v", proc, v)
		}
		reason = wamp.URI(r)
	}
	if v, ok := kwargs["message"]; ok && v != nil {
		if msg, err = stringArg(proc, "message", v); err != nil {
			return "", "", err
		}
	}
	return reason, msg, nil
}

// kill says GOODBYE to each session. It never blocks: the GOODBYE is
// queued and the session's own read loop ends it (after the peer's reply
// or GoodbyeTimeout), publishing its testaments and on_leave. A session is
// in the realm only once its WELCOME is queued (lifecycle.go), so the
// GOODBYE always follows it.
func kill(ss []*session, reason wamp.URI, msg string) {
	for _, s := range ss {
		// The connection may have moved on to a new session meanwhile;
		// only the session asked for is killed.
		if s.conn.current.Load() == s {
			s.log.Debug("session killed through the meta API", "reason", reason)
			s.conn.goodbye(reason, msg)
		}
	}
}

func (rm *realm) sessionKill(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	id, err := idArg(proc, "session_id", args[0])
	if err != nil {
		return nil, nil, err
	}
	reason, msg, err := killArgs(proc, kwargs)
	if err != nil {
		return nil, nil, err
	}
	s := rm.visibleSession(id, rm.trustedCaller(caller))
	if s == nil || id == caller {
		return nil, nil, metaError(wamp.ErrNoSuchSession, "no session %d on realm %s (a session cannot kill itself)", id, rm.name)
	}
	kill([]*session{s}, reason, msg)
	return nil, nil, nil
}

// killWhere kills every session caller may see that keep selects, except
// the caller.
func (rm *realm) killWhere(caller wamp.ID, proc string, kwargs wamp.Dict, keep func(*session) bool) ([]*session, error) {
	reason, msg, err := killArgs(proc, kwargs)
	if err != nil {
		return nil, err
	}
	ss := rm.visibleSessions(rm.trustedCaller(caller), func(s *session) bool { return s.id != caller && keep(s) })
	kill(ss, reason, msg)
	return ss, nil
}

func (rm *realm) sessionKillByAuthID(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill_by_authid"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	authid, err := stringArg(proc, "authid", args[0])
	if err != nil {
		return nil, nil, err
	}
	ss, err := rm.killWhere(caller, proc, kwargs, func(s *session) bool { return s.authid == authid })
	if err != nil {
		return nil, nil, err
	}
	ids := make(wamp.List, len(ss))
	for i, s := range ss {
		ids[i] = s.id
	}
	return wamp.List{ids}, nil, nil
}

func (rm *realm) sessionKillByAuthRole(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill_by_authrole"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	authrole, err := stringArg(proc, "authrole", args[0])
	if err != nil {
		return nil, nil, err
	}
	ss, err := rm.killWhere(caller, proc, kwargs, func(s *session) bool { return s.authrole == authrole })
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(ss))}, nil, nil
}

func (rm *realm) sessionKillAll(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.session.kill_all"
	if err := wantArgs(proc, args, 0, 0); err != nil {
		return nil, nil, err
	}
	ss, err := rm.killWhere(caller, proc, kwargs, func(*session) bool { return true })
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(ss))}, nil, nil
}

// ---- registration and subscription procedures ----

func iso8601(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func registrationDetails(r dealer.RegistrationInfo) wamp.Dict {
	return wamp.Dict{"id": r.ID, "created": iso8601(r.Created), "uri": string(r.Procedure), "match": r.Match, "invoke": r.Invoke}
}

func subscriptionDetails(s broker.SubscriptionInfo) wamp.Dict {
	return wamp.Dict{"id": s.ID, "created": iso8601(s.Created), "uri": string(s.Topic), "match": s.Match}
}

// perPolicy groups ids as {"exact": [...], "prefix": [...], "wildcard": [...]}.
type perPolicy struct{ exact, prefix, wildcard wamp.List }

func (p *perPolicy) add(match string, id wamp.ID) {
	switch match {
	case wamp.MatchPrefix:
		p.prefix = append(p.prefix, id)
	case wamp.MatchWildcard:
		p.wildcard = append(p.wildcard, id)
	default:
		p.exact = append(p.exact, id)
	}
}

func (p *perPolicy) dict() wamp.Dict {
	return wamp.Dict{"exact": p.exact, "prefix": p.prefix, "wildcard": p.wildcard}
}

func newPerPolicy() perPolicy {
	return perPolicy{exact: wamp.List{}, prefix: wamp.List{}, wildcard: wamp.List{}}
}

// visibleURI reports whether a caller may see a registration or
// subscription on uri.
func visibleURI(uri wamp.URI, trusted bool) bool {
	return trusted || !reservedURI(uri)
}

// metaIndex describes a realm's registrations (dealer side) or
// subscriptions (broker side) to the meta procedures both serve alike:
// list, lookup, get, list_/count_ of the members (callees, subscribers) and
// remove_ of one member. Procedures run as prefix + name: see procedures.
// What differs is explicit: match (one registration, or every matching
// subscription) is written out per side, and remove does the side's
// revocation (message, announced feature, meta events).
type metaIndex[Info any] struct {
	rm      *realm
	prefix  string   // "wamp.registration."
	noun    string   // "registration", in error texts
	idName  string   // "registration_id", the id argument
	uriName string   // "procedure", the URI argument of lookup
	member  string   // "callee": list_callees, count_callees, remove_callee
	noSuch  wamp.URI // error for an unknown or hidden id

	describe func(Info) (id wamp.ID, uri wamp.URI, match string)
	details  func(Info) wamp.Dict
	list     func() []Info
	lookup   func(uri wamp.URI, policy string) (Info, bool)
	get      func(id wamp.ID) (Info, bool)
	// members returns the ids of the members of id that a caller may see;
	// ok is false for an unknown id.
	members func(id wamp.ID, trusted bool) (ids wamp.List, ok bool)
	// remove takes s off id (revocation): it tells s if s announced the
	// revocation feature and publishes the meta events. It reports false
	// when s is not a member of id.
	remove func(s *session, id wamp.ID, reason string) bool
}

func (rm *realm) registrationIndex() *metaIndex[dealer.RegistrationInfo] {
	return &metaIndex[dealer.RegistrationInfo]{
		rm: rm, prefix: "wamp.registration.", noun: "registration", idName: "registration_id",
		uriName: "procedure", member: "callee", noSuch: wamp.ErrNoSuchRegistration,
		describe: func(r dealer.RegistrationInfo) (wamp.ID, wamp.URI, string) { return r.ID, r.Procedure, r.Match },
		details:  registrationDetails,
		list:     rm.dealer.List,
		lookup:   rm.dealer.Lookup,
		get:      rm.dealer.Get,
		members: func(id wamp.ID, trusted bool) (wamp.List, bool) {
			cs, ok := rm.dealer.Callees(id)
			return visibleIDs(cs, trusted), ok
		},
		remove: rm.revokeRegistration,
	}
}

func (rm *realm) subscriptionIndex() *metaIndex[broker.SubscriptionInfo] {
	return &metaIndex[broker.SubscriptionInfo]{
		rm: rm, prefix: "wamp.subscription.", noun: "subscription", idName: "subscription_id",
		uriName: "topic", member: "subscriber", noSuch: wamp.ErrNoSuchSubscription,
		describe: func(s broker.SubscriptionInfo) (wamp.ID, wamp.URI, string) { return s.ID, s.Topic, s.Match },
		details:  subscriptionDetails,
		list:     rm.broker.List,
		lookup:   rm.broker.Lookup,
		get:      rm.broker.Get,
		members: func(id wamp.ID, trusted bool) (wamp.List, bool) {
			subs, ok := rm.broker.Subscribers(id)
			return visibleIDs(subs, trusted), ok
		},
		remove: rm.revokeSubscription,
	}
}

// procedures returns the meta procedures x serves, by name.
func (x *metaIndex[Info]) procedures() map[wamp.URI]internalProc {
	return map[wamp.URI]internalProc{
		wamp.URI(x.prefix + "list"):                    x.listProc,
		wamp.URI(x.prefix + "lookup"):                  x.lookupProc,
		wamp.URI(x.prefix + "get"):                     x.getProc,
		wamp.URI(x.prefix + "list_" + x.member + "s"):  x.listMembersProc,
		wamp.URI(x.prefix + "count_" + x.member + "s"): x.countMembersProc,
		wamp.URI(x.prefix + "remove_" + x.member):      x.removeMemberProc,
	}
}

func (x *metaIndex[Info]) visible(info Info, trusted bool) bool {
	_, uri, _ := x.describe(info)
	return visibleURI(uri, trusted)
}

func (x *metaIndex[Info]) listProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	proc := x.prefix + "list"
	if err := wantArgs(proc, args, 0, 0); err != nil {
		return nil, nil, err
	}
	if err := noKwargs(proc, kwargs); err != nil {
		return nil, nil, err
	}
	trusted := x.rm.trustedCaller(caller)
	out := newPerPolicy()
	for _, info := range x.list() {
		if id, uri, match := x.describe(info); visibleURI(uri, trusted) {
			out.add(match, id)
		}
	}
	return wamp.List{out.dict()}, nil, nil
}

func (x *metaIndex[Info]) lookupProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	proc := x.prefix + "lookup"
	if err := wantArgs(proc, args, 1, 2); err != nil {
		return nil, nil, err
	}
	uri, err := uriArg(proc, x.uriName, args[0])
	if err != nil {
		return nil, nil, err
	}
	policy, err := matchArg(proc, args)
	if err != nil {
		return nil, nil, err
	}
	if info, ok := x.lookup(uri, policy); ok && x.visible(info, x.rm.trustedCaller(caller)) {
		id, _, _ := x.describe(info)
		return wamp.List{id}, nil, nil
	}
	return wamp.List{nil}, nil, nil
}

// find reads args[0] as an id of x that caller may see.
func (x *metaIndex[Info]) find(caller wamp.ID, proc string, args wamp.List) (info Info, err error) {
	id, err := idArg(proc, x.idName, args[0])
	if err != nil {
		return info, err
	}
	found, ok := x.get(id)
	if !ok || !x.visible(found, x.rm.trustedCaller(caller)) {
		return info, metaError(x.noSuch, "no %s %d on realm %s", x.noun, id, x.rm.name)
	}
	return found, nil
}

func (x *metaIndex[Info]) getProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	proc := x.prefix + "get"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	info, err := x.find(caller, proc, args)
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{x.details(info)}, nil, nil
}

// visibleIDs returns the ids of the sessions in ss that caller may see.
func visibleIDs[S interface {
	ID() wamp.ID
	AuthRole() string
}](ss []S, trusted bool) wamp.List {
	ids := wamp.List{}
	for _, s := range ss {
		if trusted || !hiddenRole(s.AuthRole()) {
			ids = append(ids, s.ID())
		}
	}
	return ids
}

// memberIDs serves list_ and count_ of the members: the ids of the members
// of the id in args[0] that caller may see.
func (x *metaIndex[Info]) memberIDs(caller wamp.ID, proc string, args wamp.List) (wamp.List, error) {
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, err
	}
	info, err := x.find(caller, proc, args)
	if err != nil {
		return nil, err
	}
	id, _, _ := x.describe(info)
	ids, ok := x.members(id, x.rm.trustedCaller(caller))
	if !ok {
		return nil, metaError(x.noSuch, "no %s %d on realm %s", x.noun, id, x.rm.name)
	}
	return ids, nil
}

func (x *metaIndex[Info]) listMembersProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	ids, err := x.memberIDs(caller, x.prefix+"list_"+x.member+"s", args)
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{ids}, nil, nil
}

func (x *metaIndex[Info]) countMembersProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	ids, err := x.memberIDs(caller, x.prefix+"count_"+x.member+"s", args)
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(len(ids))}, nil, nil
}

// revocationArgs reads (id, session_id, reason?) of remove_callee and
// remove_subscriber; reason may also be a keyword argument.
func revocationArgs(proc, idName string, args wamp.List, kwargs wamp.Dict) (id, target wamp.ID, reason string, err error) {
	if err = wantArgs(proc, args, 2, 3); err != nil {
		return
	}
	if err = noKwargs(proc, kwargs, "reason"); err != nil {
		return
	}
	if id, err = idArg(proc, idName, args[0]); err != nil {
		return
	}
	if target, err = idArg(proc, "session_id", args[1]); err != nil {
		return
	}
	var r any
	if len(args) == 3 {
		r = args[2]
	}
	if v, ok := kwargs["reason"]; ok {
		r = v
	}
	if r != nil {
		reason, err = stringArg(proc, "reason", r)
	}
	return
}

func (x *metaIndex[Info]) removeMemberProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	proc := x.prefix + "remove_" + x.member
	id, target, reason, err := revocationArgs(proc, x.idName, args, kwargs)
	if err != nil {
		return nil, nil, err
	}
	trusted := x.rm.trustedCaller(caller)
	if _, err := x.find(caller, proc, args[:1]); err != nil {
		return nil, nil, err
	}
	s := x.rm.visibleSession(target, trusted)
	if s == nil {
		return nil, nil, metaError(wamp.ErrNoSuchSession, "no session %d on realm %s", target, x.rm.name)
	}
	if !x.remove(s, id, reason) {
		return nil, nil, metaError(x.noSuch, "session %d is not a %s of %s %d", target, x.member, x.noun, id)
	}
	s.log.Debug(x.noun+" revoked", x.noun, id, "by", caller, "reason", reason)
	return nil, nil, nil
}

// revocationDetails is the Details of the UNREGISTERED or UNSUBSCRIBED
// that tells a session its registration or subscription was revoked.
func revocationDetails(noun string, id wamp.ID, reason string) wamp.Dict {
	details := wamp.Dict{noun: id}
	if reason != "" {
		details["reason"] = reason
	}
	return details
}

// revokeRegistration takes callee s off registration id (remove_callee).
func (rm *realm) revokeRegistration(s *session, id wamp.ID, reason string) bool {
	_, d, ok := rm.dealer.RemoveCallee(id, s.id)
	if !ok {
		return false
	}
	if s.features.registrationRevocation {
		s.Send(&wamp.Unregistered{Request: 0, Details: revocationDetails("registration", id, reason)})
	}
	rm.metaUnregistered(s, d)
	return true
}

// revokeSubscription takes subscriber s off subscription id
// (remove_subscriber).
func (rm *realm) revokeSubscription(s *session, id wamp.ID, reason string) bool {
	_, d, ok := rm.broker.RemoveSubscriber(id, s.id)
	if !ok {
		return false
	}
	if s.features.subscriptionRevocation {
		s.Send(&wamp.Unsubscribed{Request: 0, Details: revocationDetails("subscription", id, reason)})
	}
	rm.metaUnsubscribed(s, d)
	return true
}

// registrationMatch serves wamp.registration.match: the one registration
// a CALL to the procedure would use.
func (rm *realm) registrationMatch(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.registration.match"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	uri, err := uriArg(proc, "procedure", args[0])
	if err != nil {
		return nil, nil, err
	}
	if r, ok := rm.dealer.Match(uri); ok && visibleURI(r.Procedure, rm.trustedCaller(caller)) {
		return wamp.List{r.ID}, nil, nil
	}
	return wamp.List{nil}, nil, nil
}

// subscriptionMatch serves wamp.subscription.match: every subscription a
// publication to the topic would reach.
func (rm *realm) subscriptionMatch(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.subscription.match"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	uri, err := uriArg(proc, "topic", args[0])
	if err != nil {
		return nil, nil, err
	}
	trusted := rm.trustedCaller(caller)
	var ids wamp.List
	for _, s := range rm.broker.Match(uri) {
		if visibleURI(s.Topic, trusted) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return wamp.List{nil}, nil, nil
	}
	return wamp.List{ids}, nil, nil
}

// ---- meta events ----

// trustedOnly restricts a meta event about a hidden session.
var trustedOnly = []string{authz.RoleTrusted}

// publishMeta publishes a meta event from the internal session. Events
// about a hidden session go to trusted subscribers only.
func (rm *realm) publishMeta(topic wamp.URI, hidden bool, args ...any) {
	if !rm.broker.Matches(topic) {
		return // nobody listens: skip the publication
	}
	p := &broker.Publication{ID: wamp.GlobalID(), Publisher: rm.internal, Topic: topic, Payload: wamp.Payload{Args: wamp.List(args)}}
	if hidden {
		p.EligibleAuthRole = trustedOnly
	}
	rm.broker.Publish(p)
}

// sessionJoined publishes on_join (lifecycle.go: the last step of join).
func (rm *realm) sessionJoined(s *session) {
	if rm.broker.Matches(topicSessionOnJoin) { // details cost ~60 allocations
		rm.publishMeta(topicSessionOnJoin, hiddenRole(s.authrole), s.Details(metaView))
	}
}

func (rm *realm) metaSubscribed(s *session, id wamp.ID, created, added bool) {
	if !added {
		return
	}
	if info, ok := rm.broker.Get(id); ok {
		rm.metaAttached(s, subscriptionTopics, id, info.Topic, created, func() wamp.Dict { return subscriptionDetails(info) })
	}
}

func (rm *realm) metaUnsubscribed(s *session, d broker.Detached) {
	rm.metaDetached(s, subscriptionTopics, d.ID, d.Topic, d.Deleted)
}

func (rm *realm) metaRegistered(s *session, id wamp.ID, created bool) {
	if info, ok := rm.dealer.Get(id); ok {
		rm.metaAttached(s, registrationTopics, id, info.Procedure, created, func() wamp.Dict { return registrationDetails(info) })
	}
}

func (rm *realm) metaUnregistered(s *session, d dealer.Detached) {
	rm.metaDetached(s, registrationTopics, d.ID, d.Procedure, d.Deleted)
}

// metaAttached publishes that s became a member of registration or
// subscription id on uri: on_create first when created made it.
func (rm *realm) metaAttached(s *session, t memberTopics, id wamp.ID, uri wamp.URI, created bool, details func() wamp.Dict) {
	if reservedURI(uri) {
		return
	}
	hidden := hiddenRole(s.authrole)
	if created {
		rm.publishMeta(t.create, hidden, s.id, details())
	}
	rm.publishMeta(t.attach, hidden, s.id, id)
}

// metaDetached publishes that s left registration or subscription id on
// uri: on_delete last when deleted (s was its last member).
func (rm *realm) metaDetached(s *session, t memberTopics, id wamp.ID, uri wamp.URI, deleted bool) {
	if reservedURI(uri) {
		return
	}
	hidden := hiddenRole(s.authrole)
	rm.publishMeta(t.detach, hidden, s.id, id)
	if deleted {
		rm.publishMeta(t.delete, hidden, s.id, id)
	}
}

// sessionEnded publishes s's testaments, then on_leave (lifecycle.go:
// leave, after its subscriptions and registrations went). Testaments may
// wait on a dynamic authorizer, so when there are any they and on_leave
// run on their own goroutine (tracked by the router's WaitGroup, so
// Shutdown waits for them); otherwise on_leave is published at once.
func (rm *realm) sessionEnded(s *session) {
	ts := s.meta.takeTestaments()
	if len(ts) == 0 {
		rm.publishOnLeave(s)
		return
	}
	s.r.wg.Add(1) // the connection's own count is still held, so this cannot race Wait
	go func() {
		defer s.r.wg.Done()
		rm.publishTestaments(s, ts)
		rm.publishOnLeave(s)
	}()
}

func (rm *realm) publishOnLeave(s *session) {
	rm.publishMeta(topicSessionOnLeave, hiddenRole(s.authrole), s.id, s.authid, s.authrole)
}
