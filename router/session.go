package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// conn is one client connection. Its read loop (serve) runs the WAMP
// sessions on it one after the other (a new HELLO may follow a GOODBYE).
type conn struct {
	r     *Router
	tc    transport.Conn
	codec codec.Codec
	q     *transport.Queue
	log   *slog.Logger
	auth  map[string]auth.Authenticator // by method; nil: anonymous only
	// ctx lives until the connection closes; its read loop, writer and
	// authorizer calls use it. cancel ends it (close calls it).
	ctx    context.Context
	cancel context.CancelFunc

	// closing is set when the router started a close (shutdown, kill): the
	// read loop then only waits for the peer's GOODBYE.
	closing   atomic.Bool
	current   atomic.Pointer[session]
	closeOnce sync.Once
	done      chan struct{} // closed when the connection is finished
}

// session is one WAMP session. Its fields are set by the handshake before
// the session is visible to other goroutines and are read-only afterwards,
// except subs, which only the read loop touches.
type session struct {
	*conn
	log *slog.Logger

	id           wamp.ID
	realm        *realm
	authid       string
	authrole     string
	authmethod   string
	authprovider string
	authextra    wamp.Dict
	// pendingID is the id promised to the authenticator (details.session).
	pendingID wamp.ID
	peer      *dealer.Peer
	// Client features from HELLO.
	// callerInvocations: progressive_call_invocations as caller;
	// publisherPPT: payload_passthru_mode as publisher (advanced.go).
	callerInvocations, publisherPPT bool

	subs []wamp.ID
	// az is this session as the authorizer sees it (built at join).
	az *authz.Session
	// meta is the meta API state: revocation features, testaments.
	meta sessionMeta
}

// broker.Session and dealer.Session.
func (s *session) ID() wamp.ID        { return s.id }
func (s *session) AuthID() string     { return s.authid }
func (s *session) AuthRole() string   { return s.authrole }
func (s *session) Codec() codec.Codec { return s.codec }
func (s *session) SendEvent(f []byte) {
	if s.enqueue(f, true) {
		s.r.stats.count(&s.r.stats.sent, wamp.TypeEvent)
	}
}
func (s *session) Send(m wamp.Message) bool {
	return s.conn.send(m)
}

func (c *conn) send(m wamp.Message) bool {
	f, err := c.codec.Encode(nil, m)
	if err != nil {
		c.log.Warn("cannot encode message", "type", m.MessageType(), "err", err)
		return false
	}
	if !c.enqueue(f, false) {
		return false
	}
	c.r.stats.count(&c.r.stats.sent, m.MessageType())
	return true
}

// enqueue queues a frame and applies the slow-consumer policy.
func (c *conn) enqueue(f []byte, event bool) bool {
	if max := c.tc.MaxSendSize(); max > 0 && len(f) > max {
		c.r.stats.oversize.Add(1)
		c.log.Debug("message larger than the peer accepts, not sent", "bytes", len(f), "max", max)
		return false
	}
	err := c.q.Send(f)
	if err == nil {
		return true
	}
	if errors.Is(err, transport.ErrQueueFull) {
		if event && c.r.opts.SlowConsumer == SlowConsumerDropEvents {
			c.r.stats.droppedEvents.Add(1)
			return false
		}
		c.r.stats.slowConsumers.Add(1)
		c.r.warnLimited("slow consumer: outbound queue full, closing connection", "remote", c.tc.Info().RemoteAddr)
		c.close()
	}
	return false
}

// close ends the connection at once (writer stops, reader unblocks).
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.cancel()
		c.q.Close()
		c.tc.Close()
	})
}

// closeAfterDrain closes the connection once its queue is written (or
// after GoodbyeTimeout), without blocking the caller.
func (c *conn) closeAfterDrain() {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.r.opts.GoodbyeTimeout)
		defer cancel()
		c.q.Drain(ctx)
		c.close()
	}()
}

