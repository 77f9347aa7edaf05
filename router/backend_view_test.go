package router_test

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/internal/testcert"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// What the authenticator and the authorizer are told (docs/dynamic-auth.md,
// "What the backend is told, and what it can trust"), end to end: a Go
// backend component answers both over a backdoor; a client that lies in
// HELLO (authid, authrole and an authextra naming admin, root, a session
// and a transport) logs in over wss:// with a client certificate through
// endpoints with different header allow-lists.
func TestBackendView(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	clientCert, clientParsed := testcert.Certificate(t, "alice-device")
	pool := x509.NewCertPool()
	pool.AddCert(clientParsed)
	serverTLS := certs.Server.Clone()
	serverTLS.ClientAuth, serverTLS.ClientCAs = tls.RequireAndVerifyClientCert, pool
	clientTLS := certs.Client.Clone()
	clientTLS.Certificates = []tls.Certificate{clientCert}

	r, err := router.New(router.Options{
		Realms: []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Authorizer: "com.example.authorize"},
		}}},
		AuthHeaders: []string{"user-agent"}, // the router-wide default, for /default
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Shutdown(context.Background()) })
	listen := func(network, addr string, wrap func(net.Listener) net.Listener, tr router.Transport) net.Listener {
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		go r.ServeTransport(wrap(ln), tr)
		return ln
	}
	backdoor := listen("unix", filepath.Join(t.TempDir(), "b.sock"), func(l net.Listener) net.Listener { return l }, anonymousTransport("backend"))
	ticket := []auth.MethodConfig{{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}}}
	front := listen("tcp", "127.0.0.1:0", func(l net.Listener) net.Listener { return tls.NewListener(l, serverTLS) }, router.Transport{
		WebSocket: map[string]router.WebSocketOptions{
			"/none":    {Auth: ticket, AuthHeaders: []string{}},
			"/default": {Auth: ticket},
			"/some":    {Auth: ticket, AuthHeaders: []string{"X-Forwarded-For", "USER-AGENT"}},
			"/cookie":  {Auth: ticket, AuthHeaders: []string{"cookie", "x-forwarded-for"}},
		},
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	backend, err := client.Dial(ctx, "unix://"+backdoor.Addr().String(), client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close(context.Background())
	authnSeen, authzSeen := make(chan wamp.Dict, 1), make(chan wamp.Dict, 1)
	register := func(uri wamp.URI, seen chan<- wamp.Dict, at int, answer any) {
		t.Helper()
		if _, err := backend.Register(ctx, uri, func(_ context.Context, inv *client.Invocation) (client.Result, error) {
			d, _ := inv.Args[at].(wamp.Dict)
			seen <- d
			return client.Result{Args: wamp.List{answer}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	register("com.example.authenticate", authnSeen, 2, wamp.Dict{"authrole": "user", "authid": "alice", "extra": wamp.Dict{"tenant": "t1"}, "expires_in": 3600})
	register("com.example.authorize", authzSeen, 0, true)
	if _, err := backend.Register(ctx, "public.echo", func(context.Context, *client.Invocation) (client.Result, error) { return client.Result{}, nil }); err != nil {
		t.Fatal(err)
	}

	lie := wamp.Dict{"authrole": "admin", "authid": "root", "authprovider": "static", "session": 1, "realm": "other",
		"transport": wamp.Dict{"peer": "tcp4:10.0.0.1:1", "http_headers_received": wamp.Dict{"x-admin": "yes"}}}
	sent := http.Header{
		"x-FORWARDED-for": {"10.1.2.3"}, // the case on the wire does not matter either
		"User-Agent":      {"evil/1"},
		"Cookie":          {"session=secret"},
		"Authorization":   {"Bearer secret"},
	}
	fingerprint := colonHex(sha256.Sum256(clientParsed.Raw))
	for path, want := range map[string]wamp.Dict{
		"/none":    {},
		"/default": {"user-agent": "evil/1"},
		"/some":    {"x-forwarded-for": "10.1.2.3", "user-agent": "evil/1"},
		"/cookie":  {"x-forwarded-for": "10.1.2.3", "cookie": "session=secret"},
	} {
		s, err := client.Dial(ctx, "wss://"+front.Addr().String()+path, client.Config{
			Realm: "realm1", AuthID: "mallory", AuthRole: "admin", AuthExtra: lie,
			Auth: []client.Authenticator{client.Ticket("pw")}, TLSConfig: clientTLS, HTTPHeader: sent,
		})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		authn := <-authnSeen
		if _, err := s.Call(ctx, "public.echo", nil, nil); err != nil {
			t.Fatalf("%s: call: %v", path, err)
		}
		authzS := <-authzSeen
		sid := s.ID()
		s.Close(ctx)

		// The authenticator: established facts, and the client's choices under client.
		checkKeys(t, path+" authenticator", authn, wamp.Dict{
			"authmethod": "ticket", "authprovider": "dynamic", "ticket": "pw",
			// Crossbar's names for what the client asked for, kept for its authenticators:
			"authid": "mallory", "authrole": "admin", "authextra": lie,
			"client": wamp.Dict{"realm": "realm1", "authid": "mallory", "authrole": "admin", "authextra": lie},
		})
		if id, _ := wamp.OptID(authn, "session"); id != sid {
			t.Errorf("%s: authenticator session %v, want %d", path, authn["session"], sid)
		}
		// The authorizer: only what the router established at the top.
		checkKeys(t, path+" authorizer", authzS, wamp.Dict{
			"realm": "realm1", "authid": "alice", "authrole": "user", "authmethod": "ticket", "authprovider": "dynamic",
			"authextra": wamp.Dict{"tenant": "t1"}, "client": wamp.Dict{"authextra": lie},
		})
		if id, _ := wamp.OptID(authzS, "session"); id != sid {
			t.Errorf("%s: authorizer session %v, want %d", path, authzS["session"], sid)
		}
		if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(authzS["expires_at"])); err != nil || time.Until(at) < 59*time.Minute || time.Until(at) > time.Hour {
			t.Errorf("%s: expires_at %v (%v), want in an hour", path, authzS["expires_at"], err)
		}
		for who, d := range map[string]wamp.Dict{"authenticator": authn, "authorizer": authzS} {
			tr, _ := wamp.OptDict(d, "transport")
			peer, _ := tr["peer"].(string)
			if !strings.HasPrefix(peer, "tcp4:127.0.0.1:") || tr["type"] != "tls" || tr["channel_framing"] != "websocket" {
				t.Errorf("%s %s: transport %v", path, who, tr)
			}
			if pc, _ := tr["peer_cert"].(wamp.Dict); pc["sha256"] != fingerprint {
				t.Errorf("%s %s: peer_cert %v, want sha256 %s", path, who, tr["peer_cert"], fingerprint)
			}
			if h, _ := tr["http_headers_received"].(wamp.Dict); !reflect.DeepEqual(h, want) {
				t.Errorf("%s %s: http_headers_received %v, want %v", path, who, tr["http_headers_received"], want)
			}
		}
	}
}

// checkKeys reports the keys of want that got lacks or holds otherwise.
func checkKeys(t *testing.T, what string, got, want wamp.Dict) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; !reflect.DeepEqual(normal(g), normal(w)) {
			t.Errorf("%s: %s = %#v, want %#v", what, k, g, w)
		}
	}
}

// normal maps decoded integers to int64, so that dicts compare alike
// whichever way a codec decoded them.
func normal(v any) any {
	switch v := v.(type) {
	case wamp.Dict:
		out := make(wamp.Dict, len(v))
		for k, e := range v {
			out[k] = normal(e)
		}
		return out
	case wamp.List:
		out := make(wamp.List, len(v))
		for i, e := range v {
			out[i] = normal(e)
		}
		return out
	}
	if n, ok := wamp.AsInt(v); ok {
		return n
	}
	return v
}

func colonHex(b [32]byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

// With static ticket auth the WELCOME authextra is the client's own,
// echoed (Crossbar's rule): the authorizer gets it under client only.
func TestBackendViewStaticEcho(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	joe := dialURL(t, front, "json")
	joe.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe", "authextra": wamp.Dict{"authrole": "admin"}})
	expect[*wamp.Challenge](joe)
	joe.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	if w := joe.welcomed(); !reflect.DeepEqual(w.Details["authextra"], wamp.Dict{"authrole": "admin"}) {
		t.Fatalf("WELCOME authextra %v: the static echo changed", w.Details["authextra"])
	}
	joe.send(&wamp.Call{Request: joe.next(), Options: wamp.Dict{}, Procedure: "public.echo"})
	session, _, _ := authorizeNext(t, backend, false)
	checkKeys(t, "authorizer", session, wamp.Dict{
		"authid": "joe", "authrole": "user", "authprovider": "static",
		"authextra": wamp.Dict{}, "client": wamp.Dict{"authextra": wamp.Dict{"authrole": "admin"}},
	})
	if _, ok := session["expires_at"]; ok {
		t.Errorf("expires_at %v for a session without expiry", session["expires_at"])
	}
	if h, _ := session["transport"].(wamp.Dict)["http_headers_received"]; h != nil {
		t.Errorf("RawSocket http_headers_received %v, want null", h)
	}
}

// A refresh moves the authorizer's expires_at with the session's expiry.
func TestBackendViewExpiresAtFollowsRefresh(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", CredentialRefresh: "com.example.refresh", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
			{Name: "user", Authorizer: "com.example.authorize"},
		}}}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}}))
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authenticate", wamp.Dict{})
	backend.register("com.example.refresh", wamp.Dict{})
	backend.register("com.example.authorize", wamp.Dict{})

	joe := loginDynamic(t, front, backend, "joe", wamp.Dict{"role": "user", "expires_in": 1.2})
	joe.welcomed()
	later := time.Now().Add(time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	inv := expect[*wamp.Invocation](backend) // refresh(session, authid), before anything is asked
	backend.send(&wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{wamp.Dict{"expires_at": later}}}})

	// The new expiry is stored once the router has read the answer: ask
	// until the authorizer sees it (or give up).
	deadline := time.Now().Add(5 * time.Second)
	for {
		req := joe.next()
		joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "app.x"})
		session, _, _ := authorizeNext(t, backend, false)
		joe.expectError(wamp.TypeCall, req, wamp.ErrNotAuthorized)
		if session["expires_at"] == later {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("expires_at %v after the refresh, want %s", session["expires_at"], later)
		}
	}
}

// Bad header names are refused where they are given: New for the router
// default, ServeTransport and WebSocketHandler for an endpoint's.
func TestAuthHeadersRefused(t *testing.T) {
	t.Parallel()
	_, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}, AuthHeaders: []string{"user agent"}})
	if err == nil || !strings.Contains(err.Error(), `AuthHeaders: websocket: auth headers: header name "user agent": character ' ' is not allowed`) {
		t.Errorf("New: %v", err)
	}
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	if _, err := r.WebSocketHandler(router.WebSocketOptions{AuthHeaders: []string{"x:y"}}); err == nil || !strings.Contains(err.Error(), `header name "x:y"`) {
		t.Errorf("WebSocketHandler: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = r.ServeTransport(ln, router.Transport{WebSocket: map[string]router.WebSocketOptions{"/ws": {AuthHeaders: []string{""}}}})
	if err == nil || !strings.Contains(err.Error(), "empty header name") {
		t.Errorf("ServeTransport: %v", err)
	}
}
