package router

import (
	"log/slog"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// A session's life in a realm has one way in (join) and one way out
// (leave); everything that keeps per-session state hooks into these two,
// in this order (docs/architecture.md):
//
// join, once the handshake has admitted the session:
//  1. the session is built complete: identity (its id reserved in the
//     realm), features, dealer peer, authorizer view;
//  2. in one step under the realm's lock: it enters the realm's session
//     table, WELCOME is queued, and it becomes the connection's current
//     session. Whoever finds it in the table (meta API, kill) therefore
//     acts after its WELCOME, a shutdown's GOODBYE follows the WELCOME,
//     and a client that read its WELCOME is already counted and listed;
//     then its credential expiry, if any, is scheduled (expiry.go);
//  3. the transport's pre-join receive limit is lifted (transport.Joiner);
//  4. meta event wamp.session.on_join, and the cluster's copy of the
//     node's sessions (cluster_meta.go).
//
// leave, however the session ended (GOODBYE, transport loss, kill,
// shutdown):
//  1. it leaves the realm's session table (and the expiry heap);
//  2. broker: its subscriptions go (on_unsubscribe, on_delete), and with
//     them this node's cluster interest (broker.Indexed, cluster.go);
//  3. dealer: its registrations go (on_unregister, on_delete), and with
//     them its entries in the cluster's registry (cluster_rpc.go);
//  4. it leaves the cluster's copy of the node's sessions; its
//     testaments are published, then on_leave (on a goroutine the
//     router waits for when there are testaments: they may wait on a
//     dynamic authorizer);
//  5. dealer: its pending invocations are settled (Leave);
//  6. the authorizer forgets its cached decisions.

// join makes s a member of rm as who (see the order above). promised is
// the id the authenticator was told (details.session), or 0.
func (rm *realm) join(s *session, who *auth.Identity, promised wamp.ID, roles wamp.Dict) {
	s.realm = rm
	s.features = parseFeatures(roles)
	s.peer = dealer.NewPeer(s)
	s.peer.CalleeCanceling = s.features.calleeCanceling
	s.peer.CalleeProgress = s.features.calleeProgress
	s.peer.CalleeProgressiveInvocations = s.features.calleeProgressiveInvocations
	s.peer.CallerPPT = s.features.callerPPT
	s.peer.CalleePPT = s.features.calleePPT
	s.peer.MaxCalls, s.peer.MaxInvocations = rm.bounds.calls, rm.bounds.invocations
	s.identity = identity{
		id:           rm.reserve(promised),
		realmURI:     rm.name,
		authid:       who.AuthID,
		authrole:     who.AuthRole,
		authmethod:   who.AuthMethod,
		authprovider: who.AuthProvider,
		authextra:    who.AuthExtra,
		wire:         s.tc,
	}
	if info := s.tc.Info(); info.TLS != nil {
		s.transport = auth.TransportDetails(info)
	}
	s.az = s.authzSession(s.hello.Load()) // identity.go
	s.az.Grants = grantsOf(who)           // grants.go
	s.log = lazyLogger(s.conn.log, s)     // session.logAttrs
	// Only a refused join's audit reads HELLO; a joined session would keep
	// its decoded details (kilobytes of roles) for life.
	s.hello.Store(nil)

	rm.add(s, &wamp.Welcome{Session: s.id, Details: s.r.welcomeDetails(s)})
	rm.schedule(s, who.Expires) // expiry.go
	if j, ok := s.tc.(transport.Joiner); ok {
		j.Joined() // lift the pre-join receive limit
	}
	rm.meta.Joined(s) // on_join
	rm.cl.sessionJoined(s)
	s.auditJoin()
	s.log.Debug("session joined", "authrole", s.authrole, "authmethod", s.authmethod, "authprovider", s.authprovider)
}

// logAttrs are the attrs a joined session's logger adds to its
// connection's (logattrs.go).
func (s *session) logAttrs() []slog.Attr {
	return []slog.Attr{slog.Any("session", s.id), slog.Any("realm", s.realmURI), slog.String("authid", s.authid)}
}

// leave ends s's membership of rm (see the order above).
func (rm *realm) leave(s *session) {
	rm.remove(s)
	rm.unschedule(s)
	for _, d := range rm.broker.DetachAll(s, s.subs) {
		rm.meta.Unsubscribed(s, d)
	}
	detached := rm.dealer.DetachAll(s.peer)
	for _, d := range detached {
		rm.meta.Unregistered(s, d)
	}
	// and from the cluster's registry (cluster_rpc.go)
	rm.cl.unregistered(s, detached...)
	rm.cl.sessionLeft(s)
	rm.meta.Left(s) // testaments, on_leave
	rm.dealer.Leave(s.peer)
	if rm.authz != nil {
		rm.authz.SessionLeft(s.id)
	}
}

// reserve returns promised, or a fresh id when there is none or it is
// taken (which at 2^53 ids means never), and holds it for a joining
// session until add.
func (rm *realm) reserve(promised wamp.ID) wamp.ID {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	id := promised
	for id == 0 || rm.sessions[id] != nil || rm.joining[id] {
		id = wamp.GlobalID()
	}
	rm.joining[id] = true
	return id
}

// add makes the complete session s visible in the realm, queues its
// WELCOME and makes it its connection's current session, all under the
// realm's lock (join's step 2). Queueing never blocks.
func (rm *realm) add(s *session, welcome *wamp.Welcome) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	delete(rm.joining, s.id)
	rm.sessions[s.id] = s
	s.conn.welcomeMu.Lock() // a router GOODBYE comes before or after both
	s.send(welcome)
	s.conn.current.Store(s)
	s.conn.welcomeMu.Unlock()
}

func (rm *realm) remove(s *session) {
	rm.mu.Lock()
	delete(rm.sessions, s.id)
	rm.mu.Unlock()
}