// serve runs the connection's read loop until it ends. It owns the
// connection: it starts the writer and closes everything on return.
func (c *conn) serve() {
	ctx, cancel := c.ctx, c.cancel
	var writer sync.WaitGroup
	writer.Add(1)
	go func() {
		defer writer.Done()
		if err := c.q.Run(ctx); err != nil && ctx.Err() == nil {
			c.log.Debug("writer stopped", "err", err)
			c.tc.Close() // unblock the reader
		}
	}()
	defer func() {
		if v := recover(); v != nil {
			c.log.Error("panic in session; closing it", "panic", v, "stack", string(debug.Stack()))
		}
		if s := c.current.Swap(nil); s != nil {
			s.leaveRealm()
		}
		// Give queued frames (ABORT, GOODBYE) a moment to reach the peer.
		dctx, dcancel := context.WithTimeout(context.Background(), c.r.opts.GoodbyeTimeout)
		c.q.Drain(dctx)
		dcancel()
		cancel()
		c.close()
		writer.Wait()
		close(c.done)
	}()

	for {
		s := &session{conn: c, log: c.log}
		if !s.handshake(ctx) {
			return
		}
		c.current.Store(s)
		more := s.established(ctx)
		c.current.Store(nil)
		s.leaveRealm()
		if !more {
			return
		}
		// GOODBYE exchanged: the transport stays open for a new HELLO.
	}
}

// read reads and decodes one message. A decode failure is answered with
// ABORT protocol_violation and reported as ok=false.
func (c *conn) read(ctx context.Context) (wamp.Message, bool) {
	data, err := c.tc.Read(ctx)
	if err != nil {
		if errors.Is(err, transport.ErrMessageTooBig) {
			c.abort(wamp.ErrProtocolViolation, "message exceeds the maximum size")
		} else if ctx.Err() == nil && !c.closing.Load() {
			c.log.Debug("connection lost", "err", err)
		}
		return nil, false
	}
	m, err := c.codec.Decode(data)
	if err != nil {
		c.r.stats.protocolViolations.Add(1)
		c.abort(wamp.ErrProtocolViolation, protocolMessage(err))
		return nil, false
	}
	c.r.stats.count(&c.r.stats.received, m.MessageType())
	return m, true
}

func protocolMessage(err error) string {
	var pe *wamp.ProtocolError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}

// abort sends ABORT; the caller then ends the connection.
func (c *conn) abort(reason wamp.URI, msg string) {
	c.log.Debug("abort", "reason", reason, "message", msg)
	c.send(&wamp.Abort{Details: wamp.Dict{"message": msg}, Reason: reason})
}

// feature reports whether roles.<role>.features.<key> is true.
func feature(roles wamp.Dict, role, key string) bool {
	r, _ := wamp.OptDict(roles, role)
	f, _ := wamp.OptDict(r, "features")
	v, _ := wamp.OptBool(f, key)
	if !v && key == "call_canceling" {
		v, _ = wamp.OptBool(f, "call_cancelling") // spelling in one spec section
	}
	return v
}

// leaveRealm removes the session from its realm and settles its state.
func (s *session) leaveRealm() {
	rm := s.realm
	if rm == nil {
		return
	}
	rm.leave(s)
	rm.sessionEnded(s) // subscriptions, registrations, meta events, testaments (meta.go)
	rm.dealer.Leave(s.peer)
	if rm.authz != nil {
		rm.authz.SessionLeft(s.id)
	}
	s.subs = nil
	s.realm = nil
	s.log.Debug("session left")
}

