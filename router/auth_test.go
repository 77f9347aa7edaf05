package router_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

var everything = authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}

// authRouter has realm1 with roles backend (everything), user (call and
// subscribe under public.) and an auth realm for redirected authenticators.
func authRouter(t *testing.T) *routertest.Server {
	return routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{
			{Name: "realm1", Roles: []authz.RoleConfig{
				{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
				{Name: "user", Permissions: []authz.Permission{{URI: "public.", Match: "prefix", Allow: authz.Actions{Call: true, Subscribe: true}}}},
			}},
			{Name: "authrealm", Roles: []authz.RoleConfig{
				{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			}},
		}
	})
}

func rawTransport(ms ...auth.MethodConfig) router.Transport {
	return router.Transport{RawSocket: &router.RawSocketOptions{Auth: ms}}
}

// anonymousTransport admits anonymous sessions with role.
func anonymousTransport(role string) router.Transport {
	return rawTransport(auth.MethodConfig{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: role}})
}

// joinBackend joins a backend session through a backdoor transport on realm.
func joinBackend(t *testing.T, url string, realm wamp.URI) *peer {
	p := dialURL(t, url, "msgpack")
	p.send(&wamp.Hello{Realm: realm, Details: wamp.Dict{"roles": clientRoles}})
	w := p.welcomed()
	if role, _ := wamp.OptString(w.Details, "authrole"); role != "backend" {
		t.Fatalf("backdoor gave role %q", role)
	}
	return p
}

func TestStaticTicketAuth(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	hash := routertest.CheapHash(t, "s3cret")
	url := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{
			"joe": {Ticket: hash, Role: "user"},
			"eve": {Ticket: "plain", Role: "nosuchrole"},
		},
	}}))

	p := dialURL(t, url, "json")
	p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	ch := expect[*wamp.Challenge](p)
	if ch.AuthMethod != "ticket" {
		t.Fatalf("CHALLENGE method %q", ch.AuthMethod)
	}
	p.send(&wamp.Authenticate{Signature: "s3cret", Extra: wamp.Dict{}})
	w := p.welcomed()
	for k, want := range map[string]string{"authid": "joe", "authrole": "user", "authmethod": "ticket", "authprovider": "static"} {
		if got, _ := wamp.OptString(w.Details, k); got != want {
			t.Errorf("WELCOME %s = %q, want %q", k, got, want)
		}
	}

	// Wrong ticket and unknown user get the same ABORT.
	var msgs []string
	for _, c := range []struct{ authid, ticket string }{{"joe", "wrong"}, {"nobody", "s3cret"}} {
		p := dialURL(t, url, "cbor")
		p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": c.authid})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: c.ticket, Extra: wamp.Dict{}})
		a := expectAbort(p, wamp.ErrAuthenticationFailed)
		m, _ := wamp.OptString(a.Details, "message")
		msgs = append(msgs, m)
		p.expectClosed()
	}
	if msgs[0] != msgs[1] {
		t.Errorf("unknown user and wrong ticket differ: %q vs %q", msgs[0], msgs[1])
	}

	// A role the realm does not define.
	p = dialURL(t, url, "json")
	p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "eve"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "plain", Extra: wamp.Dict{}})
	expectAbort(p, wamp.ErrNoSuchRole)

	// No method in common; anonymous is not configured here.
	for _, methods := range []wamp.List{{"wampcra"}, {"anonymous"}, nil} {
		p = dialURL(t, url, "json")
		d := wamp.Dict{"authid": "joe"}
		if methods != nil {
			d["authmethods"] = methods
		}
		p.hello(d)
		expectAbort(p, wamp.ErrNoAuthMethod)
	}
	if n := srv.Router().Stats().AuthFailures; n < 6 {
		t.Errorf("AuthFailures = %d, want at least 6", n)
	}
}

