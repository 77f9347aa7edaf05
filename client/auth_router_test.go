package client_test

import (
	"context"
	"crypto/ed25519"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
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

// authRealm has one role, "user", allowed everything.
func authRealm(o *router.Options) {
	o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
		{Name: "user", Permissions: []authz.Permission{{URI: "*", Allow: authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}}}},
	}}}
}

func expectAbort(t *testing.T, err error, reason wamp.URI) {
	t.Helper()
	var ae *client.AbortError
	if !errors.As(err, &ae) || ae.Reason != reason {
		t.Fatalf("Dial error %v, want ABORT %s", err, reason)
	}
}

// Every static method through the Go client against the real router.
func TestClientStaticAuthMethods(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, authRealm)
	pub, priv, _ := ed25519.GenerateKey(nil)
	hash := routertest.CheapHash(t, "tkt")
	url := srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"t": {Ticket: hash, Role: "user"}}}},
		{Method: "wampcra", Type: "static", WAMPCRA: auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{
			"c":  {Secret: "pw", Role: "user"},
			"cs": {Secret: auth.DeriveKey("pw", "NaCl", 100, 32), Salt: "NaCl", Iterations: 100, KeyLen: 32, Role: "user"},
		}}},
		{Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
			"k": {AuthorizedKeys: []string{hex.EncodeToString(pub)}, Role: "user"},
		}}},
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, wrongKey, _ := ed25519.GenerateKey(nil)
	for _, c := range []struct {
		name   string
		authid string
		a      client.Authenticator
		ok     bool
	}{
		{"ticket", "t", client.Ticket("tkt"), true},
		{"ticket wrong", "t", client.Ticket("nope"), false},
		{"wampcra", "c", client.WAMPCRA("pw"), true},
		{"wampcra salted", "cs", client.WAMPCRA("pw"), true},
		{"wampcra wrong", "cs", client.WAMPCRA("pW"), false},
		{"wampcra unknown user", "zz", client.WAMPCRA("pw"), false},
		{"cryptosign", "", client.Cryptosign(priv, client.CryptosignOptions{}), true},
		{"cryptosign with authid", "k", client.Cryptosign(priv, client.CryptosignOptions{}), true},
		{"cryptosign unknown key", "", client.Cryptosign(wrongKey, client.CryptosignOptions{}), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := client.Dial(ctx, url, client.Config{Realm: "realm1", AuthID: c.authid, Auth: []client.Authenticator{c.a}})
			if !c.ok {
				expectAbort(t, err, wamp.ErrAuthenticationFailed)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			info := s.Info()
			if info.AuthRole != "user" || info.AuthMethod != c.a.Method() || info.AuthProvider != "static" {
				t.Errorf("WELCOME %+v", info)
			}
			if c.a.Method() == "cryptosign" && info.AuthID != "k" {
				t.Errorf("cryptosign authid %q, want k", info.AuthID)
			}
		})
	}
}

