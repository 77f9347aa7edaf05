package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/meta"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// RPC across nodes, the router's side (docs/cluster.md). A clustered
// node's REGISTER goes to the cluster's registry; every registry record is
// applied to the realm's dealer, local callees as themselves and remote
// ones as proxies, in record order. So lookup (exact → longest prefix →
// wildcard), the invocation policy and the call's whole life (timeout,
// cancel, progress, exactly one answer) are the dealer's single-node code
// on the caller's node. A proxy forwards what the dealer sends it
// (INVOCATION, INTERRUPT) to the callee's node, and the answers come back
// to the dealer as the proxy's YIELD or ERROR. On the callee's node a
// remoteCaller stands for the caller of one call, so the callee's
// INVOCATION, YIELD, ERROR and INTERRUPT are the single-node code there too.

type rpcState struct {
	// mu orders the registry's records as they are applied; taken before
	// realm.mu and dealer.Dealer.mu (LOCKING.md).
	mu      sync.Mutex
	applied map[regKey]*appliedReg
	ids     map[wamp.ID]regKey
	proxies map[calleeKey]*proxy

	// callsMu guards the calls in flight; a leaf.
	callsMu  sync.Mutex
	calls    map[uint64]pendingCall      // this node's calls to other nodes
	callers  map[callerKey]*remoteCaller // other nodes' calls to callees here
	shared   map[sharedKey]*remoteCaller // the callers that are not disclosed
	nextCall atomic.Uint64
}

type regKey struct {
	realm, uri wamp.URI
	match      string
}

type appliedReg struct {
	id      wamp.ID
	invoke  string
	callees []cluster.Callee
}

type calleeKey struct {
	node    string
	session wamp.ID
}

type callerKey struct {
	node string
	call uint64
}

type sharedKey struct {
	node  string
	realm wamp.URI
}

type pendingCall struct {
	p   *proxy
	inv wamp.ID // the proxy's INVOCATION request id
	// msg is the INVOCATION, kept until the call is answered so a call
	// its callee never got can be rerouted (dealer.Reroute), unless the
	// caller canceled it meanwhile.
	msg      *wamp.Invocation
	canceled bool
}

// canceling notes that call was canceled (kill mode waits for the
// callee's answer): it is not rerouted.
func (l *clusterLink) canceling(call uint64) {
	st := &l.rpc
	st.callsMu.Lock()
	if pc, ok := st.calls[call]; ok {
		pc.canceled = true
		st.calls[call] = pc
	}
	st.callsMu.Unlock()
}

func (st *rpcState) init() {
	st.applied, st.ids, st.proxies = map[regKey]*appliedReg{}, map[wamp.ID]regKey{}, map[calleeKey]*proxy{}
	st.calls, st.callers, st.shared = map[uint64]pendingCall{}, map[callerKey]*remoteCaller{}, map[sharedKey]*remoteCaller{}
}

// attach adds s as a callee: in the dealer on a single node, through the
// cluster's registry when clustered. It returns the error URI and message
// of a refusal.
func (s *session) attach(r registerRequest) (wamp.ID, bool, wamp.URI, string) {
	l := s.realm.cl
	if l == nil {
		id, created, errURI := s.realm.dealer.Attach(s.peer, r.Procedure, r.opts)
		return id, created, errURI, fmt.Sprintf("procedure %q is already registered", r.Procedure)
	}
	f := s.features
	c := cluster.Callee{Node: l.c.Node(), Incarnation: l.c.Incarnation(), Session: s.id, AuthID: s.authid, AuthRole: s.authrole,
		Progress: f.calleeProgress, Canceling: f.calleeCanceling, ProgressiveInvocations: f.calleeProgressiveInvocations, PPT: f.calleePPT}
	id, created, err := l.c.Register(s.ctx, s.realm.name, r.Procedure, r.opts.Match, r.opts.Invoke, c)
	switch {
	case errors.Is(err, cluster.ErrProcedureExists):
		return 0, false, wamp.ErrProcedureAlreadyExists, fmt.Sprintf("procedure %q is already registered in the cluster", r.Procedure)
	case err != nil:
		s.log.Warn("cluster: REGISTER refused", "procedure", r.Procedure, "err", err)
		return 0, false, cluster.ErrClusterUnavailable, "the cluster's registry is unavailable: " + err.Error()
	}
	return id, created, "", ""
}

// caughtUp is asked after a CALL found no registration: it waits until
// this node's replica has every record written so far (natscluster's
// CatchUp bounds and coalesces it) and reports whether looking again may
// find one. A single node never waits.
func (l *clusterLink) caughtUp() bool {
	return l != nil && l.c.CatchUp(context.Background()) == nil
}

