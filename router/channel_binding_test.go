package router_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/internal/testcert"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// relayed signs a cryptosign challenge bound to another channel: what a man
// in the middle gets from relaying the real client's signature from its own
// TLS connection. It announces the binding like the real client.
type relayed struct {
	key     ed25519.PrivateKey
	binding string
}

func (relayed) Method() string { return auth.MethodCryptosign }
func (r relayed) HelloExtra() wamp.Dict {
	return wamp.Dict{"pubkey": hex.EncodeToString(r.key.Public().(ed25519.PublicKey)), "channel_binding": r.binding}
}
func (r relayed) Authenticate(_ context.Context, c *client.Challenge) (string, wamp.Dict, error) {
	ch, _ := c.Extra["challenge"].(string)
	other := make([]byte, 32)
	rand.Read(other)
	sig, err := auth.SignCryptosign(r.key, ch, other)
	return sig, wamp.Dict{}, err
}

// Cryptosign with tls-exporter channel binding over real TLS 1.3 sockets
// (wss:// and tls://): the bound signature is admitted, a signature bound
// to another channel is refused, and tls-unique on TLS 1.3 is refused at
// HELLO with a message that names tls-exporter (issue 14 part 2).
func TestCryptosignTLSExporter(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown(context.Background())
	methods := []auth.MethodConfig{{Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{
		Principals: map[string]auth.CryptosignPrincipal{"device": {AuthorizedKeys: []string{hex.EncodeToString(pub)}, Role: "user"}},
	}}}
	serve := func(tr router.Transport) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		server := certs.Server.Clone()
		server.MinVersion = tls.VersionTLS13
		go r.ServeTransport(tls.NewListener(ln, server), tr)
		return ln.Addr().String()
	}
	urls := []string{
		"wss://" + serve(router.Transport{WebSocket: map[string]router.WebSocketOptions{"/ws": {Auth: methods}}}) + "/ws",
		"tls://" + serve(router.Transport{RawSocket: &router.RawSocketOptions{Auth: methods}}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range urls {
		s, err := client.Dial(ctx, u, client.Config{Realm: "realm1", TLSConfig: certs.Client,
			Auth: []client.Authenticator{client.Cryptosign(priv, client.CryptosignOptions{ChannelBinding: client.ChannelBindingTLSExporter})}})
		if err != nil {
			t.Fatalf("%s: tls-exporter: %v", u, err)
		}
		if info := s.Info(); info.AuthID != "device" || info.AuthMethod != "cryptosign" {
			t.Errorf("%s: WELCOME %+v", u, info)
		}
		s.Close(ctx)

		_, err = client.Dial(ctx, u, client.Config{Realm: "realm1", TLSConfig: certs.Client,
			Auth: []client.Authenticator{relayed{priv, "tls-exporter"}}})
		var ae *client.AbortError
		if !errors.As(err, &ae) || ae.Reason != wamp.ErrAuthenticationFailed {
			t.Fatalf("%s: a signature bound to another channel: %v, want ABORT authentication_failed", u, err)
		}

		_, err = client.Dial(ctx, u, client.Config{Realm: "realm1", TLSConfig: certs.Client,
			Auth: []client.Authenticator{relayed{priv, "tls-unique"}}})
		if !errors.As(err, &ae) || ae.Reason != wamp.ErrAuthenticationFailed || !strings.Contains(ae.Message, "TLS 1.3 has no tls-unique, use tls-exporter") {
			t.Fatalf("%s: tls-unique on TLS 1.3: %v", u, err)
		}
	}
}
