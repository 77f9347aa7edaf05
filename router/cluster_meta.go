package router

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"slices"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/meta"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// The meta API and authorization across nodes (docs/cluster.md, "Meta API
// across nodes"): the session and subscription procedures answer for the
// whole cluster by asking every live member (cluster.Gather) and merging,
// with subscription ids equal on every node; registrations answer from the
// registry's replica; authorizer flushes and revocations are broadcast and applied
// by every node; meta events and testaments are ordinary cluster
// publications; a dead node's janitor publishes its sessions' testaments
// and on_leave through stand-in sessions; a fenced node closes its
// sessions; a node without a majority refuses REGISTER.

// ErrClusterUnavailable answers REGISTER on a node that does not see a
// majority of its cluster (a `single` registration could not be made
// unique).
const ErrClusterUnavailable wamp.URI = "tollgate.error.cluster_unavailable"

var ctlCodec = codec.CBOR

// gatherSpec says how a gathered meta procedure merges this node's answer
// with the other nodes'.
type gatherSpec struct {
	merge merge
	// final reports whether this node's answer is the whole answer, so
	// the others are not asked (a session found here).
	final func(local wamp.List) bool
	// needOne: the answer comes from the nodes that have the session,
	// subscription or registration; when none has it, the not-found
	// error is the answer.
	needOne bool
}

// merge combines this node's answer (nil when it had none) with the other
// nodes'.
type merge func(local wamp.List, remote []wamp.List) wamp.List

// gathered are the meta procedures that answer for the whole cluster.
// Subscription and registration ids are the same on every node
// (clusterID), so a query by id means the same thing everywhere. The rest
// of wamp.registration.* answers from this node's replica of the registry.
var gathered = map[wamp.URI]gatherSpec{
	"wamp.session.count":                  {merge: sumCounts},
	"wamp.session.list":                   {merge: concatIDs},
	"wamp.session.get":                    {merge: firstFound, final: always, needOne: true},
	"wamp.session.kill":                   {merge: firstFound, final: always, needOne: true},
	"wamp.session.kill_by_authid":         {merge: concatIDs},
	"wamp.session.kill_by_authrole":       {merge: sumCounts},
	"wamp.session.kill_all":               {merge: sumCounts},
	"wamp.subscription.list":              {merge: unionPerPolicy},
	"wamp.subscription.lookup":            {merge: firstNonNil, final: nonNil},
	"wamp.subscription.match":             {merge: unionIDs},
	"wamp.subscription.get":               {merge: earliest, needOne: true},
	"wamp.subscription.list_subscribers":  {merge: concatIDs, needOne: true},
	"wamp.subscription.count_subscribers": {merge: sumCounts, needOne: true},
	"wamp.subscription.remove_subscriber": {merge: firstFound, final: always, needOne: true},
	"wamp.registration.get":               {merge: earliest, needOne: true},
}

func always(wamp.List) bool   { return true }
func nonNil(l wamp.List) bool { return first(l) != nil }

func sumCounts(local wamp.List, remote []wamp.List) wamp.List {
	n, _ := wamp.AsInt(first(local))
	for _, r := range remote {
		x, _ := wamp.AsInt(first(r))
		n += x
	}
	return wamp.List{n}
}

// idsOf appends the ids in l (local wamp.IDs or decoded integers).
func idsOf(ids []int64, l any) []int64 {
	ll, _ := l.(wamp.List)
	for _, v := range ll {
		if id, ok := v.(wamp.ID); ok {
			ids = append(ids, int64(id))
		} else if n, ok := wamp.AsInt(v); ok {
			ids = append(ids, n)
		}
	}
	return ids
}

// sortedIDs sorts and deduplicates ids (a subscription's id comes from
// every node that has it).
func sortedIDs(ids []int64) wamp.List {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(wamp.List, len(ids))
	for i, n := range ids {
		out[i] = n
	}
	return out
}

func concatIDs(local wamp.List, remote []wamp.List) wamp.List {
	ids := idsOf(nil, first(local))
	for _, r := range remote {
		ids = idsOf(ids, first(r))
	}
	return wamp.List{sortedIDs(ids)}
}

