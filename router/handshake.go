package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// handshake waits for HELLO, authenticates (CHALLENGE/AUTHENTICATE when the
// method needs it) and answers WELCOME or ABORT. It returns false when the
// connection must end. The whole exchange is bounded by HelloTimeout.
func (s *session) handshake(ctx context.Context) bool {
	wait := s.helloWait()
	deadline := time.Now().Add(wait) // for authenticators; see authenticate
	// A read with a deadline would close WebSocket connections before we
	// could say why, so a timer aborts a handshake that takes too long.
	var gotHello atomic.Bool
	timer := time.AfterFunc(wait, func() {
		if gotHello.Load() {
			// A slow authenticator or a client that does not answer the
			// CHALLENGE: a failed authentication, not a protocol error.
			s.authFailed(wamp.ErrAuthenticationFailed, "authentication did not complete within "+s.r.opts.HelloTimeout.String(), "", "")
		} else {
			s.abort(wamp.ErrProtocolViolation, "no HELLO within "+s.r.opts.HelloTimeout.String())
		}
		s.closeAfterDrain()
	})
	defer timer.Stop()

	m, ok := s.read(ctx)
	if !ok {
		return false
	}
	gotHello.Store(true)
	hello, isHello := m.(*wamp.Hello)
	if isHello {
		s.hello.Store(hello) // for the audit of a refusal (audit.go)
	}
	if !isHello {
		s.r.stats.protocolViolations.Add(1)
		s.abort(wamp.ErrProtocolViolation, fmt.Sprintf("expected HELLO, got %v", m.MessageType()))
		return false
	}
	roles, ok := wamp.OptDict(hello.Details, "roles")
	if !ok || len(roles) == 0 {
		s.r.stats.protocolViolations.Add(1)
		s.abort(wamp.ErrProtocolViolation, "HELLO.Details.roles must be a non-empty dict")
		return false
	}
	methods, err := helloAuthMethods(hello.Details)
	if err != nil {
		s.r.stats.protocolViolations.Add(1)
		s.abort(wamp.ErrProtocolViolation, err.Error())
		return false
	}
	if !s.admitHello(hello) {
		return false
	}
	if s.r.realms[hello.Realm] == nil && len(s.auth) == 0 {
		if hello.Realm == "" {
			// Autobahn sends null when the app names no realm; only an
			// authenticator or a principal's configured realm can choose.
			s.abort(wamp.ErrNoSuchRealm, "HELLO names no realm, and this transport has no authentication that could choose one")
		} else {
			s.abort(wamp.ErrNoSuchRealm, fmt.Sprintf("no realm %q on this router", hello.Realm))
		}
		return false
	}

	id, promised, ok := s.authenticate(ctx, deadline, hello, methods)
	if !ok {
		return false
	}
	rm := s.r.realms[id.Realm]
	switch {
	case id.Realm == "":
		s.authFailed(wamp.ErrNoSuchRealm, fmt.Sprintf("HELLO names no realm, and %s authentication chose none (a principal's realm, or the authenticator's answer, must name one)", id.AuthMethod), "", id.AuthID)
		return false
	case rm == nil:
		s.abort(wamp.ErrNoSuchRealm, fmt.Sprintf("no realm %q on this router", id.Realm))
		return false
	}
	if rm.full() {
		s.r.stats.realmFull.Add(1)
		s.abort(ErrRealmFull, fmt.Sprintf("realm %q has its maximum of %d sessions, retry later", rm.name, rm.maxSessions))
		return false
	}
	if id.AuthRole == authz.RoleTrusted && id.AuthProvider == auth.ProviderDynamic {
		// trusted may do everything, including registering wamp.*; only the
		// config (a static backdoor) may hand it out, never an authenticator
		// that a client can talk to (it may echo HELLO's authrole, or be
		// impersonated while its component is away).
		s.authFailed(wamp.ErrNoSuchRole, "a dynamic authenticator cannot grant role \"trusted\"; use a static backdoor transport", "", id.AuthID)
		return false
	}
	if !rm.hasRole(id.AuthRole) {
		s.authFailed(wamp.ErrNoSuchRole, fmt.Sprintf("role %q is not defined on realm %q", id.AuthRole, rm.name), "", id.AuthID)
		return false
	}
	if !timer.Stop() {
		return false // timed out while authenticating; ABORT already sent
	}

	rm.join(s, id, promised, roles) // lifecycle.go
	return true
}