// established routes messages until GOODBYE (returns true: the transport
// may carry a new session) or the connection ends (false).
func (s *session) established(ctx context.Context) bool {
	for {
		m, ok := s.read(ctx)
		if !ok {
			return false
		}
		if s.closing.Load() {
			// Closing: wait for the peer's GOODBYE, ignore everything else.
			if _, isGoodbye := m.(*wamp.Goodbye); isGoodbye {
				return false
			}
			continue
		}
		// Progressive call invocation chunks, payload passthru and other
		// feature checks (advanced.go).
		if handled, ok := s.intercept(m); !ok {
			return false
		} else if handled {
			continue
		}
		switch m := m.(type) {
		case *wamp.Goodbye:
			// Leave first: when the client reads the reply, its session is
			// gone (registrations, cached authorizations, session list).
			s.leaveRealm()
			s.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
			return true
		case *wamp.Abort:
			s.log.Debug("peer aborted", "reason", m.Reason)
			return false
		case *wamp.Subscribe:
			s.subscribe(m)
		case *wamp.Unsubscribe:
			s.unsubscribe(m)
		case *wamp.Publish:
			s.publish(m)
		case *wamp.Register:
			s.register(m)
		case *wamp.Unregister:
			s.unregister(m)
		case *wamp.Call:
			s.call(m)
		case *wamp.Cancel:
			mode, _ := wamp.OptString(m.Options, "mode")
			s.realm.dealer.Cancel(s.peer, m.Request, mode)
		case *wamp.Yield:
			s.realm.dealer.Yield(s.peer, m)
		case *wamp.Error:
			if m.RequestType != wamp.TypeInvocation {
				s.r.stats.protocolViolations.Add(1)
				s.abort(wamp.ErrProtocolViolation, fmt.Sprintf("ERROR from a client must answer an INVOCATION, not %v", m.RequestType))
				return false
			}
			s.realm.dealer.Error(s.peer, m)
		default:
			s.r.stats.protocolViolations.Add(1)
			s.abort(wamp.ErrProtocolViolation, fmt.Sprintf("%v is not allowed in an established session", m.MessageType()))
			return false
		}
	}
}

// authorize asks the realm whether s may do action on uri. An open realm
// (no roles configured) allows everything and discloses on request.
func (s *session) authorize(action authz.Action, uri wamp.URI, options wamp.Dict) authz.Decision {
	if s.realm.authz == nil {
		d, _ := wamp.OptBool(options, "disclose_me")
		return authz.Decision{Allow: true, Disclose: d || s.authrole == authz.RoleTrusted}
	}
	d := s.realm.authz.Authorize(s.ctx, s.az, uri, action, options)
	if d.Failed {
		s.r.stats.authzFailures.Add(1)
		s.log.Warn("authorization failed; denying", "action", action, "uri", uri, "reason", d.Message)
	}
	return d
}

// refusal is the error URI and message for a denied decision.
func refusal(d authz.Decision, action authz.Action, uri wamp.URI) (wamp.URI, string) {
	if d.Failed {
		return wamp.ErrAuthorizationFailed, d.Message
	}
	return wamp.ErrNotAuthorized, fmt.Sprintf("not authorized to %s %q", action, uri)
}

// reservedURI reports whether only trusted sessions may register or
// publish u: the spec's wamp.* and the router's own tollgate.*.
func reservedURI(u wamp.URI) bool {
	return u.Reserved() || strings.HasPrefix(string(u), routerURIPrefix)
}

// reservedPattern reports whether a registration of u with match policy
// could match a reserved procedure: such a pattern would receive calls to
// wamp.* and tollgate.* procedures the router does not serve itself (with
// the caller disclosed), so only trusted sessions may register it.
// Prefixes match bytes, so any prefix of "wamp." or "tollgate." ("",
// "wam", "tollgate") reaches them; a wildcard's empty first component
// matches any.
func reservedPattern(u wamp.URI, policy string) bool {
	if reservedURI(u) {
		return true
	}
	s := string(u)
	switch policy {
	case wamp.MatchPrefix:
		return strings.HasPrefix("wamp.", s) || strings.HasPrefix(routerURIPrefix, s)
	case wamp.MatchWildcard:
		first, _, _ := strings.Cut(s, ".")
		return first == "" || first == "wamp" || first+"." == routerURIPrefix
	}
	return false
}

