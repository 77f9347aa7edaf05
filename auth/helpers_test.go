package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// selfSigned makes a self-signed ECDSA certificate for cn.
func selfSigned(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Tollgate Test", "Second Org"}, Country: []string{"DE"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// tlsStates runs a real TLS handshake over 127.0.0.1 with version at most
// maxVersion and returns the server's and the client's connection state.
// clientCert may be nil (no client certificate).
func tlsStates(t testing.TB, maxVersion uint16, clientCert *tls.Certificate) (server, client tls.ConnectionState) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverCfg := &tls.Config{
		Certificates: []tls.Certificate{selfSigned(t, "server")},
		ClientAuth:   tls.RequestClientCert,
		MaxVersion:   maxVersion,
	}
	type result struct {
		conn *tls.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		tc := tls.Server(c, serverCfg)
		err = tc.HandshakeContext(context.Background())
		done <- result{tc, err}
	}()
	clientCfg := &tls.Config{InsecureSkipVerify: true, MaxVersion: maxVersion} // test peer, self-signed
	if clientCert != nil {
		clientCfg.Certificates = []tls.Certificate{*clientCert}
	}
	cc, err := tls.Dial("tcp", ln.Addr().String(), clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() { r.conn.Close() })
	return r.conn.ConnectionState(), cc.ConnectionState()
}

// asAuthError returns err as *auth.Error or fails.
func asAuthError(t testing.TB, err error) *auth.Error {
	t.Helper()
	var ae *auth.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *auth.Error", err, err)
	}
	return ae
}

// wantDenied checks err is exactly auth.Denied().
func wantDenied(t testing.TB, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted, want Denied")
	}
	if ae := asAuthError(t, err); !reflect.DeepEqual(ae, auth.Denied()) {
		t.Fatalf("error = %#v, want Denied %#v", ae, auth.Denied())
	}
}

// wantError checks err is an *auth.Error with reason and message.
func wantError(t testing.TB, err error, reason wamp.URI, message string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s %q", reason, message)
	}
	ae := asAuthError(t, err)
	if ae.Reason != reason || ae.Message != message {
		t.Fatalf("error = %s %q, want %s %q", ae.Reason, ae.Message, reason, message)
	}
}

// challengeOf runs Hello and expects a challenge.
func challengeOf(t testing.TB, a auth.Authenticator, req *auth.Request) (*wamp.Challenge, auth.Pending) {
	t.Helper()
	id, ch, p, err := a.Hello(context.Background(), req)
	if err != nil {
		t.Fatalf("Hello: %v", err)
	}
	if id != nil || ch == nil || p == nil {
		t.Fatalf("Hello = %v, %v, %v; want a challenge and a pending", id, ch, p)
	}
	if ch.AuthMethod != a.Method() {
		t.Fatalf("challenge method %q, want %q", ch.AuthMethod, a.Method())
	}
	return ch, p
}

func authenticate(p auth.Pending, sig string) (*auth.Identity, error) {
	return p.Authenticate(context.Background(), &wamp.Authenticate{Signature: sig, Extra: wamp.Dict{}})
}