// unionIDs is wamp.subscription.match: every node's matching
// subscriptions, or null when there are none.
func unionIDs(local wamp.List, remote []wamp.List) wamp.List {
	if out := concatIDs(local, remote)[0].(wamp.List); len(out) > 0 {
		return wamp.List{out}
	}
	return wamp.List{nil}
}

// unionPerPolicy is wamp.subscription.list: {exact, prefix, wildcard},
// each the union over the nodes.
func unionPerPolicy(local wamp.List, remote []wamp.List) wamp.List {
	out := wamp.Dict{}
	for _, policy := range []string{wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard} {
		var ids []int64
		for _, l := range append([]wamp.List{local}, remote...) {
			d, _ := first(l).(wamp.Dict)
			ids = idsOf(ids, d[policy])
		}
		out[policy] = sortedIDs(ids)
	}
	return wamp.List{out}
}

// firstFound is get and kill: the one node that has the session answers.
func firstFound(local wamp.List, remote []wamp.List) wamp.List {
	if len(remote) > 0 {
		return remote[0]
	}
	return local
}

// firstNonNil is lookup: the id (the same on every node) if any node has
// the subscription.
func firstNonNil(_ wamp.List, remote []wamp.List) wamp.List {
	for _, r := range remote {
		if nonNil(r) {
			return r
		}
	}
	return wamp.List{nil}
}

// earliest is a subscription's or registration's get: the details of the
// node that has had it longest, so every node gives the same "created"
// (ISO 8601 in UTC compares as text).
func earliest(local wamp.List, remote []wamp.List) wamp.List {
	var best wamp.Dict
	var since string
	for _, l := range append([]wamp.List{local}, remote...) {
		d, ok := first(l).(wamp.Dict)
		if !ok {
			continue
		}
		if c, _ := d["created"].(string); best == nil || c < since {
			best, since = d, c
		}
	}
	return wamp.List{best}
}

func first(l wamp.List) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

// notHere reports whether a local answer means "not on this node", so
// the other nodes are asked; any other error (bad arguments) is final.
func notHere(err error) bool {
	ce, ok := err.(*wamp.CallError)
	return ok && (ce.URI == wamp.ErrNoSuchSession || ce.URI == wamp.ErrNoSuchSubscription || ce.URI == wamp.ErrNoSuchRegistration)
}

// clusterID is the id of the subscription ("s") or router procedure
// ("r") (uri, match) of realm on every node: a hash, so the nodes agree
// without asking.
func clusterID(kind string, realm, uri wamp.URI, match string) wamp.ID {
	h := sha256.Sum256([]byte(kind + "\x00" + string(realm) + "\x00" + match + "\x00" + string(uri)))
	return wamp.ID(binary.BigEndian.Uint64(h[:])%uint64(wamp.MaxID)) + 1
}

// clusterMeta replaces the realm's gathered meta procedures by their
// cluster versions and makes them asynchronous (a gather waits for the
// other nodes); subscriptions and the router's own registrations get
// cluster-wide ids. Set-up only, before any session joins.
func (l *clusterLink) clusterMeta(rm *realm) {
	name := rm.name
	rm.broker.NewID = func(topic wamp.URI, policy string) wamp.ID { return clusterID("s", name, topic, policy) }
	rm.internalClusterIDs()
	procs := rm.meta.Procedures()
	rm.localMeta = procs
	for uri := range gathered {
		if reg, ok := rm.dealer.Lookup(uri, wamp.MatchExact); ok {
			rm.internal.procs[reg.ID] = l.gatherProc(rm, uri, procs[uri])
			rm.internal.async[reg.ID] = true
		}
	}
}

