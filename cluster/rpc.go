package cluster

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

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
	// CatchUp returns once this node's replica has applied every record
	// written before the call (a short bound; an error when it could not
	// tell), so a CALL that found nothing is answered no_such_procedure
	// only if no node had confirmed a registration for it.
	CatchUp(ctx context.Context) error
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
	// Unknown returns those of node's calls that no invocation here is
	// running for (never received, or answered already). The cluster
	// asks it after every Invoke it took from node before the question.
	Unknown(node string, calls []uint64) []uint64
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

// ReasonMessageLost is details.reason of the ERROR wamp.error.canceled
// that answers a call whose INVOCATION or final answer NATS lost between
// nodes (core NATS is at-most-once).
const ReasonMessageLost = "tollgate.cluster.message_lost"

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
	// NotDelivered marks an Error for an Invoke that certainly reached
	// no callee (nothing took it, or the callee was not there): the
	// caller's node may reroute the call.
	NotDelivered bool
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

const callVersion = 4

// Flag bits of an RPC message's third byte.
const (
	flagProgress     = 1
	flagNotDelivered = 2
)

// AppendCall appends m's wire form to dst: a binary header (version,
// kind, flags, call, registration, callee, then from, realm,
// procedure, mode and error as length-prefixed strings) and a CBOR RESULT
// carrying the details and the payload.
func AppendCall(dst []byte, m *CallMsg) ([]byte, error) {
	var flags byte
	if m.Progress {
		flags |= flagProgress
	}
	if m.NotDelivered {
		flags |= flagNotDelivered
	}
	dst = append(dst, callVersion, byte(m.Kind), flags)
	dst = binary.BigEndian.AppendUint64(dst, m.Call)
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Registration))
	dst = binary.BigEndian.AppendUint64(dst, uint64(m.Callee))
	for _, s := range [...]string{m.From, string(m.Realm), string(m.Procedure), m.Mode, string(m.Error)} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	d := m.Details
	if d == nil {
		d = noDetails
	}
	r := results.Get().(*wamp.Result)
	*r = wamp.Result{Request: 1, Details: d, Payload: m.Payload}
	dst, err := envCodec.Encode(dst, r)
	*r = wamp.Result{} // keeps nothing of m alive in the pool
	results.Put(r)
	return dst, err
}

// results carry an RPC message's details and payload to the encoder: one
// allocation fewer per message.
var results = sync.Pool{New: func() any { return new(wamp.Result) }}

const callHeaderLen = 3 + 3*8

// noDetails is encoded for a message without details (never written to).
var noDetails = wamp.Dict{}

// DecodeCall reads a message AppendCall wrote. The payload stays raw CBOR,
// referring to b.
func DecodeCall(b []byte) (*CallMsg, error) { return decodeCall(b, nil) }

// Names keeps one copy of the node names and realms of the RPC messages a
// node decodes, so a message's From and Realm cost no allocation. It is
// not safe for concurrent use (one dispatch goroutine owns it).
type Names struct{ m map[string]string }

// maxNames bounds Names (nodes and realms are few; others are not kept).
const maxNames = 1024

func (n *Names) get(b []byte) string {
	if n == nil {
		return string(b)
	}
	if s, ok := n.m[string(b)]; ok { // a lookup by []byte does not allocate
		return s
	}
	s := string(b)
	if n.m == nil {
		n.m = map[string]string{}
	}
	if len(n.m) < maxNames {
		n.m[s] = s
	}
	return s
}

// DecodeCall is the package's DecodeCall with From and Realm from n.
func (n *Names) DecodeCall(b []byte) (*CallMsg, error) { return decodeCall(b, n) }

func decodeCall(b []byte, names *Names) (*CallMsg, error) {
	if len(b) < callHeaderLen || b[0] != callVersion {
		return nil, errors.New("cluster: not an RPC message (version or length)")
	}
	m := &CallMsg{Kind: CallKind(b[1]), Progress: b[2]&flagProgress != 0, NotDelivered: b[2]&flagNotDelivered != 0,
		Call: binary.BigEndian.Uint64(b[3:]), Registration: wamp.ID(binary.BigEndian.Uint64(b[11:])),
		Callee: wamp.ID(binary.BigEndian.Uint64(b[19:]))}
	if m.Kind < KindInvoke || m.Kind > KindError {
		return nil, fmt.Errorf("cluster: RPC message of kind %d", m.Kind)
	}
	rest := b[callHeaderLen:]
	var strs [5]string
	for i := range strs {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, errors.New("cluster: RPC message: truncated header")
		}
		if s := rest[k : k+int(n)]; i < 2 { // from, realm
			strs[i] = names.get(s)
		} else {
			strs[i] = string(s)
		}
		rest = rest[k+int(n):]
	}
	m.From, m.Realm, m.Procedure, m.Mode, m.Error = strs[0], wamp.URI(strs[1]), wamp.URI(strs[2]), strs[3], wamp.URI(strs[4])
	w, err := envCodec.Decode(rest)
	if err != nil {
		return nil, fmt.Errorf("cluster: RPC message: %w", err)
	}
	res, ok := w.(*wamp.Result)
	if !ok {
		return nil, fmt.Errorf("cluster: RPC message holds %T", w)
	}
	m.Details, m.Payload = res.Details, res.Payload
	return m, nil
}

// RPC subjects: every node has an inbox for invocations, chunks and
// cancels (<prefix>.%n.<node>.i), one for answers to its calls
// (<prefix>.%n.<node>.a), the reply subjects of its invocations
// (<prefix>.%n.<node>.r.<call>: a NATS "no responders" status on one names
// the call that was not delivered) and probe replies
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

// Answers is node's subject for the Results and Errors of its calls (one
// subject, so the NATS servers' match caches keep hitting).
func (sj Subjects) Answers(node string) string { return sj.NodeSubject(node) + ".a" }

// ReplyTo is the reply subject of node's Invoke of call: only a NATS "no
// responders" status comes back on it.
func (sj Subjects) ReplyTo(node string, call uint64) string {
	return sj.NodeSubject(node) + ".r." + strconv.FormatUint(call, 10)
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