// CalleeRemoved is meta.Realm's: a callee taken off a registration by
// remove_callee or a revocation leaves the cluster's registry as on
// UNREGISTER, so no other node routes to it.
func (m metaRealm) CalleeRemoved(s meta.Session, d dealer.Detached) {
	if ss, ok := s.(*session); ok {
		m.rm.cl.unregistered(ss, d)
	}
}

// unregistered removes s's callees of registrations ds from the
// cluster's registry (the dealer let them go already). After one failure
// the rest are left to the janitor, so a leave waits for an unreachable
// registry once, not once per registration.
func (l *clusterLink) unregistered(s *session, ds ...dealer.Detached) {
	if l == nil {
		return
	}
	for _, d := range ds {
		l.rpc.mu.Lock()
		k, ok := l.rpc.ids[d.ID]
		l.rpc.mu.Unlock()
		if !ok {
			continue
		}
		if err := l.c.Unregister(context.Background(), k.realm, k.uri, k.match, s.id); err != nil {
			s.log.Warn("cluster: registry entries not removed", "procedure", k.uri, "registrations", len(ds), "err", err)
			return
		}
	}
}

// Apply implements cluster.RPCReceiver: the dealer takes reg's callees
// as the record has them (a changed id replaces the registration).
func (l *clusterLink) Apply(reg *cluster.Registration) {
	rm := l.realm(reg.Realm)
	if rm == nil {
		return // a realm this node does not serve
	}
	st := &l.rpc
	k := regKey{reg.Realm, reg.Procedure, reg.Match}
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.applied[k]
	same := old != nil && old.id == reg.ID && old.invoke == reg.Invoke
	if old != nil {
		for _, c := range old.callees {
			if !same || !slices.Contains(reg.Callees, c) {
				l.detachCallee(rm, old.id, c)
			}
		}
		delete(st.ids, old.id)
	}
	for _, c := range reg.Callees {
		if !same || !slices.Contains(old.callees, c) {
			l.attachCallee(rm, reg, c)
		}
	}
	if len(reg.Callees) == 0 {
		delete(st.applied, k)
		return
	}
	st.applied[k] = &appliedReg{id: reg.ID, invoke: reg.Invoke, callees: reg.Callees}
	st.ids[reg.ID] = k
}

// peerOf is the dealer peer of callee c: the local session's, or a proxy
// (made when create is set). nil when there is none. Called with rpc.mu
// held.
func (l *clusterLink) peerOf(rm *realm, c cluster.Callee, create bool) *dealer.Peer {
	if c.Node == l.c.Node() {
		if c.Incarnation != l.c.Incarnation() {
			return nil // a previous life of this node (its janitor cleans it)
		}
		rm.mu.RLock()
		s := rm.sessions[c.Session]
		rm.mu.RUnlock()
		if s == nil {
			return nil
		}
		return s.peer
	}
	k := calleeKey{c.Node, c.Session}
	p := l.rpc.proxies[k]
	if p == nil && create {
		p = &proxy{l: l, realm: rm, c: c, calls: map[wamp.ID]proxyCall{}}
		p.peer = dealer.NewPeer(p)
		p.peer.CalleeProgress, p.peer.CalleeCanceling = c.Progress, c.Canceling
		p.peer.CalleeProgressiveInvocations, p.peer.CalleePPT = c.ProgressiveInvocations, c.PPT
		l.rpc.proxies[k] = p
	}
	if p == nil {
		return nil
	}
	return p.peer
}

func (l *clusterLink) attachCallee(rm *realm, reg *cluster.Registration, c cluster.Callee) {
	p := l.peerOf(rm, c, true)
	if p == nil {
		return
	}
	if _, _, errURI := rm.dealer.Attach(p, reg.Procedure, dealer.RegisterOptions{Match: reg.Match, Invoke: reg.Invoke, ID: reg.ID}); errURI != "" {
		l.r.warnLimited("cluster: registration not applied here", "procedure", reg.Procedure, "node", c.Node, "err", errURI)
	}
}

func (l *clusterLink) detachCallee(rm *realm, id wamp.ID, c cluster.Callee) {
	p := l.peerOf(rm, c, false)
	if p == nil {
		return
	}
	rm.dealer.Detach(p, id)
	if c.Node != l.c.Node() && p.RegistrationCount() == 0 {
		delete(l.rpc.proxies, calleeKey{c.Node, c.Session})
	}
}

// proxy is a callee on another node as the caller's node's dealer sees
// it.
type proxy struct {
	l     *clusterLink
	realm *realm
	c     cluster.Callee
	peer  *dealer.Peer
	mu    sync.Mutex
	calls map[wamp.ID]proxyCall // by INVOCATION request id
}