// internalClusterIDs registers the router's own procedures again under
// cluster-wide ids: every node serves them itself (they are not in the
// registry), and registration meta then answers alike on every node.
func (rm *realm) internalClusterIDs() {
	in := rm.internal
	for _, old := range in.peer.Registrations() {
		info, ok := rm.dealer.Get(old)
		if !ok {
			continue
		}
		if _, ok := rm.dealer.Detach(in.peer, old); !ok {
			continue
		}
		id, errURI := rm.dealer.Register(in.peer, info.Procedure, dealer.RegisterOptions{Match: info.Match, Invoke: info.Invoke, ID: clusterID("r", rm.name, info.Procedure, info.Match)})
		if errURI != "" {
			panic("router: internal procedure not registered again: " + string(info.Procedure))
		}
		in.procs[id], in.async[id] = in.procs[old], in.async[old]
		delete(in.procs, old)
		delete(in.async, old)
	}
}

func (l *clusterLink) gatherProc(rm *realm, uri wamp.URI, local meta.Procedure) internalProc {
	spec := gathered[uri]
	return func(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
		la, _, lerr := local(caller, args, kwargs)
		if lerr != nil && !notHere(lerr) {
			return nil, nil, lerr
		}
		if lerr == nil && spec.final != nil && spec.final(la) {
			return la, nil, nil
		}
		q := &wamp.Call{Request: 1, Options: wamp.Dict{"trusted": rm.trustedCaller(caller)}, Procedure: uri, Payload: wamp.Payload{Args: args, Kwargs: kwargs}}
		answers, missing := l.gather(rm, q)
		var found []wamp.List
		var notFound error = lerr
		for _, a := range answers {
			switch a := a.(type) {
			case *wamp.Result:
				if args, _, err := a.Values(); err == nil {
					found = append(found, args)
				}
			case *wamp.Error:
				// The node that has the session knows better than
				// those that do not (remove_subscriber).
				if ce, _ := notFound.(*wamp.CallError); ce == nil || ce.URI == wamp.ErrNoSuchSession {
					args, _, _ := a.Values()
					notFound = &wamp.CallError{URI: a.Error, Args: args}
				}
			}
		}
		if spec.needOne && lerr != nil && len(found) == 0 {
			return nil, nil, notFound
		}
		var kw wamp.Dict
		if len(missing) > 0 {
			kw = wamp.Dict{"partial": true, "missing_nodes": missingList(missing)}
		}
		return spec.merge(la, found), kw, nil
	}
}

func missingList(names []string) wamp.List {
	slices.Sort(names)
	out := make(wamp.List, len(names))
	for i, n := range names {
		out[i] = n
	}
	return out
}

// gather asks the other nodes and decodes their answers.
func (l *clusterLink) gather(rm *realm, q *wamp.Call) (answers []wamp.Message, missing []string) {
	b, err := ctlCodec.Encode(nil, q)
	if err != nil {
		return nil, nil
	}
	raw, missing := l.c.Gather(rm.name, b)
	for _, a := range raw {
		if m, err := ctlCodec.Decode(a); err == nil {
			answers = append(answers, m)
		}
	}
	return answers, missing
}

// trustedCaller reports whether caller sees hidden sessions (as the meta
// API decides it locally).
func (rm *realm) trustedCaller(caller wamp.ID) bool {
	if caller == rm.internal.id {
		return true
	}
	s := rm.session(caller)
	return s != nil && s.authrole == authz.RoleTrusted
}

// AnswerGather implements cluster.Controller: another node's gather query, run
// against this node's sessions.
func (l *clusterLink) AnswerGather(realm wamp.URI, query []byte) []byte {
	res := func(args wamp.List, err error) []byte {
		var m wamp.Message = &wamp.Result{Request: 1, Details: wamp.Dict{}, Payload: wamp.Payload{Args: args}}
		if err != nil {
			ce, ok := err.(*wamp.CallError)
			if !ok {
				ce = &wamp.CallError{URI: wamp.ErrRuntimeError, Args: wamp.List{err.Error()}}
			}
			m = &wamp.Error{RequestType: wamp.TypeCall, Request: 1, Details: wamp.Dict{}, Error: ce.URI, Payload: wamp.Payload{Args: ce.Args}}
		}
		b, _ := ctlCodec.Encode(nil, m)
		return b
	}
	rm := l.realm(realm)
	m, err := ctlCodec.Decode(query)
	q, ok := m.(*wamp.Call)
	if rm == nil || err != nil || !ok {
		return res(nil, &wamp.CallError{URI: wamp.ErrNoSuchRealm})
	}
	caller := wamp.ID(0) // no session here: the meta API's untrusted view
	if t, _ := wamp.OptBool(q.Options, "trusted"); t {
		caller = rm.internal.id
	}
	args, kwargs, err := q.Values()
	if err != nil {
		return res(nil, err)
	}
	fn := rm.localMeta[q.Procedure]
	if _, ok := gathered[q.Procedure]; fn == nil || !ok {
		return res(nil, &wamp.CallError{URI: wamp.ErrNoSuchProcedure})
	}
	a, _, err := fn(caller, args, kwargs)
	return res(a, err)
}