// replyError answers a request with ERROR.
func (s *session) replyError(t wamp.MessageType, req wamp.ID, uri wamp.URI, msg string) {
	e := &wamp.Error{RequestType: t, Request: req, Details: wamp.Dict{}, Error: uri}
	if msg != "" {
		e.Args = wamp.List{msg}
	}
	s.send(e)
}

// matchPolicy reads Options.match; ok=false for an unknown policy.
func matchPolicy(opts wamp.Dict) (string, bool) {
	v, present := opts["match"]
	if !present {
		return wamp.MatchExact, true
	}
	p, ok := v.(string)
	switch p {
	case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
		return p, ok
	}
	return "", false
}

func (s *session) subscribe(m *wamp.Subscribe) {
	policy, ok := matchPolicy(m.Options)
	if !ok {
		s.replyError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidArgument, fmt.Sprintf("unknown match policy %v", m.Options["match"]))
		return
	}
	if !s.realm.validURI(m.Topic, policy) {
		s.replyError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidURI, fmt.Sprintf("invalid topic URI %q for match %q", m.Topic, policy))
		return
	}
	var getRetained bool
	if !optional(m.Options, "get_retained", wamp.OptBool, &getRetained) {
		s.replyError(wamp.TypeSubscribe, m.Request, wamp.ErrInvalidArgument, "option get_retained must be a bool")
		return
	}
	if d := s.authorize(authz.ActionSubscribe, m.Topic, m.Options); !d.Allow {
		uri, msg := refusal(d, authz.ActionSubscribe, m.Topic)
		s.replyError(wamp.TypeSubscribe, m.Request, uri, msg)
		return
	}
	id, created, added := s.realm.broker.Attach(s, m.Topic, policy)
	if !containsID(s.subs, id) {
		s.subs = append(s.subs, id)
	}
	s.send(&wamp.Subscribed{Request: m.Request, Subscription: id})
	if getRetained {
		s.realm.broker.SendRetained(s, id)
	}
	s.realm.metaSubscribed(s, id, created, added)
}

