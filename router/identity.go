package router

import (
	"maps"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// identity is who a session is: built once when it joins (lifecycle.go)
// from what the authenticator admitted, read-only afterwards.
type identity struct {
	id           wamp.ID
	realmURI     wamp.URI
	authid       string
	authrole     string
	authmethod   string
	authprovider string
	// authextra is WELCOME's: the dynamic authenticator's extra, or the
	// client's HELLO authextra echoed by static anonymous and ticket.
	authextra wamp.Dict
	// wire is the connection; transportDetails describes it on demand
	// (an idle session would hold the dict for nothing: WELCOME does
	// not carry it). transport is it built at join for TLS connections,
	// whose peer_cert.expired is as of the join.
	wire      interface{ Info() transport.Info }
	transport wamp.Dict
}

// transportDetails is auth.TransportDetails of the connection, with the
// HTTP headers the endpoint's allow-list keeps; nil before join.
func (id *identity) transportDetails() wamp.Dict {
	if id.transport != nil || id.wire == nil {
		return id.transport
	}
	return auth.TransportDetails(id.wire.Info())
}

// detailsView says who a session's details are for; they differ only in
// what is left out.
type detailsView int

const (
	// welcomeView: WELCOME.Details (the caller adds agent and roles). No
	// session id or transport; authextra only when the authenticator
	// gave one.
	welcomeView detailsView = iota
	// metaView: SessionDetails for the meta API (on_join, session.get).
	// The transport's HTTP headers are left out: other sessions may read
	// these, and headers carry cookies and credentials.
	metaView
	// authorizerView: the base of a dynamic authorizer's session
	// argument (authzSession completes it), with the allow-listed HTTP
	// headers (it may decide on them).
	authorizerView
)

// Details returns the session's details dict for v: realm, authid,
// authrole, authmethod, authprovider, authextra, and except for WELCOME
// session and transport (authextra and transport are {} when absent).
func (id *identity) Details(v detailsView) wamp.Dict {
	d := make(wamp.Dict, 8) // room for WELCOME's agent and roles, or session, authextra, transport
	d["realm"] = string(id.realmURI)
	d["authid"] = id.authid
	d["authrole"] = id.authrole
	d["authmethod"] = id.authmethod
	d["authprovider"] = id.authprovider
	if v == welcomeView {
		if id.authextra != nil {
			d["authextra"] = id.authextra
		}
		return d
	}
	extra, tr := id.authextra, id.transportDetails()
	if extra == nil {
		extra = wamp.Dict{}
	}
	if tr == nil {
		tr = wamp.Dict{}
	}
	if v == metaView {
		if _, ok := tr["http_headers_received"]; ok {
			if id.transport != nil { // shared: the others keep the headers
				tr = maps.Clone(tr)
			}
			delete(tr, "http_headers_received")
		}
	}
	d["session"] = id.id
	d["authextra"] = extra
	d["transport"] = tr
	return d
}

// authzSession is the session as the authorizer sees it. Its details,
// built when a dynamic authorizer first asks, are what the router
// established under Crossbar's names, and what the client chose (its
// HELLO authextra, from hello) under "client" only (docs/dynamic-auth.md,
// "What the backend is told"). expires_at is
// added per call (authz.SessionDict; schedule sets az.Expires).
func (id *identity) authzSession(hello *wamp.Hello) *authz.Session {
	az := &authz.Session{
		ID: id.id, Realm: id.realmURI, AuthID: id.authid, AuthRole: id.authrole, AuthMethod: id.authmethod,
		AuthProvider: id.authprovider, AuthExtra: id.establishedExtra(),
	}
	// Only the client's HELLO authextra is kept for it: the dict is built
	// when a dynamic authorizer first asks (authz.SessionDict), which
	// most sessions never need.
	var helloExtra wamp.Dict
	if hello != nil {
		helloExtra, _ = wamp.OptDict(hello.Details, "authextra")
	}
	az.BuildDetails = func() wamp.Dict {
		d := id.Details(authorizerView)
		d["authextra"] = az.AuthExtra
		if az.AuthExtra == nil {
			d["authextra"] = wamp.Dict{}
		}
		d["client"] = authz.ClientDict(helloExtra)
		return d
	}
	return az
}

// establishedExtra is the authextra an authorizer may trust: a dynamic
// authenticator's own extra. A static method's WELCOME authextra is the
// client's HELLO authextra echoed (Crossbar's rule), so it is not.
func (id *identity) establishedExtra() wamp.Dict {
	if id.authprovider != auth.ProviderDynamic {
		return nil
	}
	return id.authextra
}

// features are what a client announced in HELLO.Details.roles, parsed
// once when it joins.
type features struct {
	callerProgressiveInvocations, callerPPT                                  bool
	calleeCanceling, calleeProgress, calleeProgressiveInvocations, calleePPT bool
	publisherPPT                                                             bool
	registrationRevocation, subscriptionRevocation                           bool
}

func parseFeatures(roles wamp.Dict) features {
	return features{
		callerProgressiveInvocations: feature(roles, "caller", "progressive_call_invocations"),
		callerPPT:                    feature(roles, "caller", "payload_passthru_mode"),
		calleeCanceling:              feature(roles, "callee", "call_canceling"),
		calleeProgress:               feature(roles, "callee", "progressive_call_results"),
		calleeProgressiveInvocations: feature(roles, "callee", "progressive_call_invocations"),
		calleePPT:                    feature(roles, "callee", "payload_passthru_mode"),
		publisherPPT:                 feature(roles, "publisher", "payload_passthru_mode"),
		registrationRevocation:       feature(roles, "callee", "registration_revocation"),
		subscriptionRevocation:       feature(roles, "subscriber", "subscription_revocation"),
	}
}
