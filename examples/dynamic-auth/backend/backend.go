package main

import (
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// user is one account: its password as an argon2id hash, and its role.
type user struct {
	hash string
	role string
}

// users are the example's accounts. The passwords ("1234" for joe_average,
// "B3yt&4_+" for bofh) appear nowhere: only their argon2id hashes, made with
//
//	go run ./cmd/tollgate passwd
//
// python/backend.py holds the same hashes (argon2-cffi reads them as they are).
var users = map[string]user{
	"joe_average": {
		hash: "$argon2id$v=19$m=65536,t=3,p=2$pvLdbsn5LEdzPkDB45KWDA$VovtOKmCT088YR1rL3CiPikWUSFPlgqPQjOIWqibSb0",
		role: "regular",
	},
	"bofh": {
		hash: "$argon2id$v=19$m=65536,t=3,p=2$sEFy0p8CWSTvY7dMLb8DIQ$PppewbKUegEPjAjPJZR3LUHH6gSoNHc2CcJ5jZ0uKPo",
		role: "admin",
	},
}

// dummyHash is checked for unknown authids, so that an unknown user takes as
// long to refuse as a wrong password (no user enumeration by timing). Its
// password is random and thrown away.
const dummyHash = "$argon2id$v=19$m=65536,t=3,p=2$HiDU21Ka4xbVCekc+RTbbQ$S4wACCtRX6XHLDBFCABIu4YIh4stjNKwye89j+BNV8Y"

// backend implements the procedures the router calls. Its methods are
// safe for concurrent use: the client runs handlers concurrently.
type backend struct {
	users map[string]user
	log   *slog.Logger

	// Invocation counters, served by backend.stats.
	authenticateCalls atomic.Int64
	authorizeCalls    atomic.Int64
}

// ticketDetails is the part of the authenticator's details argument this
// backend reads; the router sends more (session, transport, authextra, ...).
type ticketDetails struct {
	AuthMethod string `wamp:"authmethod"`
	Ticket     string `wamp:"ticket"`
}

// sessionDetails is the part of the authorizer's session argument this
// backend reads.
type sessionDetails struct {
	Session  wamp.ID `wamp:"session"`
	AuthID   string  `wamp:"authid"`
	AuthRole string  `wamp:"authrole"`
}

// registry returns the backend's procedures, ready to attach to a session
// (again after every reconnect).
func (b *backend) registry() (*client.Registry, error) {
	reg := client.NewRegistry("")
	reg.Procedure("authenticate", b.authenticate, client.ParamNames("realm", "authid", "details"))
	reg.Procedure("authorize", b.authorize, client.ParamNames("session", "uri", "action", "options"))
	// Application procedures, so that there is something to call.
	reg.Procedure("public.hello", b.hello)
	reg.Procedure("private.hello", b.hello)
	// Registered last: once it answers, everything above is registered.
	reg.Procedure("backend.stats", b.stats)
	return reg, reg.Err()
}

// authenticate is the dynamic ticket authenticator:
// authenticate(realm, authid, details) → {"authrole": role}, or the error
// wamp.error.authentication_failed.
func (b *backend) authenticate(cc *client.CallContext, realm, authid string, details ticketDetails) (wamp.Dict, error) {
	b.authenticateCalls.Add(1)
	if details.AuthMethod != "ticket" {
		b.log.Warn("authenticate: refused", "authid", authid, "authmethod", details.AuthMethod)
		return nil, client.NewError(wamp.ErrAuthenticationFailed, "only ticket authentication is supported")
	}
	u, known := b.users[authid]
	hash := u.hash
	if !known {
		hash = dummyHash
	}
	ok, err := auth.VerifyPassword(hash, details.Ticket)
	if err != nil { // a malformed hash in b.users: our bug, not the client's
		b.log.Error("authenticate: cannot check password", "authid", authid, "err", err)
		return nil, client.NewError(wamp.ErrAuthenticationFailed, "authentication failed")
	}
	if !ok || !known {
		b.log.Info("authenticate: refused", "realm", realm, "authid", authid, "known", known)
		// One message for both cases: clients cannot tell which users exist.
		return nil, client.NewError(wamp.ErrAuthenticationFailed, "wrong user name or password")
	}
	b.log.Info("authenticate: ok", "realm", realm, "authid", authid, "authrole", u.role)
	return wamp.Dict{"authrole": u.role}, nil
}

// authorize is the dynamic authorizer:
// authorize(session, uri, action, options) → {"allow": bool, ...}.
func (b *backend) authorize(cc *client.CallContext, session sessionDetails, uri, action string, options wamp.Dict) (wamp.Dict, error) {
	b.authorizeCalls.Add(1)
	allow := permitted(session.AuthRole, uri, action)
	b.log.Info("authorize", "authid", session.AuthID, "authrole", session.AuthRole,
		"action", action, "uri", uri, "allow", allow)
	if !allow {
		// Denials are not cached: the next attempt asks again.
		return wamp.Dict{"allow": false}, nil
	}
	answer := wamp.Dict{"allow": true, "cache": true}
	if action == "call" || action == "publish" {
		// Callees and subscribers see who called or published.
		answer["disclose"] = true
	}
	return answer, nil
}

// permitted is the whole policy:
//   - regular may call and subscribe under "public.";
//   - admin may call, subscribe and publish anything, but not register;
//   - everything else is denied.
func permitted(role, uri, action string) bool {
	switch role {
	case "regular":
		return (action == "call" || action == "subscribe") && strings.HasPrefix(uri, "public.")
	case "admin":
		return action == "call" || action == "subscribe" || action == "publish"
	}
	return false
}

// hello greets the caller, whom the router discloses because authorize
// answered "disclose": true.
func (b *backend) hello(cc *client.CallContext) string {
	if cc.CallerAuthID == "" {
		return "hello stranger"
	}
	return fmt.Sprintf("hello %s (%s)", cc.CallerAuthID, cc.CallerAuthRole)
}

// stats returns how often each procedure was invoked:
// {"authenticate": n, "authorize": m}.
func (b *backend) stats() wamp.Dict {
	return wamp.Dict{
		"authenticate": b.authenticateCalls.Load(),
		"authorize":    b.authorizeCalls.Load(),
	}
}