// ---- flush and revoke across nodes ----

// broadcastAuthz sends a successful flush or revoke to the other nodes.
func (l *clusterLink) broadcastAuthz(rm *realm, proc wamp.URI, kwargs wamp.Dict) {
	if l == nil {
		return
	}
	b, err := ctlCodec.Encode(nil, &wamp.Call{Request: 1, Options: wamp.Dict{}, Procedure: proc, Payload: wamp.Payload{Kwargs: kwargs}})
	if err == nil {
		err = l.c.Broadcast(rm.name, b)
	}
	if err != nil {
		l.r.warnLimited("cluster: authorizer "+string(proc)+" not sent to other nodes", "err", err)
	}
}

// Control implements cluster.Controller: another node's flush or revoke,
// applied here (a revoke on a goroutine: it may wait for the authorizer).
func (l *clusterLink) Control(realm wamp.URI, body []byte) {
	rm := l.realm(realm)
	m, err := ctlCodec.Decode(body)
	q, ok := m.(*wamp.Call)
	if rm == nil || rm.authz == nil || err != nil || !ok {
		return
	}
	_, kwargs, err := q.Values()
	if err != nil {
		return
	}
	switch q.Procedure {
	case procAuthorizerFlush:
		_, _, _ = rm.flushLocal(0, nil, kwargs)
	case procAuthorizerRevoke:
		l.goCluster(func() { _, _, _ = rm.revokeLocal(0, nil, kwargs) })
	}
}

// ---- sessions: roster, janitor, fencing ----

// sessionJoined and sessionLeft keep the cluster's copy of this node's
// sessions (lifecycle.go).
func (l *clusterLink) sessionJoined(s *session) {
	if l != nil {
		l.c.SessionJoined(s.realm.name, cluster.SessionInfo{ID: s.id, AuthID: s.authid, AuthRole: s.authrole})
	}
}

func (l *clusterLink) sessionLeft(s *session) {
	if l != nil {
		l.c.SessionLeft(s.realm.name, s.id)
	}
}

