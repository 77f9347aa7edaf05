package meta

import (
	"slices"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

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

// metaIndex describes a realm's registrations (dealer side) or
// subscriptions (broker side) to the meta procedures both serve alike:
// list, lookup, get, list_/count_ of the members (callees, subscribers) and
// remove_ of one member. Procedures run as prefix + name: see procedures.
// What differs is explicit: match (one registration, or every matching
// subscription) is written out per side, and remove does the side's
// revocation (message, announced feature, meta events).
type metaIndex[Info any] struct {
	m       *Meta
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
	remove func(s Session, id wamp.ID, reason string) bool
}

func (m *Meta) registrationIndex() *metaIndex[dealer.RegistrationInfo] {
	return &metaIndex[dealer.RegistrationInfo]{
		m: m, prefix: "wamp.registration.", noun: "registration", idName: "registration_id",
		uriName: "procedure", member: "callee", noSuch: wamp.ErrNoSuchRegistration,
		describe: func(r dealer.RegistrationInfo) (wamp.ID, wamp.URI, string) { return r.ID, r.Procedure, r.Match },
		details:  registrationDetails,
		list:     m.dealer.List,
		lookup:   m.dealer.Lookup,
		get:      m.dealer.Get,
		members: func(id wamp.ID, trusted bool) (wamp.List, bool) {
			cs, ok := m.dealer.Callees(id)
			return visibleIDs(cs, trusted), ok
		},
		remove: m.revokeRegistration,
	}
}

func (m *Meta) subscriptionIndex() *metaIndex[broker.SubscriptionInfo] {
	return &metaIndex[broker.SubscriptionInfo]{
		m: m, prefix: "wamp.subscription.", noun: "subscription", idName: "subscription_id",
		uriName: "topic", member: "subscriber", noSuch: wamp.ErrNoSuchSubscription,
		describe: func(s broker.SubscriptionInfo) (wamp.ID, wamp.URI, string) { return s.ID, s.Topic, s.Match },
		details:  subscriptionDetails,
		list:     m.broker.List,
		lookup:   m.broker.Lookup,
		get:      m.broker.Get,
		members: func(id wamp.ID, trusted bool) (wamp.List, bool) {
			subs, ok := m.broker.Subscribers(id)
			return visibleIDs(subs, trusted), ok
		},
		remove: m.revokeSubscription,
	}
}

// procedures returns the meta procedures x serves, by name.
func (x *metaIndex[Info]) procedures() map[wamp.URI]Procedure {
	return map[wamp.URI]Procedure{
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
	return x.m.visibleURI(uri, trusted)
}

// listProc serves list([session_id]): every registration (subscription)
// the caller may see, or, with Crossbar's optional session_id (positional
// or keyword), only those that session is a member of. A session the
// caller may not see has no visible memberships.
func (x *metaIndex[Info]) listProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	proc := x.prefix + "list"
	if err := wantArgs(proc, args, 0, 1); err != nil {
		return nil, nil, err
	}
	if err := noKwargs(proc, kwargs, "session_id"); err != nil {
		return nil, nil, err
	}
	var filter any
	if len(args) == 1 {
		filter = args[0]
	}
	if v, ok := kwargs["session_id"]; ok {
		if filter != nil {
			return nil, nil, invalidArg("%s: session_id given twice (positional and keyword)", proc)
		}
		filter = v
	}
	var member wamp.ID
	if filter != nil {
		id, err := idArg(proc, "session_id", filter)
		if err != nil {
			return nil, nil, err
		}
		member = id
	}
	trusted := x.m.trustedCaller(caller)
	out := newPerPolicy()
	for _, info := range x.list() {
		id, uri, match := x.describe(info)
		if !x.m.visibleURI(uri, trusted) {
			continue
		}
		if member != 0 {
			if ids, _ := x.members(id, trusted); !slices.Contains(ids, any(member)) {
				continue
			}
		}
		out.add(match, id)
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
	if info, ok := x.lookup(uri, policy); ok && x.visible(info, x.m.trustedCaller(caller)) {
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
	if !ok || !x.visible(found, x.m.trustedCaller(caller)) {
		return info, metaError(x.noSuch, "no %s %d on realm %s", x.noun, id, x.m.name)
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
	ids, ok := x.members(id, x.m.trustedCaller(caller))
	if !ok {
		return nil, metaError(x.noSuch, "no %s %d on realm %s", x.noun, id, x.m.name)
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
	trusted := x.m.trustedCaller(caller)
	if _, err := x.find(caller, proc, args[:1]); err != nil {
		return nil, nil, err
	}
	s := x.m.visibleSession(target, trusted)
	if s == nil {
		return nil, nil, metaError(wamp.ErrNoSuchSession, "no session %d on realm %s", target, x.m.name)
	}
	if !x.remove(s, id, reason) {
		return nil, nil, metaError(x.noSuch, "session %d is not a %s of %s %d", target, x.member, x.noun, id)
	}
	s.Logger().Debug(x.noun+" revoked", x.noun, id, "by", caller, "reason", reason)
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
func (m *Meta) revokeRegistration(s Session, id wamp.ID, reason string) bool {
	_, d, ok := m.dealer.RemoveCallee(id, s.ID())
	if !ok {
		return false
	}
	if aware, _ := s.Revocation(); aware {
		s.Send(&wamp.Unregistered{Request: 0, Details: revocationDetails("registration", id, reason)})
	}
	m.Unregistered(s, d)
	m.realm.CalleeRemoved(s, d)
	return true
}

// revokeSubscription takes subscriber s off subscription id
// (remove_subscriber).
func (m *Meta) revokeSubscription(s Session, id wamp.ID, reason string) bool {
	_, d, ok := m.broker.RemoveSubscriber(id, s.ID())
	if !ok {
		return false
	}
	if _, aware := s.Revocation(); aware {
		s.Send(&wamp.Unsubscribed{Request: 0, Details: revocationDetails("subscription", id, reason)})
	}
	m.Unsubscribed(s, d)
	return true
}

// registrationMatch serves wamp.registration.match: the one registration
// a CALL to the procedure would use.
func (m *Meta) registrationMatch(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.registration.match"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	uri, err := uriArg(proc, "procedure", args[0])
	if err != nil {
		return nil, nil, err
	}
	if r, ok := m.dealer.Match(uri); ok && m.visibleURI(r.Procedure, m.trustedCaller(caller)) {
		return wamp.List{r.ID}, nil, nil
	}
	return wamp.List{nil}, nil, nil
}

// subscriptionMatch serves wamp.subscription.match: every subscription a
// publication to the topic would reach.
func (m *Meta) subscriptionMatch(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	const proc = "wamp.subscription.match"
	if err := wantArgs(proc, args, 1, 1); err != nil {
		return nil, nil, err
	}
	uri, err := uriArg(proc, "topic", args[0])
	if err != nil {
		return nil, nil, err
	}
	trusted := m.trustedCaller(caller)
	var ids wamp.List
	for _, s := range m.broker.Match(uri) {
		if m.visibleURI(s.Topic, trusted) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return wamp.List{nil}, nil, nil
	}
	return wamp.List{ids}, nil, nil
}
