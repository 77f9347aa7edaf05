// Package auth authenticates WAMP sessions: the methods anonymous, ticket,
// wampcra, cryptosign and tls, each static (principals in config) or
// dynamic (a procedure called through the router), plus password hashing
// for stored ticket secrets.
//
// The router drives an Authenticator per configured method of a transport:
// Hello either finishes at once (an Identity), or returns a challenge and a
// Pending whose Authenticate checks the client's answer. Authenticators are
// safe for concurrent use; a Pending belongs to one handshake.
package auth

import (
	"context"
	"fmt"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Method names as used in HELLO.Details.authmethods and config.
const (
	MethodAnonymous  = "anonymous"
	MethodTicket     = "ticket"
	MethodWAMPCRA    = "wampcra"
	MethodCryptosign = "cryptosign"
	MethodTLS        = "tls"
)

// Providers reported as WELCOME.Details.authprovider.
const (
	ProviderStatic  = "static"
	ProviderDynamic = "dynamic"
)

// Request is what the router knows of a joining client at HELLO.
type Request struct {
	// Realm requested in HELLO.
	Realm wamp.URI
	// AuthID, AuthRole and AuthExtra as the client sent them (may be empty).
	AuthID    string
	AuthRole  string
	AuthExtra wamp.Dict
	// Session is the id the session will get if it is admitted (shown to
	// dynamic authenticators as details.session).
	Session wamp.ID
	// Transport describes the connection (peer address, TLS state, HTTP headers).
	Transport transport.Info
}

// Identity is the outcome of a successful authentication.
type Identity struct {
	// Realm the session joins: the requested one unless the authenticator
	// redirected it.
	Realm        wamp.URI
	AuthID       string
	AuthRole     string
	AuthMethod   string
	AuthProvider string
	// AuthExtra becomes WELCOME.Details.authextra (nil: omitted).
	AuthExtra wamp.Dict
}

// Authenticator runs one method on a transport.
type Authenticator interface {
	// Method is the method name ("ticket", ...).
	Method() string
	// Hello starts authentication. Exactly one of the results is set:
	// an Identity (admit now), or a CHALLENGE to send plus the Pending that
	// checks the client's AUTHENTICATE; or an error (refuse: an *Error
	// carries the ABORT reason; any other error becomes
	// wamp.error.authentication_failed).
	Hello(ctx context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error)
}

// Pending checks the AUTHENTICATE answering a challenge.
type Pending interface {
	Authenticate(ctx context.Context, a *wamp.Authenticate) (*Identity, error)
}

// Error is a refused authentication: the ABORT reason and message the
// client gets, and Detail, what only the router's log gets (an
// authenticator's own error text, the realms involved).
type Error struct {
	Reason  wamp.URI
	Message string
	Detail  string
}

func (e *Error) Error() string { return fmt.Sprintf("auth: %s: %s", e.Reason, e.Message) }

// Denied is the error for bad credentials and unknown principals alike, so
// a client cannot tell which (no user enumeration).
func Denied() *Error {
	return &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication failed"}
}

// Caller calls a procedure from the router's internal trusted session on
// realm; dynamic authenticators use it. It returns the result's args and
// kwargs, or a *wamp.CallError for a WAMP error answer (no_such_procedure
// when nothing is registered, timeout when ctx ends first).
type Caller interface {
	Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)
}