// proxyCall is one call in flight through a proxy: its id and, for a
// pattern registration, the procedure called ("" for exact).
type proxyCall struct {
	call      uint64
	procedure wamp.URI
}

func (p *proxy) ID() wamp.ID      { return p.c.Session }
func (p *proxy) AuthID() string   { return p.c.AuthID }
func (p *proxy) AuthRole() string { return p.c.AuthRole }

// Send forwards an INVOCATION (the first one or the next chunk of a
// progressive call invocation) or INTERRUPT to the callee's node.
func (p *proxy) Send(m wamp.Message) error {
	var cm *cluster.CallMsg
	switch m := m.(type) {
	case *wamp.Invocation:
		cm = p.invocation(m)
	case *wamp.Interrupt:
		p.mu.Lock()
		pc, ok := p.calls[m.Request]
		p.mu.Unlock()
		if !ok {
			return nil
		}
		mode, _ := wamp.OptString(m.Options, "mode")
		cm = &cluster.CallMsg{Kind: cluster.KindCancel, Call: pc.call, Mode: mode}
		p.l.canceling(pc.call)
	default:
		return nil // an ERROR for its YIELD: the callee answered already
	}
	if err := p.l.c.SendCall(p.c.Node, cm); err != nil {
		if cm.Kind == cluster.KindInvoke {
			p.l.takeCall(cm.Call)
		}
		return dealer.ErrGone
	}
	return nil
}

func (p *proxy) invocation(m *wamp.Invocation) *cluster.CallMsg {
	p.mu.Lock()
	pc, chunk := p.calls[m.Request]
	if !chunk {
		procedure, _ := m.Details["procedure"].(wamp.URI) // the dealer's, for patterns
		pc = proxyCall{p.l.rpc.nextCall.Add(1), procedure}
		p.calls[m.Request] = pc
	}
	p.mu.Unlock()
	if chunk {
		// The procedure again: the callee's node checks a chunk against
		// its call's, as one node does.
		progress, _ := wamp.OptBool(m.Details, "progress")
		return &cluster.CallMsg{Kind: cluster.KindChunk, Call: pc.call, Procedure: pc.procedure, Progress: progress, Details: m.Details, Payload: m.Payload}
	}
	st := &p.l.rpc
	st.callsMu.Lock()
	st.calls[pc.call] = pendingCall{p: p, inv: m.Request, msg: m}
	st.callsMu.Unlock()
	return &cluster.CallMsg{Kind: cluster.KindInvoke, Call: pc.call, Realm: p.realm.name, Registration: m.Registration,
		Callee: p.c.Session, Procedure: pc.procedure, Details: m.Details, Payload: m.Payload}
}

// takeCall ends this node's call: its proxy and invocation, or ok false
// when it ended already.
func (l *clusterLink) takeCall(call uint64) (pendingCall, bool) {
	st := &l.rpc
	st.callsMu.Lock()
	pc, ok := st.calls[call]
	delete(st.calls, call)
	st.callsMu.Unlock()
	if ok {
		pc.p.mu.Lock()
		delete(pc.p.calls, pc.inv)
		pc.p.mu.Unlock()
	}
	return pc, ok
}

// Answer implements cluster.RPCReceiver: the callee node's RESULT or
// ERROR is the proxy's YIELD or ERROR to the dealer.
func (l *clusterLink) Answer(m *cluster.CallMsg) {
	var pc pendingCall
	var ok bool
	if m.Final() {
		pc, ok = l.takeCall(m.Call)
	} else {
		l.rpc.callsMu.Lock()
		pc, ok = l.rpc.calls[m.Call]
		l.rpc.callsMu.Unlock()
	}
	if !ok {
		return
	}
	d := pc.p.realm.dealer
	if m.NotDelivered && !pc.canceled && d.Reroute(pc.p.peer, pc.msg) {
		return // another callee has it now
	}
	details := m.Details
	if details == nil {
		details = wamp.Dict{}
	}
	if m.Kind == cluster.KindError {
		d.Error(pc.p.peer, &wamp.Error{RequestType: wamp.TypeInvocation, Request: pc.inv, Details: details, Error: m.Error, Payload: m.Payload})
		return
	}
	var opts wamp.Dict // YIELD options: progress and ppt_*; most answers have none
	for k, v := range details {
		if k == "progress" || strings.HasPrefix(k, "ppt_") {
			if opts == nil {
				opts = wamp.Dict{}
			}
			opts[k] = v
		}
	}
	d.Yield(pc.p.peer, &wamp.Yield{Request: pc.inv, Options: opts, Payload: m.Payload})
}
