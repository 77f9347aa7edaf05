package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// RPC across nodes (docs/cluster.md, "RPC across nodes"). The registry
// holds one record per (realm, match, uri) with its callees in
// registration order; every node applies the records to its own dealer
// (remote callees stand in as proxies), so lookup, precedence and the
// invocation policy are the single-node code. The caller's node picks the
// callee and owns the one answer; the callee's node only runs the
// invocation it was sent.

// RPC is what the router needs from the cluster for calls.
type RPC interface {
	// Register adds c as a callee of (realm, procedure, match) with policy
	// invoke cluster-wide: ErrProcedureExists when a single registration,
	// a different policy or c itself is there already, ErrUnavailable
	// when the registry cannot be reached. It returns once this node's
	// replica has the record (Receiver.Apply ran), so a REGISTERED the
	// router sends next is already routable here.
	Register(ctx context.Context, realm, procedure wamp.URI, match, invoke string, c Callee) (id wamp.ID, created bool, err error)
	// Unregister removes this node's callee session from the record.
	Unregister(ctx context.Context, realm, procedure wamp.URI, match string, session wamp.ID) error
	// SendCall sends an Invoke, Chunk or Cancel to the callee's node. An
	// Invoke that cannot be delivered, or whose node is lost, is answered
	// through Receiver.Answer by the cluster (exactly one final answer).
	SendCall(node string, m *CallMsg) error
	// Reply sends a Result or Error for call m.Call to the caller's node.
	Reply(node string, m *CallMsg) error
	// Incarnation identifies this node's process (random per start).
	Incarnation() uint64
}

// RPCReceiver is the router's side: the cluster calls it from its
// goroutines; no method may block.
type RPCReceiver interface {
	// Apply installs reg in the local replica: its callees in order (the
	// ones on lost nodes already left out); no callees deletes it.
	// Records arrive one at a time, in registry order.
	Apply(reg *Registration)
	// Call takes an Invoke, Chunk or Cancel from node m.From.
	Call(m *CallMsg)
	// Answer takes the callee node's Result or Error for one of this
	// node's calls (or the cluster's own ERROR for a call whose callee's
	// node was lost or never got it).
	Answer(m *CallMsg)
	// NodeLost is told after node's pending calls were answered: the
	// invocations it made on this node's callees are settled.
	NodeLost(node string)
}

// Registry errors.
var (
	ErrProcedureExists = errors.New("cluster: procedure already registered")
	ErrUnavailable     = errors.New("cluster: registry unavailable")
)

// ErrClusterUnavailable is the URI of a REGISTER or UNREGISTER the
// registry could not take (no quorum, no JetStream).
const ErrClusterUnavailable wamp.URI = "tollgate.error.cluster_unavailable"

// ReasonNodeLost is details.reason of the ERROR wamp.error.canceled that
// answers a call whose callee's node was lost.
const ReasonNodeLost = "tollgate.cluster.node_lost"

// Callee is one session's place in a registration record.
type Callee struct {
	Node        string  `json:"node"`
	Incarnation uint64  `json:"inc"`
	Session     wamp.ID `json:"session"`
	AuthID      string  `json:"authid,omitempty"`
	AuthRole    string  `json:"authrole,omitempty"`
	// The callee features the caller's node needs to route as one node
	// would: progressive_call_results, call_canceling,
	// progressive_call_invocations, payload_passthru_mode.
	Progress               bool `json:"progress,omitempty"`
	Canceling              bool `json:"canceling,omitempty"`
	ProgressiveInvocations bool `json:"pci,omitempty"`
	PPT                    bool `json:"ppt,omitempty"`
}

// Registration is one registry record.
type Registration struct {
	Realm     wamp.URI `json:"realm"`
	Procedure wamp.URI `json:"uri"`
	Match     string   `json:"match"`
	Invoke    string   `json:"invoke"`
	ID        wamp.ID  `json:"id"`
	// Callees in registration order (first/last follow it).
	Callees []Callee `json:"callees"`
}

// RegistryKey is the record's key: realm and URI in base64url, each behind
// a letter so no token is empty (KV keys are NATS subject tokens).
func RegistryKey(realm, procedure wamp.URI, match string) string {
	b := base64.RawURLEncoding
	return "r" + b.EncodeToString([]byte(realm)) + "." + match + ".u" + b.EncodeToString([]byte(procedure))
}

// EncodeRegistration is a record's stored form (JSON, readable with the
// nats CLI).
func EncodeRegistration(r *Registration) ([]byte, error) { return json.Marshal(r) }

// DecodeRegistration reads a stored record.
func DecodeRegistration(b []byte) (*Registration, error) {
	r := &Registration{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("cluster: registry record: %w", err)
	}
	if r.ID == 0 || !wamp.ValidInvoke(r.Invoke) {
		return nil, fmt.Errorf("cluster: registry record for %q: bad id or invoke %q", r.Procedure, r.Invoke)
	}
	return r, nil
}

// CallKind says what a CallMsg is.
type CallKind uint8

const (
	KindInvoke CallKind = iota + 1 // caller's node → callee's node
	KindChunk                      // the next input of a progressive call invocation
	KindCancel
	KindResult // callee's node → caller's node (Progress: more follow)
	KindError
)