func TestStaticWAMPCRAAndCryptosign(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	derived := auth.DeriveKey("pw", "salt123", 1000, 32)
	url := srv.Serve(t, "tcp", rawTransport(
		auth.MethodConfig{Method: "wampcra", Type: "static", WAMPCRA: auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{
			"plain":  {Secret: "secret123", Role: "user"},
			"salted": {Secret: derived, Role: "user", Salt: "salt123", Iterations: 1000, KeyLen: 32},
		}}},
		auth.MethodConfig{Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
			"device": {AuthorizedKeys: []string{hex.EncodeToString(pub)}, Role: "backend"},
		}}},
	))

	for _, c := range []struct {
		authid, key string
		ok          bool
	}{
		{"plain", "secret123", true},
		{"salted", derived, true},
		{"plain", "wrong", false},
	} {
		p := dialURL(t, url, "json")
		p.hello(wamp.Dict{"authmethods": wamp.List{"cryptosign_not_here", "wampcra"}, "authid": c.authid})
		ch := expect[*wamp.Challenge](p)
		challenge, _ := wamp.OptString(ch.Extra, "challenge")
		if salt, _ := wamp.OptString(ch.Extra, "salt"); (salt != "") != (c.authid == "salted") {
			t.Errorf("%s: CHALLENGE salt %q", c.authid, salt)
		}
		p.send(&wamp.Authenticate{Signature: auth.SignWAMPCRA([]byte(c.key), challenge), Extra: wamp.Dict{}})
		if c.ok {
			w := p.welcomed()
			if m, _ := wamp.OptString(w.Details, "authmethod"); m != "wampcra" {
				t.Errorf("authmethod %q", m)
			}
		} else {
			expectAbort(p, wamp.ErrAuthenticationFailed)
		}
	}

	p := dialURL(t, url, "cbor")
	p.hello(wamp.Dict{"authmethods": wamp.List{"cryptosign"}, "authextra": wamp.Dict{"pubkey": hex.EncodeToString(pub)}})
	ch := expect[*wamp.Challenge](p)
	challenge, _ := wamp.OptString(ch.Extra, "challenge")
	sig, err := auth.SignCryptosign(priv, challenge, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.send(&wamp.Authenticate{Signature: sig, Extra: wamp.Dict{}})
	w := p.welcomed()
	if id, _ := wamp.OptString(w.Details, "authid"); id != "device" {
		t.Errorf("cryptosign authid %q, want device (inferred from the key)", id)
	}
}

func TestDynamicTicketAuth(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	dyn := func(realm wamp.URI) router.Transport {
		return rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{
			Authenticator: "com.example.authenticate", Realm: realm, Timeout: 300 * time.Millisecond,
		}})
	}
	front := srv.Serve(t, "tcp", dyn(""))
	redirected := srv.Serve(t, "tcp", dyn("authrealm"))

	login := func(url, authid, ticket string) *peer {
		p := dialURL(t, url, "json")
		p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": authid, "authextra": wamp.Dict{"device": "phone"}})
		expect[*wamp.Challenge](p)
		p.send(&wamp.Authenticate{Signature: ticket, Extra: wamp.Dict{}})
		return p
	}

	// Not registered yet: fail closed with a message that says so.
	p := login(front, "joe", "1234")
	a := expectAbort(p, wamp.ErrAuthenticationFailed)
	if msg, _ := wamp.OptString(a.Details, "message"); !containsAll(msg, "com.example.authenticate", "not registered") {
		t.Errorf("message %q", msg)
	}

	for _, realm := range []wamp.URI{"realm1", "authrealm"} {
		backend := joinBackend(t, backdoor, realm)
		backend.register("com.example.authenticate", wamp.Dict{})
		url := front
		if realm == "authrealm" {
			url = redirected
		}
		answers := []struct {
			answer any // a Yield payload arg, or an error URI
			abort  wamp.URI
		}{
			{wamp.Dict{"authrole": "user", "extra": wamp.Dict{"plan": "gold"}}, ""},
			{"user", ""},
			{wamp.Dict{"role": "user", "authid": "joe@example.com"}, ""},
			{wamp.URI("wamp.error.authentication_failed"), wamp.ErrAuthenticationFailed},
			{wamp.URI("com.example.expired"), "com.example.expired"},
			{int64(42), wamp.ErrAuthenticationFailed},
			{wamp.Dict{"role": "nosuchrole"}, wamp.ErrNoSuchRole},
			{nil, wamp.ErrAuthenticationFailed}, // never answers: timeout
		}
		for i, c := range answers {
			p := login(url, "joe", "1234")
			inv := expect[*wamp.Invocation](backend)
			args := argsOf(t, &inv.Payload)
			if len(args) != 3 || args[0] != "realm1" || args[1] != "joe" {
				t.Fatalf("authenticator args %v", args)
			}
			details, _ := args[2].(wamp.Dict)
			if tk, _ := wamp.OptString(details, "ticket"); tk != "1234" {
				t.Errorf("details.ticket = %v", details["ticket"])
			}
			if m, _ := wamp.OptString(details, "authmethod"); m != "ticket" {
				t.Errorf("details.authmethod = %v", details["authmethod"])
			}
			if _, ok := wamp.OptDict(details, "transport"); !ok {
				t.Errorf("details.transport missing: %v", details)
			}
			sessionID, _ := wamp.OptID(details, "session")
			switch v := c.answer.(type) {
			case nil:
			case wamp.URI:
				backend.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: v, Payload: wamp.Payload{Args: wamp.List{"nope"}}})
			default:
				backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{v}}})
			}
			if c.abort != "" {
				a := expectAbort(p, c.abort)
				if c.answer == nil {
					if msg, _ := wamp.OptString(a.Details, "message"); !containsAll(msg, "timed out") {
						t.Errorf("timeout message %q", msg)
					}
					// The router gives up on the call and tells the backend.
					if i := expect[*wamp.Interrupt](backend); i.Request != inv.Request {
						t.Errorf("INTERRUPT for %d, want %d", i.Request, inv.Request)
					}
				}
				continue
			}
			w := p.welcomed()
			if w.Session != sessionID {
				t.Errorf("%s/%d: session %d, authenticator was told %d", realm, i, w.Session, sessionID)
			}
			if prov, _ := wamp.OptString(w.Details, "authprovider"); prov != "dynamic" {
				t.Errorf("authprovider %q", prov)
			}
			if i == 0 {
				extra, _ := wamp.OptDict(w.Details, "authextra")
				if extra["plan"] != "gold" {
					t.Errorf("authextra %v", w.Details["authextra"])
				}
			}
			if i == 2 {
				if id, _ := wamp.OptString(w.Details, "authid"); id != "joe@example.com" {
					t.Errorf("authid %q", id)
				}
			}
		}
		backend.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
		expect[*wamp.Goodbye](backend)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// The authenticator may move the client to another realm.
