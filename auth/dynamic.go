package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// DefaultTimeout bounds a dynamic authenticator call when
// DynamicConfig.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// DynamicConfig configures a dynamic authenticator: a WAMP procedure the
// router calls to decide.
type DynamicConfig struct {
	// Authenticator is the procedure called as (realm, authid, details)
	// (Crossbar key "authenticator"). Required.
	Authenticator wamp.URI
	// Realm is the realm the call is made in ("authenticator-realm").
	// Empty (default): the realm the client asked for.
	Realm wamp.URI
	// Realms are further realms the authenticator may place a session in
	// with the answer's "realm" ("realms", a Tollgate addition). Without
	// them it may place a session only in the realm it runs in or the
	// realm the client asked for. Needs Realm: without it the
	// authenticator is whoever registered it in the realm the client
	// names, so any realm's could claim these.
	Realms []wamp.URI
	// DefaultRole is the authrole used when the answer names none
	// ("default-role"). Empty (default): such an answer is refused with
	// wamp.error.no_such_role.
	DefaultRole string
	// Timeout bounds each call ("timeout", a Tollgate addition; Crossbar
	// waits forever). Zero means DefaultTimeout (5 s). A call that takes
	// longer is abandoned and the client refused.
	Timeout time.Duration
	// Caller makes the call from the router's trusted internal session.
	// Required.
	Caller Caller

	// MaxInFlight, MaxQueued, BreakerThreshold and BreakerCooldown guard
	// the path to the authenticator, per realm it is called in
	// ("authenticator-max-in-flight", "authenticator-max-queued",
	// "authenticator-breaker"), as authz.RoleConfig's do the authorizer's:
	// 0 means 64 calls in flight, 4 × that many logins waiting (within
	// Timeout), no breaker, 5 s cooldown. A login refused by the guard
	// gets wamp.error.authentication_failed saying the authenticator is
	// overloaded or unavailable. See dynguard.go.
	MaxInFlight, MaxQueued int
	BreakerThreshold       int
	BreakerCooldown        time.Duration
	// Guards, when set, holds the guards shared with the other methods and
	// transports naming the same procedure (the router's; the first
	// configuration's limits apply). nil: this authenticator's own.
	Guards *guard.Table
	// Logger receives the warning when a breaker opens. nil discards it.
	Logger *slog.Logger
}

// Dynamic authenticates by calling an authenticator procedure, for any of
// the five methods. It is safe for concurrent use; it holds no lock while
// calling.
//
// anonymous, tls, wampcra and cryptosign call at HELLO; ticket sends
// CHALLENGE [4, "ticket", {}] and calls at AUTHENTICATE with the ticket in
// details.ticket. For wampcra the answer carries the secret (and salt,
// iterations, keylen) used exactly like a static user's; for cryptosign it
// carries the pubkey the signature must verify against. See docs/auth.md
// for the call, the details dict, the accepted answers and the errors.
type Dynamic struct {
	method  string
	cfg     DynamicConfig
	timeout string // cfg.Timeout as text, for messages
	limits  guard.Limits
}

