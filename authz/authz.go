// Package authz decides whether a session may call, register, publish or
// subscribe on a URI: static role permissions, dynamic authorizer
// procedures, and the decision cache in front of the latter.
//
// A Realm holds the roles of one realm and is safe for concurrent use.
// Authorize never holds a lock while it waits for a dynamic authorizer.
// Every failure (error, timeout, malformed answer) is a deny.
package authz

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Action is one of the four authorizable actions.
type Action string

const (
	ActionCall      Action = "call"
	ActionRegister  Action = "register"
	ActionPublish   Action = "publish"
	ActionSubscribe Action = "subscribe"
)

// RoleTrusted is allowed everything on every realm and may register and
// publish wamp.* URIs.
const RoleTrusted = "trusted"

// Session describes the session asking, as the authorizer sees it.
type Session struct {
	ID           wamp.ID
	Realm        wamp.URI
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	AuthExtra    wamp.Dict
	// Transport is the transport details dict (same shape as the dynamic
	// authenticator's details.transport).
	Transport wamp.Dict
	// Grants are the session's own permissions (the authenticator's
	// answer), checked before its role's; nil: none.
	Grants *Grants
	// Expires is when the session's credentials expire, in Unix
	// nanoseconds (0: never); the router sets it at join and on each
	// refresh, and SessionDict reports it as expires_at.
	Expires atomic.Int64
	// BuildDetails, when set, builds the session argument a dynamic
	// authorizer receives (the router's, with the session's other
	// details); it runs once, at the first decision that needs it, so a
	// session no dynamic authorizer asks about never holds the dict.
	// Otherwise SessionDict builds it from the fields above.
	BuildDetails func() wamp.Dict

	detailsOnce sync.Once
	details     wamp.Dict
}

// Decision is the answer to one authorization question.
type Decision struct {
	Allow bool
	// Disclose the caller/publisher identity to callees/subscribers.
	Disclose bool
	// Failed is set when the authorizer itself failed (error, timeout,
	// not registered, malformed answer): the client gets
	// wamp.error.authorization_failed with Message instead of
	// wamp.error.not_authorized.
	Failed bool
	// Message says why a decision was refused, in words a client may
	// read: for a Failed one the kind of failure only (the detail, which
	// may hold the backend's error text, is logged by the Realm, never put
	// here). A plain deny usually has none; for a session whose role is
	// not defined it names the role.
	Message string
	// Source says where the decision came from: SourceGrant,
	// SourceStatic, SourceCache, SourceAuthorizer or SourceDefault (as in
	// Explain), for the audit trail.
	Source string
}

// Caller calls a procedure from the router's internal trusted session on
// realm (see auth.Caller; the router implements both). A WAMP error answer
// is a *wamp.CallError; ctx ending returns an error wrapping ctx.Err().
type Caller interface {
	Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)
}
