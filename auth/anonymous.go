package auth

import (
	"context"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// AnonymousConfig configures static anonymous authentication.
type AnonymousConfig struct {
	// Role is the authrole every anonymous session gets. Default
	// "anonymous".
	Role string
	// AuthID is the authid every anonymous session gets. Empty (the
	// default): a random Crossbar-style id per session (see RandomAuthID).
	// The authid a client asks for in HELLO is ignored either way.
	AuthID string
}

// Anonymous is the static "anonymous" authenticator: it admits every
// client at HELLO with a fixed role. It is safe for concurrent use.
//
// Like Crossbar, it echoes the client's HELLO authextra as WELCOME
// authextra (a copy): clients use it to pass hints to themselves across
// reconnects, and it holds nothing the client did not send.
type Anonymous struct {
	role   string
	authid string
}

// NewAnonymous builds a static anonymous authenticator; it cannot fail.
func NewAnonymous(cfg AnonymousConfig) *Anonymous {
	if cfg.Role == "" {
		cfg.Role = "anonymous"
	}
	return &Anonymous{role: cfg.Role, authid: cfg.AuthID}
}

// Method returns "anonymous".
func (a *Anonymous) Method() string { return MethodAnonymous }

// Hello admits the client.
func (a *Anonymous) Hello(_ context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error) {
	authid := a.authid
	if authid == "" {
		authid = RandomAuthID()
	}
	return &Identity{
		Realm: req.Realm, AuthID: authid, AuthRole: a.role,
		AuthMethod: MethodAnonymous, AuthProvider: ProviderStatic,
		AuthExtra: copyDict(req.AuthExtra),
	}, nil, nil, nil
}
