package router

import (
	"strings"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The callee's node of a call across nodes (cluster_rpc.go): the caller's
// node resolved the procedure, applied the invocation policy, authorized
// the caller and decided its disclosure; this node runs the invocation on
// the callee it was told, with a remoteCaller as its caller.

// remoteCaller is the caller of calls from another node: one per call
// that discloses its caller, one per (node, realm) for the others. The
// dealer's request id of a call is the caller node's call id.
type remoteCaller struct {
	l                *clusterLink
	realm            *realm
	node             string
	id               wamp.ID // the caller's session, when disclosed
	authid, authrole string
	peer             *dealer.Peer
}

func (rc *remoteCaller) ID() wamp.ID      { return rc.id }
func (rc *remoteCaller) AuthID() string   { return rc.authid }
func (rc *remoteCaller) AuthRole() string { return rc.authrole }

// Send sends the call's RESULT (progressive or final) or ERROR back to the
// caller's node.
func (rc *remoteCaller) Send(m wamp.Message) error {
	var cm *cluster.CallMsg
	switch m := m.(type) {
	case *wamp.Result:
		progress, _ := wamp.OptBool(m.Details, "progress")
		cm = &cluster.CallMsg{Kind: cluster.KindResult, Call: uint64(m.Request), Progress: progress, Details: m.Details, Payload: m.Payload}
	case *wamp.Error:
		cm = &cluster.CallMsg{Kind: cluster.KindError, Call: uint64(m.Request), Error: m.Error, Details: m.Details, Payload: m.Payload}
	default:
		return nil
	}
	err := rc.l.c.Reply(rc.node, cm)
	if cm.Final() {
		// Only now: an Unknown asked meanwhile says running, and its
		// answer goes out after this one (lost answers are found so).
		rc.l.forgetCaller(callerKey{rc.node, cm.Call})
	}
	if err != nil {
		return dealer.ErrGone
	}
	return nil
}

// Unknown implements cluster.RPCReceiver.
func (l *clusterLink) Unknown(node string, calls []uint64) []uint64 {
	var out []uint64
	l.rpc.callsMu.Lock()
	defer l.rpc.callsMu.Unlock()
	for _, call := range calls {
		if _, ok := l.rpc.callers[callerKey{node, call}]; !ok {
			out = append(out, call)
		}
	}
	return out
}

func (l *clusterLink) forgetCaller(k callerKey) {
	l.rpc.callsMu.Lock()
	delete(l.rpc.callers, k)
	l.rpc.callsMu.Unlock()
}

func (l *clusterLink) caller(k callerKey) *remoteCaller {
	l.rpc.callsMu.Lock()
	defer l.rpc.callsMu.Unlock()
	return l.rpc.callers[k]
}

// Call implements cluster.RPCReceiver.
func (l *clusterLink) Call(m *cluster.CallMsg) {
	k := callerKey{m.From, m.Call}
	switch m.Kind {
	case cluster.KindInvoke:
		l.invoke(m)
	case cluster.KindChunk:
		if rc := l.caller(k); rc != nil {
			options := wamp.Dict{}
			if m.Progress {
				options["progress"] = true
			}
			rc.realm.dealer.Continue(rc.peer, &wamp.Call{Request: wamp.ID(m.Call), Procedure: m.Procedure, Options: options, Payload: m.Payload}, m.Progress)
		}
	case cluster.KindCancel:
		if rc := l.caller(k); rc != nil {
			rc.realm.dealer.Cancel(rc.peer, wamp.ID(m.Call), m.Mode)
		}
	}
}

// invoke runs an Invoke on its local callee, or answers why not.
func (l *clusterLink) invoke(m *cluster.CallMsg) {
	// notHere marks the answers for an Invoke no callee got, so the
	// caller's node may reroute it.
	var notHere bool
	fail := func(uri wamp.URI, msg string) {
		_ = l.c.Reply(m.From, &cluster.CallMsg{Kind: cluster.KindError, Call: m.Call, Error: uri, NotDelivered: notHere, Details: wamp.Dict{},
			Payload: wamp.Payload{Args: wamp.List{msg}}})
	}
	rm := l.realm(m.Realm)
	if rm == nil {
		notHere = true
		fail(wamp.ErrNoSuchRealm, "node "+l.c.Node()+" does not serve realm "+string(m.Realm))
		return
	}
	t, ok := rm.dealer.TargetFor(m.Registration, m.Callee)
	var s *session
	if ok {
		s, ok = t.Callee().(*session)
	}
	if !ok {
		notHere = true
		fail(wamp.ErrNoAvailableCallee, "the callee is no longer registered on node "+l.c.Node())
		return
	}
	if t.Pattern() && !rm.mayServe(s, m.Procedure) {
		fail(wamp.ErrNoSuchProcedure, "no callee registered for procedure "+string(m.Procedure))
		return
	}
	d := m.Details
	o := dealer.CallOptions{}
	o.ReceiveProgress, _ = wamp.OptBool(d, "receive_progress")
	o.ProgressiveInput, _ = wamp.OptBool(d, "progress")
	if scheme, _ := d["ppt_scheme"].(string); scheme != "" {
		o.PPT = wamp.Dict{}
		for k, v := range d {
			if strings.HasPrefix(k, "ppt_") {
				o.PPT[k] = v
			}
		}
	}
	k := callerKey{m.From, m.Call}
	var rc *remoteCaller
	l.rpc.callsMu.Lock()
	if id, disclosed := wamp.OptID(d, "caller"); disclosed {
		rc = l.newCaller(rm, m.From)
		rc.id, o.Disclose = id, true
		rc.authid, _ = wamp.OptString(d, "caller_authid")
		rc.authrole, _ = wamp.OptString(d, "caller_authrole")
	} else if rc = l.rpc.shared[sharedKey{m.From, rm.name}]; rc == nil {
		rc = l.newCaller(rm, m.From)
		l.rpc.shared[sharedKey{m.From, rm.name}] = rc
	}
	l.rpc.callers[k] = rc
	l.rpc.callsMu.Unlock()
	// no Options: the dealer takes them as o (the caller's node parsed them)
	c := &wamp.Call{Request: wamp.ID(m.Call), Procedure: m.Procedure, Payload: m.Payload}
	if errURI := rm.dealer.Call(rc.peer, c, t, o); errURI != "" {
		notHere = errURI == wamp.ErrCanceled // the callee is leaving
		fail(errURI, callRefusal(errURI, m.Procedure, o))
		l.forgetCaller(k) // after the answer, as in remoteCaller.Send
	}
}

func (l *clusterLink) newCaller(rm *realm, node string) *remoteCaller {
	rc := &remoteCaller{l: l, realm: rm, node: node}
	rc.peer = dealer.NewPeer(rc)
	// The caller's node checks the caller's payload_passthru_mode when the
	// answer reaches it.
	rc.peer.CallerPPT = true
	return rc
}

// NodeLost implements cluster.RPCReceiver: the invocations node's calls
// started here are interrupted (killnowait, callees that cancel) and
// their late answers dropped, as for a caller that leaves.
func (l *clusterLink) NodeLost(node string) {
	lost := map[*remoteCaller]bool{}
	l.rpc.callsMu.Lock()
	for k, rc := range l.rpc.callers {
		if k.node == node {
			lost[rc] = true
			delete(l.rpc.callers, k)
		}
	}
	for k := range l.rpc.shared {
		if k.node == node {
			delete(l.rpc.shared, k)
		}
	}
	l.rpc.callsMu.Unlock()
	for rc := range lost {
		rc.realm.dealer.Leave(rc.peer)
	}
}