// Orphaned implements cluster.Controller: this node is the janitor of a
// dead node; each of its sessions leaves through a stand-in, so its
// testaments (authorized as it, by its role) and on_leave go out as if it
// had left here.
func (l *clusterLink) Orphaned(realm wamp.URI, ss []cluster.SessionInfo) bool {
	rm := l.realm(realm)
	if rm == nil {
		return true // a realm this node does not serve: nothing to publish
	}
	slices.SortFunc(ss, func(a, b cluster.SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return l.goCluster(func() { l.orphaned(rm, ss) })
}

func (l *clusterLink) orphaned(rm *realm, ss []cluster.SessionInfo) {
	for _, si := range ss {
		g := &ghost{rm: rm, info: si, log: l.r.log.With("session", si.ID, "realm", rm.name, "authid", si.AuthID, "janitor", true)}
		var ps []*wamp.Publish
		for _, b := range si.Testaments {
			if m, err := ctlCodec.Decode(b); err == nil {
				if p, ok := m.(*wamp.Publish); ok {
					ps = append(ps, p)
				}
			}
		}
		g.ts.Import(ps)
		rm.meta.Left(g)
	}
}

// goCluster runs f on a goroutine Shutdown waits for, for work the
// cluster starts (no connection holds the count, so the Add must happen
// before Shutdown's Wait: under the router's lock, while it is open). It
// reports false, and does nothing, once Shutdown has begun.
func (l *clusterLink) goCluster(f func()) bool {
	r := l.r
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		f()
	}()
	return true
}

// Fence implements cluster.Controller. The sessions' meta events as they
// leave stay on this node (see metaRealm.Publish).
func (l *clusterLink) Fence(reason wamp.URI) {
	for _, rm := range l.r.realms {
		if rm.cl != l {
			continue // node-local: not part of the cluster's view
		}
		for _, s := range (metaRealm{rm}).Sessions() {
			l.fenced.Store(s, true)
			s.Testaments().Clear()
			s.Kill(reason, "this cluster node was fenced: reconnect (possibly to another node)")
		}
	}
}

// wasFenced reports whether s was closed by a fence; its last meta event
// (on_leave, last) forgets it.
func (l *clusterLink) wasFenced(s *session, last bool) bool {
	if _, ok := l.fenced.Load(s); !ok {
		return false
	}
	if last {
		l.fenced.Delete(s)
	}
	return true
}

// available is REGISTER's cluster check (rpc.go): a node without a
// majority refuses.
func (l *clusterLink) available() bool { return l == nil || l.c.Available() }

// ---- the meta API's realm, clustered ----

// Publish sends meta events and testaments to the other nodes too, but
// for the sessions of a fenced node: the janitor spoke for them already.
func (m metaRealm) Publish(p *broker.Publication, about meta.Session) {
	m.rm.broker.Publish(p)
	if l := m.rm.cl; l != nil {
		if ss, ok := about.(*session); ok && l.wasFenced(ss, p.Topic == "wamp.session.on_leave") {
			return
		}
		l.publish(m.rm, p)
	}
}

func (m metaRealm) Listened(topic wamp.URI) bool {
	return m.rm.cl != nil && m.rm.cl.c.Interested(m.rm.name, topic)
}

func (m metaRealm) TestamentsChanged(s meta.Session) {
	if m.rm.cl == nil {
		return
	}
	var enc [][]byte
	for _, p := range s.Testaments().Export() {
		if b, err := ctlCodec.Encode(nil, p); err == nil {
			enc = append(enc, b)
		}
	}
	m.rm.cl.c.SessionTestaments(m.rm.name, s.ID(), enc)
}

// ghost stands for a session of a dead node while its janitor publishes
// its testaments and on_leave.
type ghost struct {
	rm   *realm
	info cluster.SessionInfo
	ts   meta.Testaments
	log  *slog.Logger
}

func (g *ghost) ID() wamp.ID             { return g.info.ID }
func (g *ghost) AuthID() string          { return g.info.AuthID }
func (g *ghost) AuthRole() string        { return g.info.AuthRole }
func (g *ghost) Codec() codec.Codec      { return nil }
func (g *ghost) SendEvent([]byte)        {}
func (g *ghost) Send(wamp.Message) error { return nil }
func (g *ghost) SessionDetails() wamp.Dict {
	return wamp.Dict{"session": g.info.ID, "authid": g.info.AuthID, "authrole": g.info.AuthRole}
}
func (g *ghost) Revocation() (bool, bool)     { return false, false }
func (g *ghost) Kill(wamp.URI, string)        {}
func (g *ghost) Testaments() *meta.Testaments { return &g.ts }
func (g *ghost) Logger() *slog.Logger         { return g.log }

// Authorize asks the realm as the departed session's role would be asked
// (its per-session grants stayed on its node).
func (g *ghost) Authorize(ctx context.Context, action authz.Action, uri wamp.URI, options wamp.Dict) authz.Decision {
	if g.rm.authz == nil {
		d, _ := wamp.OptBool(options, "disclose_me")
		return authz.Decision{Allow: true, Disclose: d || g.info.AuthRole == authz.RoleTrusted}
	}
	return g.rm.authz.Authorize(ctx, &authz.Session{ID: g.info.ID, Realm: g.rm.name, AuthID: g.info.AuthID, AuthRole: g.info.AuthRole}, uri, action, options)
}