// helloAuthMethods returns HELLO.Details.authmethods, or ["anonymous"]
// when absent or empty.
func helloAuthMethods(d wamp.Dict) ([]string, error) {
	v, present := d["authmethods"]
	if !present {
		return []string{auth.MethodAnonymous}, nil
	}
	l, ok := v.(wamp.List)
	if !ok {
		return nil, errors.New("HELLO.Details.authmethods must be a list of strings")
	}
	if len(l) == 0 {
		return []string{auth.MethodAnonymous}, nil
	}
	out := make([]string, len(l))
	for i, e := range l {
		if out[i], ok = e.(string); !ok {
			return nil, errors.New("HELLO.Details.authmethods must be a list of strings")
		}
	}
	return out, nil
}

// authenticate runs the first configured method the client offers, in the
// client's order; authenticators get ctx bounded by deadline (the
// handshake's), made only here: anonymous-only transports need no timer
// and context per session. promised is the session id the authenticator
// was told (0 for anonymous-only transports). ok=false means an ABORT was
// sent.
func (s *session) authenticate(ctx context.Context, deadline time.Time, hello *wamp.Hello, methods []string) (id *auth.Identity, promised wamp.ID, ok bool) {
	authid, _ := wamp.OptString(hello.Details, "authid")
	if len(s.auth) == 0 {
		// No auth section: anonymous only (Crossbar's rule).
		for _, m := range methods {
			if m == auth.MethodAnonymous {
				return &auth.Identity{Realm: hello.Realm, AuthID: auth.RandomAuthID(), AuthRole: "anonymous",
					AuthMethod: auth.MethodAnonymous, AuthProvider: auth.ProviderStatic}, 0, true
			}
		}
		s.authFailed(wamp.ErrNoAuthMethod, fmt.Sprintf("offered auth methods %v; this transport admits anonymous only", methods), "", authid)
		return nil, 0, false
	}
	var a auth.Authenticator
	for _, m := range methods {
		if a = s.auth[m]; a != nil {
			break
		}
	}
	if a == nil {
		configured := make([]string, 0, len(s.auth))
		for m := range s.auth {
			configured = append(configured, m)
		}
		sort.Strings(configured)
		s.authFailed(wamp.ErrNoAuthMethod, fmt.Sprintf("none of the offered auth methods %v is configured on this transport (configured: %s)", methods, strings.Join(configured, ", ")), "", authid)
		return nil, 0, false
	}

	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	authrole, _ := wamp.OptString(hello.Details, "authrole")
	authextra, _ := wamp.OptDict(hello.Details, "authextra")
	req := &auth.Request{
		Realm:     hello.Realm,
		AuthID:    authid,
		AuthRole:  authrole,
		AuthExtra: authextra,
		Session:   s.r.pendingSessionID(),
		Transport: s.tc.Info(),
	}
	if !s.beginLogin() {
		return nil, 0, false
	}
	id, ch, pending, err := a.Hello(ctx, req)
	s.endLogin()
	if err == nil && ch != nil {
		s.send(ch)
		// Read with the connection's context: a read ended by a deadline
		// would close the connection before the timer's ABORT gets out.
		m, ok := s.read(s.conn.ctx)
		if !ok {
			return nil, 0, false
		}
		switch m := m.(type) {
		case *wamp.Authenticate:
			if !s.beginLogin() {
				return nil, 0, false
			}
			id, err = pending.Authenticate(ctx, m)
			s.endLogin()
		case *wamp.Abort:
			s.log.Debug("client aborted during authentication", "reason", m.Reason)
			return nil, 0, false
		default:
			s.r.stats.protocolViolations.Add(1)
			s.abort(wamp.ErrProtocolViolation, fmt.Sprintf("expected AUTHENTICATE, got %v", m.MessageType()))
			return nil, 0, false
		}
	}
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			s.authFailed(ae.Reason, ae.Message, ae.Detail, authid)
		} else {
			s.authFailed(wamp.ErrAuthenticationFailed, "authentication failed", err.Error(), authid)
		}
		return nil, 0, false
	}
	if id == nil {
		s.authFailed(wamp.ErrAuthenticationFailed, "authenticator admitted no identity", "", authid)
		return nil, 0, false
	}
	if id.Realm == "" {
		id.Realm = hello.Realm
	}
	if id.AuthMethod == "" {
		id.AuthMethod = a.Method()
	}
	return id, req.Session, true
}

// authFailed logs a refused join with the peer address and sends ABORT
// with reason and msg; detail goes to the log only (an authenticator's own
// error text may hold hostnames or credentials).
func (s *session) authFailed(reason wamp.URI, msg, detail, authid string) {
	s.r.stats.authFailures.Add(1)
	if h := s.hello.Load(); h != nil {
		s.auditRefused(h.Realm, authid, reason) // never detail: it may hold credentials
	}
	args := []any{"remote", s.tc.Info().RemoteAddr, "authid", authid, "reason", reason, "message", msg}
	if detail != "" {
		args = append(args, "detail", detail)
	}
	s.r.warnLimited("authentication failed", args...)
	s.abort(reason, msg)
}