func containsID(ids []wamp.ID, id wamp.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func (s *session) unsubscribe(m *wamp.Unsubscribe) {
	d, ok := s.realm.broker.Detach(s, m.Subscription)
	if !ok {
		s.replyError(wamp.TypeUnsubscribe, m.Request, wamp.ErrNoSuchSubscription, "")
		return
	}
	for i, id := range s.subs {
		if id == m.Subscription {
			s.subs = append(s.subs[:i], s.subs[i+1:]...)
			break
		}
	}
	s.send(&wamp.Unsubscribed{Request: m.Request})
	s.realm.metaUnsubscribed(s, d)
}

func (s *session) publish(m *wamp.Publish) {
	ack, _ := wamp.OptBool(m.Options, "acknowledge")
	fail := func(uri wamp.URI, msg string) {
		if ack {
			s.replyError(wamp.TypePublish, m.Request, uri, msg)
		} else {
			s.r.stats.droppedPublications.Add(1)
		}
	}
	if !s.realm.validURI(m.Topic, wamp.MatchExact) {
		fail(wamp.ErrInvalidURI, fmt.Sprintf("invalid topic URI %q", m.Topic))
		return
	}
	if reservedURI(m.Topic) && s.authrole != authz.RoleTrusted {
		fail(wamp.ErrInvalidURI, "publishing to wamp.* and tollgate.* topics is reserved to the router")
		return
	}
	d := s.authorize(authz.ActionPublish, m.Topic, m.Options)
	if !d.Allow {
		fail(refusal(d, authz.ActionPublish, m.Topic))
		return
	}
	p := &broker.Publication{
		ID:        wamp.GlobalID(),
		Publisher: s,
		Topic:     m.Topic,
		ExcludeMe: true,
		Payload:   m.Payload,
	}
	if err := parsePublishOptions(m.Options, p); err != "" {
		fail(wamp.ErrInvalidArgument, err)
		return
	}
	if err := publishExtras(m.Options, p); err != "" { // advanced.go: retain, ppt_*
		fail(wamp.ErrInvalidArgument, err)
		return
	}
	// Disclosure is the authorizer's decision (as in Crossbar), not the
	// publisher's disclose_me.
	p.Disclose = d.Disclose
	s.realm.broker.Publish(p)
	if ack {
		s.send(&wamp.Published{Request: m.Request, Publication: p.ID})
	}
}

// parsePublishOptions fills p from PUBLISH.Options; it returns a message
// naming the bad option, or "".
func parsePublishOptions(o wamp.Dict, p *broker.Publication) string {
	if !optional(o, "exclude_me", wamp.OptBool, &p.ExcludeMe) {
		return "option exclude_me must be a bool"
	}
	if !optional(o, "disclose_me", wamp.OptBool, new(bool)) {
		return "option disclose_me must be a bool"
	}
	for _, f := range []struct {
		key string
		dst *[]wamp.ID
	}{{"exclude", &p.Exclude}, {"eligible", &p.Eligible}} {
		if !optional(o, f.key, wamp.OptIDs, f.dst) {
			return "option " + f.key + " must be a list of session ids"
		}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{
		{"exclude_authid", &p.ExcludeAuthID}, {"eligible_authid", &p.EligibleAuthID},
		{"exclude_authrole", &p.ExcludeAuthRole}, {"eligible_authrole", &p.EligibleAuthRole},
	} {
		if !optional(o, f.key, wamp.OptStrings, f.dst) {
			return "option " + f.key + " must be a list of strings"
		}
	}
	return ""
}

// optional reads option key with get into *dst. An absent key leaves *dst
// as it is; ok is false when the key is present with a value get refuses.
func optional[T any](o wamp.Dict, key string, get func(wamp.Dict, string) (T, bool), dst *T) (ok bool) {
	if !wamp.Has(o, key) {
		return true
	}
	v, ok := get(o, key)
	if ok {
		*dst = v
	}
	return ok
}

func (s *session) register(m *wamp.Register) {
	policy, ok := matchPolicy(m.Options)
	if !ok {
		s.replyError(wamp.TypeRegister, m.Request, wamp.ErrInvalidArgument, fmt.Sprintf("unknown match policy %v", m.Options["match"]))
		return
	}
	invoke := dealer.InvokeSingle
	if v, present := m.Options["invoke"]; present {
		invoke, _ = v.(string)
		if !dealer.ValidInvoke(invoke) {
			s.replyError(wamp.TypeRegister, m.Request, wamp.ErrInvalidArgument, fmt.Sprintf("unknown invocation policy %v", v))
			return
		}
	}
	if !s.realm.validURI(m.Procedure, policy) {
		s.replyError(wamp.TypeRegister, m.Request, wamp.ErrInvalidURI, fmt.Sprintf("invalid procedure URI %q for match %q", m.Procedure, policy))
		return
	}
	if reservedPattern(m.Procedure, policy) && s.authrole != authz.RoleTrusted {
		s.replyError(wamp.TypeRegister, m.Request, wamp.ErrInvalidURI, "registering wamp.* and tollgate.* procedures, or a pattern that matches them, is reserved to the router")
		return
	}
	if d := s.authorize(authz.ActionRegister, m.Procedure, m.Options); !d.Allow {
		uri, msg := refusal(d, authz.ActionRegister, m.Procedure)
		s.replyError(wamp.TypeRegister, m.Request, uri, msg)
		return
	}
	id, created, errURI := s.realm.dealer.Attach(s.peer, m.Procedure, dealer.RegisterOptions{Match: policy, Invoke: invoke})
	if errURI != "" {
		s.replyError(wamp.TypeRegister, m.Request, errURI, fmt.Sprintf("procedure %q is already registered", m.Procedure))
		return
	}
	s.send(&wamp.Registered{Request: m.Request, Registration: id})
	s.realm.metaRegistered(s, id, created)
}

func (s *session) unregister(m *wamp.Unregister) {
	d, ok := s.realm.dealer.Detach(s.peer, m.Registration)
	if !ok {
		s.replyError(wamp.TypeUnregister, m.Request, wamp.ErrNoSuchRegistration, "")
		return
	}
	s.send(&wamp.Unregistered{Request: m.Request})
	s.realm.metaUnregistered(s, d)
}

func (s *session) call(m *wamp.Call) {
	progressive, _ := wamp.OptBool(m.Options, "progress") // validated by intercept
	if progressive {
		// First chunk of a progressive call invocation: if it is refused
		// or answered at once, its later chunks are discarded.
		defer s.realm.dealer.Settle(s.peer, m.Request)
	}
	if !s.realm.validURI(m.Procedure, wamp.MatchExact) {
		s.replyError(wamp.TypeCall, m.Request, wamp.ErrInvalidURI, fmt.Sprintf("invalid procedure URI %q", m.Procedure))
		return
	}
	// Authorization comes before the registry lookup, so a denied caller
	// cannot probe which procedures exist.
	d := s.authorize(authz.ActionCall, m.Procedure, m.Options)
	if !d.Allow {
		uri, msg := refusal(d, authz.ActionCall, m.Procedure)
		s.replyError(wamp.TypeCall, m.Request, uri, msg)
		return
	}
	o := dealer.CallOptions{Disclose: d.Disclose, ProgressiveInput: progressive}
	o.PPT, _ = pptOptions(m.Options) // validated by intercept
	if !optional(m.Options, "receive_progress", wamp.OptBool, &o.ReceiveProgress) {
		s.replyError(wamp.TypeCall, m.Request, wamp.ErrInvalidArgument, "option receive_progress must be a bool")
		return
	}
	if !optional(m.Options, "disclose_me", wamp.OptBool, new(bool)) {
		s.replyError(wamp.TypeCall, m.Request, wamp.ErrInvalidArgument, "option disclose_me must be a bool")
		return
	}
	var ms int64
	if !optional(m.Options, "timeout", wamp.OptInt, &ms) || ms < 0 {
		s.replyError(wamp.TypeCall, m.Request, wamp.ErrInvalidArgument, "option timeout must be a non-negative integer (milliseconds)")
		return
	}
	o.Timeout = time.Duration(ms) * time.Millisecond
	if reservedURI(m.Procedure) {
		o.Disclose = true // the router's own procedures need to know the caller
	}
	if errURI := s.realm.dealer.Call(s.peer, m, o); errURI != "" {
		s.replyError(wamp.TypeCall, m.Request, errURI, callRefusal(errURI, m.Procedure, o))
	}
}

// callRefusal explains an error URI the dealer answered a CALL with at
// once, or returns "" when the URI says enough.
func callRefusal(errURI, procedure wamp.URI, o dealer.CallOptions) string {
	switch errURI {
	case wamp.ErrNoSuchProcedure:
		return fmt.Sprintf("no callee registered for procedure %q", procedure)
	case wamp.ErrFeatureNotSupported:
		return calleeLacks(o)
	}
	return ""
}

// goodbye starts a router-side close of the connection: GOODBYE with
// reason to an established session (the read loop then waits for the
// reply, bounded by GoodbyeTimeout), or an immediate close otherwise.
func (c *conn) goodbye(reason wamp.URI, msg string) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	if c.current.Load() == nil {
		c.close()
		return
	}
	details := wamp.Dict{}
	if msg != "" {
		details["message"] = msg
	}
	c.send(&wamp.Goodbye{Details: details, Reason: reason})
	time.AfterFunc(c.r.opts.GoodbyeTimeout, c.close)
}