// CallMsg is one node-to-node RPC message. Call is the caller node's id of
// the call; the callee's node never reuses it as a WAMP request id.
type CallMsg struct {
	Kind CallKind
	From string // the sending node (set by the cluster when it sends)
	Call uint64
	// Invoke: where and what.
	Realm        wamp.URI
	Registration wamp.ID
	Callee       wamp.ID
	Procedure    wamp.URI // "" for an exact registration
	// Chunk and Result: more follow.
	Progress bool
	// Cancel: the mode the caller's node decided.
	Mode  string
	Error wamp.URI
	// Invoke and Chunk: INVOCATION.Details as the caller's node built them
	// (caller disclosure decided there); Result and Error: their details.
	Details wamp.Dict
	Payload wamp.Payload
}

// Final reports whether m ends its call (a Result without progress or an
// Error).
func (m *CallMsg) Final() bool {
	return m.Kind == KindError || m.Kind == KindResult && !m.Progress
}

const callVersion = 2

// keys of the envelope's Details.
const (
	cKind, cFrom, cRealm, cReg, cCallee, cProc, cProgress, cMode, cError, cDetails = "k", "f", "r", "g", "c", "p", "pr", "m", "e", "d"
)

// AppendCall appends m's wire form to dst: a version byte and a CBOR
// INVOCATION carrying the fields in its Details.
func AppendCall(dst []byte, m *CallMsg) ([]byte, error) {
	d := wamp.Dict{cKind: uint64(m.Kind), cFrom: m.From}
	if m.Kind == KindInvoke {
		d[cRealm], d[cReg], d[cCallee], d[cProc] = string(m.Realm), uint64(m.Registration), uint64(m.Callee), string(m.Procedure)
	}
	if m.Progress {
		d[cProgress] = true
	}
	if m.Mode != "" {
		d[cMode] = m.Mode
	}
	if m.Error != "" {
		d[cError] = string(m.Error)
	}
	if len(m.Details) > 0 {
		d[cDetails] = m.Details
	}
	dst = append(dst, callVersion)
	// Registration 1: the field must hold an id; the real one (Invoke
	// only) is in the details.
	return envCodec.Encode(dst, &wamp.Invocation{Request: wamp.ID(m.Call), Registration: 1, Details: d, Payload: m.Payload})
}

// DecodeCall reads a message AppendCall wrote. The payload stays raw CBOR,
// referring to b.
func DecodeCall(b []byte) (*CallMsg, error) {
	if len(b) < 2 || b[0] != callVersion {
		return nil, errors.New("cluster: not an RPC message (version or length)")
	}
	w, err := envCodec.Decode(b[1:])
	if err != nil {
		return nil, fmt.Errorf("cluster: RPC message: %w", err)
	}
	inv, ok := w.(*wamp.Invocation)
	if !ok {
		return nil, fmt.Errorf("cluster: RPC message holds %T", w)
	}
	d := inv.Details
	k, _ := wamp.OptInt(d, cKind)
	m := &CallMsg{Kind: CallKind(k), Call: uint64(inv.Request), Payload: inv.Payload}
	m.From, _ = wamp.OptString(d, cFrom)
	if m.Kind < KindInvoke || m.Kind > KindError {
		return nil, fmt.Errorf("cluster: RPC message of kind %d", k)
	}
	if m.Kind == KindInvoke {
		r, _ := wamp.OptString(d, cRealm)
		p, _ := wamp.OptString(d, cProc)
		m.Realm, m.Procedure = wamp.URI(r), wamp.URI(p)
		m.Callee, _ = wamp.OptID(d, cCallee)
		m.Registration, _ = wamp.OptID(d, cReg)
	}
	m.Progress, _ = wamp.OptBool(d, cProgress)
	m.Mode, _ = wamp.OptString(d, cMode)
	e, _ := wamp.OptString(d, cError)
	m.Error = wamp.URI(e)
	m.Details, _ = wamp.OptDict(d, cDetails)
	return m, nil
}

// RPC subjects: every node has an inbox for invocations, chunks and
// cancels (<prefix>.%n.<node>.i) and one for answers to its calls
// (<prefix>.%n.<node>.r.<call>: a NATS "no responders" status on it names
// the call that was not delivered), and probe replies
// (<prefix>.%n.<node>.p.<target>).

// NodeSubject is the prefix of node's subjects.
func (sj Subjects) NodeSubject(node string) string {
	var b strings.Builder
	b.WriteString(sj.Prefix)
	b.WriteString(".%n.") // no escaped realm token is "%n"
	escapeComponent(&b, node)
	return b.String()
}

// Inbox is node's subject for Invoke, Chunk and Cancel.
func (sj Subjects) Inbox(node string) string { return sj.NodeSubject(node) + ".i" }

// ReplyTo is the subject of answers to node's call.
func (sj Subjects) ReplyTo(node string, call uint64) string {
	return fmt.Sprintf("%s.r.%d", sj.NodeSubject(node), call)
}

// ProbeReply is where node hears that target's inbox has no responders.
func (sj Subjects) ProbeReply(node, target string) string {
	var b strings.Builder
	b.WriteString(sj.NodeSubject(node))
	b.WriteString(".p.")
	escapeComponent(&b, target)
	return b.String()
}

// ParseProbeReply returns the target of a ProbeReply subject's last token.
func ParseProbeReply(token string) (string, error) {
	var b strings.Builder
	if err := unescapeComponent(&b, token); err != nil {
		return "", err
	}
	return b.String(), nil
}
