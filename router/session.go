package router

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/meta"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// session is one WAMP session. Its fields are set by the handshake before
// the session is visible to other goroutines and are read-only afterwards,
// except subs, which only the read loop touches.
type session struct {
	*conn
	log *slog.Logger

	identity // built at join (lifecycle.go)
	realm    *realm
	features features
	peer     *dealer.Peer

	subs []wamp.ID
	left bool // leaveRealm ran; only the read loop touches subs and left
	// az is this session as the authorizer sees it (built at join).
	az         *authz.Session
	testaments meta.Testaments
	rate       *sessionRate // message rate limit; nil: none (ratelimit.go)
	// hello is the session's HELLO once read, for the audit log (audit.go);
	// atomic because the handshake timer may refuse the join.
	hello atomic.Pointer[wamp.Hello]
}

// broker.Session and dealer.Session.
func (s *session) ID() wamp.ID        { return s.id }
func (s *session) AuthID() string     { return s.authid }
func (s *session) AuthRole() string   { return s.authrole }
func (s *session) Codec() codec.Codec { return s.codec }
func (s *session) SendEvent(f []byte) {
	if s.enqueue(f, true) {
		s.msgs.out(wamp.TypeEvent, len(f))
	}
}

// meta.Session.
func (s *session) SessionDetails() wamp.Dict {
	d, _ := encodable(s.Details(metaView))
	return d.(wamp.Dict)
}
func (s *session) Testaments() *meta.Testaments { return &s.testaments }
func (s *session) Logger() *slog.Logger         { return s.log }
func (s *session) Revocation() (registration, subscription bool) {
	return s.features.registrationRevocation, s.features.subscriptionRevocation
}

// Kill (meta API) says GOODBYE to s if it is still its connection's
// session (the connection may have moved on to a new one).
func (s *session) Kill(reason wamp.URI, msg string) {
	if s.conn.current.Load() == s {
		s.log.Debug("session killed through the meta API", "reason", reason)
		s.conn.goodbye(reason, msg)
	}
}

// established routes messages until GOODBYE (returns true: the transport
// may carry a new session), the connection ends or it is idle (false;
// conn.run tells them apart). Each request is
// parsed once here and handed to its handler (pubsub.go, rpc.go), which
// applies the realm's policy (policy.go) and passes it to the broker or
// dealer. A handler returning false has aborted the session.
func (s *session) established(ctx context.Context) bool {
	if s.rate == nil { // not again when the loop resumes after parking (conn.run)
		s.rate = s.realm.rates.forSession(s.authid, s.authrole)
	}
	for {
		m, ok := s.read(ctx)
		if !ok {
			return false
		}
		if s.rateLimited(m) {
			continue
		}
		if s.closing.Load() {
			// Closing: wait for the peer's GOODBYE, ignore everything else.
			if _, isGoodbye := m.(*wamp.Goodbye); isGoodbye {
				return false
			}
			continue
		}
		if more, ok := s.handle(m); !ok {
			return more
		}
	}
}

// handle routes one message of an established session. ok=false ends the
// session: more then says whether the transport may carry a new one
// (GOODBYE). Apart from established so that its frame is not on the stack
// of a read loop waiting for its peer: a goroutine's stack shrinks at GC
// only when it uses under a quarter of it.
func (s *session) handle(m wamp.Message) (more, ok bool) {
	strict := s.realm.strict
	ok = true
	switch m := m.(type) {
	case *wamp.Goodbye:
		// Leave first: when the client reads the reply, its session is
		// gone (registrations, cached authorizations, session list).
		s.leaveRealm()
		s.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: s.r.opts.GoodbyeReason})
		return true, false
	case *wamp.Abort:
		s.log.Debug("peer aborted", "reason", m.Reason)
		return false, false
	case *wamp.Subscribe:
		s.subscribe(parseSubscribe(m, strict))
	case *wamp.Unsubscribe:
		s.unsubscribe(m)
	case *wamp.Publish:
		ok = s.publish(parsePublish(m, strict))
	case *wamp.Register:
		s.register(parseRegister(m, strict))
	case *wamp.Unregister:
		s.unregister(m)
	case *wamp.Call:
		ok = s.call(parseCall(m, strict))
	case *wamp.Cancel:
		s.cancel(m)
	case *wamp.Yield:
		ok = s.yield(m)
	case *wamp.Error:
		ok = s.invocationError(m)
	default:
		ok = s.violation(fmt.Sprintf("%v is not allowed in an established session", m.MessageType()))
	}
	return false, ok
}

// violation aborts the session with wamp.error.protocol_violation; it
// returns false, the handlers' "session over".
func (s *session) violation(msg string) bool {
	s.r.stats.protocolViolations.Add(1)
	s.abort(wamp.ErrProtocolViolation, msg)
	return false
}

// replyError answers a request with ERROR. The message may quote what the
// peer sent (a URI): if the ERROR is then too large for the peer, it goes
// without the message, so the request still gets its answer.
func (s *session) replyError(t wamp.MessageType, req wamp.ID, uri wamp.URI, msg string) {
	e := &wamp.Error{RequestType: t, Request: req, Details: wamp.Dict{}, Error: uri}
	if msg != "" {
		e.Args = wamp.List{msg}
	}
	if _, lost := s.Send(e).(*wamp.CallError); lost && msg != "" {
		e.Args = nil
		s.Send(e)
	}
}

// leaveRealm takes the session out of its realm, once. The realm stays
// set: testaments published after the session left still ask its
// authorizer.
func (s *session) leaveRealm() {
	if s.realm == nil || s.left {
		return
	}
	s.left = true
	s.realm.leave(s) // lifecycle.go
	s.subs = nil
	s.log.Debug("session left")
}