func TestAuthenticatorRealmRedirection(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "anonymous", Type: "dynamic", Dynamic: auth.DynamicConfig{
		Authenticator: "com.example.authenticate", Realm: "authrealm", Realms: []wamp.URI{"nowhere"},
	}}))
	backend := joinBackend(t, backdoor, "authrealm")
	backend.register("com.example.authenticate", wamp.Dict{})

	p := dialURL(t, front, "cbor")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
	inv := expect[*wamp.Invocation](backend)
	if args := argsOf(t, &inv.Payload); args[0] != "realm1" {
		t.Errorf("authenticator told realm %v", args[0])
	}
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{wamp.Dict{"role": "backend", "realm": "authrealm"}}}})
	w := p.welcomed()
	if realm, _ := wamp.OptString(w.Details, "realm"); realm != "authrealm" {
		t.Fatalf("WELCOME realm %q, want authrealm", realm)
	}
	// The session really lives in authrealm: it can call the backend there.
	backend.register("com.example.where", wamp.Dict{})
	req := p.next()
	p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.where"})
	inv = expect[*wamp.Invocation](backend)
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	expect[*wamp.Result](p)

	// Redirection to a listed realm the router does not have.
	p = dialURL(t, front, "json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": clientRoles}})
	inv = expect[*wamp.Invocation](backend)
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{wamp.Dict{"role": "backend", "realm": "nowhere"}}}})
	expectAbort(p, wamp.ErrNoSuchRealm)
}

// A dynamic authenticator cannot make anyone trusted.
func TestDynamicAuthenticatorCannotGrantTrusted(t *testing.T) {
	t.Parallel()
	srv := authRouter(t)
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{
		Authenticator: "com.example.authenticate",
	}}))
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authenticate", wamp.Dict{})
	p := dialURL(t, front, "json")
	p.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "mallory", "authrole": "trusted"})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "x", Extra: wamp.Dict{}})
	inv := expect[*wamp.Invocation](backend)
	details, _ := argsOf(t, &inv.Payload)[2].(wamp.Dict)
	// A naive authenticator that echoes the requested role.
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{wamp.Dict{"role": details["authrole"]}}}})
	a := expectAbort(p, wamp.ErrNoSuchRole)
	if msg, _ := wamp.OptString(a.Details, "message"); !strings.Contains(msg, "trusted") {
		t.Errorf("message %q", msg)
	}
}