// Dynamic ticket and wampcra, with the authenticator written with the
// client's Registry and a typed handler, as a backend would.
func TestClientDynamicAuth(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		authRealm(o)
		o.Realms[0].Roles = append(o.Realms[0].Roles, authz.RoleConfig{Name: "backend", Permissions: []authz.Permission{{URI: "com.example.*", Allow: authz.Actions{Register: true}}}})
	})
	backdoor := srv.Serve(t, "unix", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}},
	}}})
	front := srv.Serve(t, "ws", router.Transport{WebSocket: map[string]router.WebSocketOptions{"/ws": {Auth: []auth.MethodConfig{
		{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}},
		{Method: "wampcra", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.authenticate"}},
	}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	reg := client.NewRegistry("com.example.")
	if err := reg.Procedure("authenticate", func(cc *client.CallContext, realm, authid string, details map[string]any) (map[string]any, error) {
		switch details["authmethod"] {
		case "ticket":
			if details["ticket"] == "good" {
				return map[string]any{"authrole": "user", "extra": map[string]any{"greeting": "hi " + authid}}, nil
			}
			return nil, &client.Error{URI: wamp.ErrAuthenticationFailed, Args: wamp.List{"bad ticket"}}
		case "wampcra":
			return map[string]any{"role": "user", "secret": "cra-secret"}, nil
		}
		return nil, errors.New("unexpected method")
	}); err != nil {
		t.Fatal(err)
	}
	backend, err := client.Dial(ctx, backdoor, client.Config{Realm: "realm1", Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close(ctx)

	s, err := client.Dial(ctx, front, client.Config{Realm: "realm1", AuthID: "joe", Auth: []client.Authenticator{client.Ticket("good")}})
	if err != nil {
		t.Fatal(err)
	}
	if info := s.Info(); info.AuthRole != "user" || info.AuthProvider != "dynamic" || info.AuthExtra["greeting"] != "hi joe" {
		t.Errorf("WELCOME %+v", info)
	}
	s.Close(ctx)
	_, err = client.Dial(ctx, front, client.Config{Realm: "realm1", AuthID: "joe", Auth: []client.Authenticator{client.Ticket("bad")}})
	expectAbort(t, err, wamp.ErrAuthenticationFailed)
	var ae *client.AbortError
	if errors.As(err, &ae) && !strings.Contains(ae.Message, "bad ticket") {
		t.Errorf("ABORT message %q, want the authenticator's", ae.Message)
	}
	s, err = client.Dial(ctx, front, client.Config{Realm: "realm1", AuthID: "ann", Auth: []client.Authenticator{client.WAMPCRA("cra-secret")}})
	if err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	_, err = client.Dial(ctx, front, client.Config{Realm: "realm1", AuthID: "ann", Auth: []client.Authenticator{client.WAMPCRA("other")}})
	expectAbort(t, err, wamp.ErrAuthenticationFailed)
}

// TLS client certificates and cryptosign with channel binding, over a
// real TLS connection (TLS 1.3: tls-exporter; TLS 1.2: tls-unique).
func TestClientTLSAuth(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	clientCert, parsed := testcert.Certificate(t, "device-7")
	sum := sha1.Sum(parsed.Raw)
	pub, priv, _ := ed25519.GenerateKey(nil)

	r, err := router.New(func() router.Options { var o router.Options; authRealm(&o); return o }())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	serverTLS := certs.Server.Clone()
	serverTLS.ClientAuth = tls.VerifyClientCertIfGiven
	serverTLS.ClientCAs = certs.Client.RootCAs
	serverTLS.ClientCAs.AddCert(parsed)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.ServeTransport(tls.NewListener(ln, serverTLS), router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "tls", Type: "static", TLS: auth.TLSConfig{Principals: map[string]auth.TLSPrincipal{"device-7": {CertificateSHA1: hex.EncodeToString(sum[:]), Role: "user"}}}},
		{Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{"k": {AuthorizedKeys: []string{hex.EncodeToString(pub)}, Role: "user"}}}},
	}}})
	url := "tls://" + ln.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	withCert := certs.Client.Clone()
	withCert.Certificates = []tls.Certificate{clientCert}
	s, err := client.Dial(ctx, url, client.Config{Realm: "realm1", TLSConfig: withCert, Auth: []client.Authenticator{client.TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	if info := s.Info(); info.AuthID != "device-7" || info.AuthMethod != "tls" {
		t.Errorf("WELCOME %+v", info)
	}
	s.Close(ctx)
	_, err = client.Dial(ctx, url, client.Config{Realm: "realm1", TLSConfig: certs.Client, Auth: []client.Authenticator{client.TLS()}})
	expectAbort(t, err, wamp.ErrAuthenticationFailed)

	for _, c := range []struct {
		version uint16
		binding string
	}{{tls.VersionTLS13, "tls-exporter"}, {tls.VersionTLS12, "tls-unique"}} {
		cfg := certs.Client.Clone()
		cfg.MaxVersion = c.version
		s, err := client.Dial(ctx, url, client.Config{Realm: "realm1", TLSConfig: cfg,
			Auth: []client.Authenticator{client.Cryptosign(priv, client.CryptosignOptions{ChannelBinding: c.binding})}})
		if err != nil {
			t.Fatalf("%s: %v", c.binding, err)
		}
		s.Close(ctx)
	}
}