// NewDynamic builds a dynamic authenticator for method (one of the Method*
// constants).
func NewDynamic(method string, cfg DynamicConfig) (*Dynamic, error) {
	var errs []error
	switch method {
	case MethodAnonymous, MethodTicket, MethodWAMPCRA, MethodCryptosign, MethodTLS:
	default:
		errs = append(errs, fmt.Errorf("unknown method %q", method))
	}
	switch {
	case cfg.Authenticator == "":
		errs = append(errs, errors.New("authenticator: empty"))
	case !wamp.ValidURI(cfg.Authenticator, false, wamp.MatchExact):
		errs = append(errs, fmt.Errorf("authenticator: invalid URI %q", cfg.Authenticator))
	}
	if cfg.Realm != "" && !wamp.ValidURI(cfg.Realm, false, wamp.MatchExact) {
		errs = append(errs, fmt.Errorf("authenticator-realm: invalid URI %q", cfg.Realm))
	}
	for _, r := range cfg.Realms {
		if !wamp.ValidURI(r, false, wamp.MatchExact) {
			errs = append(errs, fmt.Errorf("realms: invalid URI %q", r))
		}
	}
	if len(cfg.Realms) > 0 && cfg.Realm == "" {
		errs = append(errs, errors.New("realms: needs authenticator-realm (without it, whoever registers the authenticator in any realm a client asks for would be trusted for these realms)"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: negative (%v)", cfg.Timeout))
	}
	if cfg.Caller == nil {
		errs = append(errs, errors.New("no Caller to call the authenticator with"))
	}
	if cfg.BreakerThreshold < 0 {
		errs = append(errs, fmt.Errorf("authenticator-breaker.threshold: negative (%d)", cfg.BreakerThreshold))
	}
	if cfg.BreakerCooldown < 0 {
		errs = append(errs, fmt.Errorf("authenticator-breaker.cooldown: negative (%v)", cfg.BreakerCooldown))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("auth: %s dynamic: %w", method, errors.Join(errs...))
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Guards == nil {
		cfg.Guards = &guard.Table{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	lim := guard.Limits{MaxInFlight: cfg.MaxInFlight, MaxQueued: cfg.MaxQueued, Threshold: cfg.BreakerThreshold, Cooldown: cfg.BreakerCooldown}
	return &Dynamic{method: method, cfg: cfg, timeout: cfg.Timeout.String(), limits: lim}, nil
}

// Method returns the method name given to NewDynamic.
func (d *Dynamic) Method() string { return d.method }

// Hello calls the authenticator (all methods but ticket) or sends the
// ticket challenge.
func (d *Dynamic) Hello(ctx context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error) {
	if _, err := d.runRealm(req); err != nil {
		return nil, nil, nil, err // before any challenge: nobody to ask
	}
	switch d.method {
	case MethodTicket:
		return nil, ticketChallenge(), &dynTicketPending{d: d, req: *req}, nil

	case MethodAnonymous, MethodTLS:
		authid := req.AuthID
		if d.method == MethodAnonymous {
			// As in Crossbar, the authenticator sees a fresh random
			// authid, which the session keeps unless the answer gives one.
			authid = RandomAuthID()
		}
		ans, err := d.call(ctx, req, authid, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		id, err := d.identity(req, ans, authid)
		return id, nil, nil, err

	case MethodWAMPCRA:
		if req.AuthID == "" {
			return nil, nil, nil, &Error{Reason: wamp.ErrAuthenticationFailed, Message: "wampcra authentication needs an authid in HELLO"}
		}
		ans, err := d.call(ctx, req, req.AuthID, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		params, err := d.craParams(ans)
		if err != nil {
			return nil, nil, nil, err
		}
		id, err := d.identity(req, ans, req.AuthID)
		if err != nil {
			return nil, nil, nil, err
		}
		ch, p, err := newCRAPending(*id, req.Session, params, true)
		if err != nil {
			return nil, nil, nil, err
		}
		return nil, ch, p, nil

	case MethodCryptosign:
		channelID, binding, err := channelBinding(req)
		if err != nil {
			return nil, nil, nil, err
		}
		if _, err := clientPubkey(req.AuthExtra); err != nil {
			return nil, nil, nil, err
		}
		ans, err := d.call(ctx, req, req.AuthID, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		pub, err := d.pubkey(ans)
		if err != nil {
			return nil, nil, nil, err
		}
		id, err := d.identity(req, ans, req.AuthID)
		if err != nil {
			return nil, nil, nil, err
		}
		ch, p := newCryptosignPending(*id, pub, channelID, binding, true)
		return nil, ch, p, nil
	}
	return nil, nil, nil, fmt.Errorf("auth: dynamic: unknown method %q", d.method)
}

// dynTicketPending calls the authenticator with the ticket.
type dynTicketPending struct {
	d    *Dynamic
	req  Request
	used atomic.Bool
}

func (p *dynTicketPending) Authenticate(ctx context.Context, a *wamp.Authenticate) (*Identity, error) {
	if p.used.Swap(true) {
		return nil, errAnswered
	}
	ans, err := p.d.call(ctx, &p.req, p.req.AuthID, func(details wamp.Dict) { details["ticket"] = a.Signature })
	if err != nil {
		return nil, err
	}
	return p.d.identity(&p.req, ans, p.req.AuthID)
}

// answer is a parsed authenticator result.
type answer struct {
	role   string
	authid string
	realm  wamp.URI
	extra  wamp.Dict
	dict   wamp.Dict // the whole dict answer (nil for a string answer)
}

// call invokes the authenticator as (realm, authid, details) and parses
// the answer. addDetails adds method-specific details.
func (d *Dynamic) call(ctx context.Context, req *Request, authid string, addDetails func(wamp.Dict)) (answer, error) {
	realm, err := d.runRealm(req)
	if err != nil {
		return answer{}, err
	}
	details := d.details(req)
	if addDetails != nil {
		addDetails(details)
	}
	callCtx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	g := d.cfg.Guards.Of(guard.Key{Realm: realm, Procedure: d.cfg.Authenticator}, d.limits)
	if reason, ok := g.Enter(callCtx); !ok {
		return answer{}, d.refused(ctx, reason)
	}
	args, kwargs, err := d.callOnce(callCtx, realm, wamp.List{string(req.Realm), authid, details})
	g.Leave()
	if err != nil {
		if failed, counts := callFailed(err); counts {
			d.record(ctx, g, failed)
		}
		return answer{}, d.callError(ctx, callCtx, err)
	}
	a, err := d.parseAnswer(args, kwargs)
	d.record(ctx, g, err != nil)
	return a, err
}

// runRealm is the realm the authenticator is called in: authenticator-realm,
// else the realm the client asked for.
func (d *Dynamic) runRealm(req *Request) (wamp.URI, error) {
	if d.cfg.Realm != "" {
		return d.cfg.Realm, nil
	}
	if req.Realm == "" {
		return "", &Error{Reason: wamp.ErrNoSuchRealm, Message: "the client asked for no realm and no authenticator-realm is configured to ask which one",
			Detail: "no realm to call authenticator " + string(d.cfg.Authenticator) + " in"}
	}
	return req.Realm, nil
}

// trusts reports whether the authenticator may place a session in realm
// (issue 17 #5): the realm it runs in, the realm the client asked for
// (the same unless authenticator-realm is set), and the configured Realms.
// Anything else would let whoever can register the authenticator in some
// realm, perhaps an open one a client names, grant roles in another.
func (d *Dynamic) trusts(req *Request, realm wamp.URI) bool {
	if realm == req.Realm || realm == d.cfg.Realm {
		return true
	}
	return slices.Contains(d.cfg.Realms, realm)
}

// details builds the details dict of a call (docs/dynamic-auth.md, "What
// the backend is told"): what the router established (session,
// authmethod, authprovider, transport) and what the client chose, under
// "client" (realm, authid, authrole, authextra). Crossbar's authenticators
// read the client's authid, authrole and authextra at the top level, so
// those stay there too.
func (d *Dynamic) details(req *Request) wamp.Dict {
	client := wamp.Dict{
		"realm": nilIfEmpty(string(req.Realm)), "authid": nilIfEmpty(req.AuthID),
		"authrole": nilIfEmpty(req.AuthRole), "authextra": copyDict(req.AuthExtra),
	}
	if client["authextra"] == nil {
		client["authextra"] = wamp.Dict{} // as the authorizer's client.authextra
	}
	return wamp.Dict{
		"session":      int64(req.Session),
		"authmethod":   d.method,
		"authprovider": ProviderDynamic,
		"authid":       client["authid"],
		"authrole":     client["authrole"],
		"authextra":    copyDict(req.AuthExtra),
		"transport":    TransportDetails(req.Transport),
		"client":       client,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// callError turns a failed call into the refusal the client sees. A
// refusal the authenticator raises on purpose keeps its URI and the first
// line of its message; anything else (a Go or Python exception, a bad
// signature, a router-side failure) is one generic message, as its text may
// hold hostnames, DSNs or a traceback. Detail, for the log, has it all.
func (d *Dynamic) callError(parent, callCtx context.Context, err error) error {
	uri := string(d.cfg.Authenticator)
	detail := fmt.Sprintf("authenticator %s failed: %v", uri, err)
	switch {
	case parent.Err() != nil:
		return &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication abandoned: " + parent.Err().Error(), Detail: detail}
	case callCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
		return &Error{Reason: wamp.ErrAuthenticationFailed, Message: fmt.Sprintf("authenticator %s timed out after %s", uri, d.timeout), Detail: detail}
	}
	var ce *wamp.CallError
	if errors.As(err, &ce) {
		switch {
		case ce.URI == wamp.ErrNoSuchProcedure:
			return &Error{Reason: wamp.ErrAuthenticationFailed, Message: fmt.Sprintf("authenticator %s is not registered", uri), Detail: detail}
		case ce.URI == dealer.ErrCalleeBusy: // the router's bound on the callee: overloaded as surely as when the guard says so
			return d.refused(parent, guard.QueueFull)
		case deliberateRefusal(ce.URI):
			msg := "authentication refused"
			if len(ce.Args) > 0 {
				if s, ok := ce.Args[0].(string); ok && s != "" {
					msg = firstLine(s, maxRefusalMessage)
				}
			}
			return &Error{Reason: ce.URI, Message: msg, Detail: detail}
		}
	}
	return &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication failed: the authenticator failed", Detail: detail}
}

// maxRefusalMessage caps the message of a deliberate refusal, in bytes.
const maxRefusalMessage = 200

// deliberateRefusal reports whether an authenticator's error URI is a
// refusal it chose: an application URI (com.example.ticket_expired) or one
// of the WAMP refusal URIs. Other wamp.error URIs (runtime_error for an
// exception, invalid_argument for a signature mismatch, canceled, ...)
// mean the backend failed, and so do the router's own tollgate.* URIs.
func deliberateRefusal(u wamp.URI) bool {
	switch u {
	case wamp.ErrAuthenticationFailed, wamp.ErrAuthenticationDenied, wamp.ErrNotAuthorized,
		wamp.ErrNoSuchPrincipal, wamp.ErrNoSuchRole, wamp.ErrNoSuchRealm:
		return true
	case "":
		return false
	}
	// tollgate.error.* come from the router (callee_busy: the
	// authenticator's in-flight invocations are at the router's bound).
	return !strings.HasPrefix(string(u), "wamp.") && !strings.HasPrefix(string(u), "tollgate.")
}

// firstLine returns s up to its first line break, cut to at most n bytes
// on a rune boundary.
func firstLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// malformed is the refusal for an answer we cannot use.
func (d *Dynamic) malformed(what, why string) *Error {
	return &Error{Reason: wamp.ErrAuthenticationFailed,
		Message: fmt.Sprintf("authenticator %s returned %s: %s", d.cfg.Authenticator, what, why)}
}

// parseAnswer accepts a role string, or a dict with role|authrole, authid,
// realm, extra (and method keys, read later). With no positional result a
// kwargs dict is taken as the answer.
func (d *Dynamic) parseAnswer(args wamp.List, kwargs wamp.Dict) (answer, error) {
	var v any
	switch {
	case len(args) > 0:
		v = args[0]
	case kwargs != nil:
		v = kwargs
	default:
		return answer{}, d.malformed("nothing", "want a role string or a dict")
	}
	switch x := v.(type) {
	case string:
		return answer{role: x}, nil
	case wamp.Dict:
		a := answer{dict: x}
		var err error
		role, err := d.optString(x, "role")
		if err != nil {
			return a, err
		}
		authrole, err := d.optString(x, "authrole")
		if err != nil {
			return a, err
		}
		if role != "" && authrole != "" && role != authrole {
			return a, d.malformed(fmt.Sprintf("role %q and authrole %q", role, authrole), "they disagree")
		}
		a.role = role
		if a.role == "" {
			a.role = authrole
		}
		if a.authid, err = d.optString(x, "authid"); err != nil {
			return a, err
		}
		realm, err := d.optString(x, "realm")
		if err != nil {
			return a, err
		}
		if realm != "" && !wamp.ValidURI(wamp.URI(realm), false, wamp.MatchExact) {
			return a, d.malformed(fmt.Sprintf("realm %q", realm), "not a valid URI")
		}
		a.realm = wamp.URI(realm)
		if e, present := x["extra"]; present && e != nil {
			ed, ok := e.(wamp.Dict)
			if !ok {
				return a, d.malformed("extra "+describe(e), "must be a dict")
			}
			a.extra = ed
		}
		return a, nil
	}
	return answer{}, d.malformed(describe(v), "want a role string or a dict")
}

// optString reads an optional string key of a dict answer (null = absent).
func (d *Dynamic) optString(x wamp.Dict, key string) (string, error) {
	v, present := x[key]
	if !present || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", d.malformed(key+" "+describe(v), "must be a string")
	}
	return s, nil
}

// optInt reads an optional integer key of a dict answer (null = absent).
func (d *Dynamic) optInt(x wamp.Dict, key string) (int, error) {
	v, present := x[key]
	if !present || v == nil {
		return 0, nil
	}
	n, ok := wamp.AsInt(v)
	if !ok || n < 0 || n > maxIterations {
		return 0, d.malformed(key+" "+describe(v), "must be a non-negative integer")
	}
	return int(n), nil
}

// craParams reads secret, salt, iterations and keylen from a wampcra answer.
func (d *Dynamic) craParams(a answer) (craParams, error) {
	if a.dict == nil {
		return craParams{}, d.malformed(fmt.Sprintf("role string %q", a.role), "wampcra needs a dict with secret")
	}
	secret, err := d.optString(a.dict, "secret")
	if err != nil {
		return craParams{}, err
	}
	if secret == "" {
		return craParams{}, d.malformed("no secret", "wampcra needs a dict with secret")
	}
	salt, err := d.optString(a.dict, "salt")
	if err != nil {
		return craParams{}, err
	}
	var it, kl int
	if salt != "" { // without a salt, iterations and keylen mean nothing
		if it, err = d.optInt(a.dict, "iterations"); err != nil {
			return craParams{}, err
		}
		if kl, err = d.optInt(a.dict, "keylen"); err != nil {
			return craParams{}, err
		}
	}
	p, err := newCRAParams(secret, salt, it, kl)
	if err != nil {
		return craParams{}, d.malformed("bad wampcra parameters", err.Error())
	}
	return p, nil
}

// pubkey reads the Ed25519 key a cryptosign answer authorizes.
func (d *Dynamic) pubkey(a answer) ([]byte, error) {
	if a.dict == nil {
		return nil, d.malformed(fmt.Sprintf("role string %q", a.role), "cryptosign needs a dict with pubkey")
	}
	s, err := d.optString(a.dict, "pubkey")
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, d.malformed("no pubkey", "cryptosign needs a dict with pubkey")
	}
	b, err := decodeHexKey(s)
	if err != nil {
		return nil, d.malformed("pubkey", err.Error())
	}
	return b, nil
}

// identity applies the answer: role (or DefaultRole), authid (or the one
// the call was made with), realm (or the requested one), extra.
func (d *Dynamic) identity(req *Request, a answer, authid string) (*Identity, error) {
	uri := d.cfg.Authenticator
	role := a.role
	if role == "" {
		role = d.cfg.DefaultRole
	}
	if role == "" {
		return nil, &Error{Reason: wamp.ErrNoSuchRole, Message: fmt.Sprintf("authenticator %s returned no role and no default-role is configured", uri)}
	}
	if a.authid != "" {
		authid = a.authid
	}
	if authid == "" {
		return nil, &Error{Reason: wamp.ErrNoSuchPrincipal, Message: fmt.Sprintf("authenticator %s returned no authid and the client sent none", uri)}
	}
	realm := req.Realm
	if a.realm != "" {
		realm = a.realm
	}
	if realm == "" {
		return nil, &Error{Reason: wamp.ErrNoSuchRealm, Message: fmt.Sprintf("authenticator %s returned no realm and the client asked for none", uri)}
	}
	if !d.trusts(req, realm) {
		ran, _ := d.runRealm(req)
		return nil, &Error{Reason: wamp.ErrAuthenticationFailed,
			Message: fmt.Sprintf("the authenticator is not trusted for realm %q", realm),
			Detail: fmt.Sprintf("authenticator %s called in realm %q returned realm %q, which it is not trusted for: list it under the method's realms (with authenticator-realm) if it should be",
				uri, ran, realm)}
	}
	return d.withGrants(a.dict, &Identity{ // grants.go
		Realm: realm, AuthID: authid, AuthRole: role,
		AuthMethod: d.method, AuthProvider: ProviderDynamic,
		AuthExtra: a.extra,
	})
}
