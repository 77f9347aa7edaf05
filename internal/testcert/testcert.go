// Package testcert makes throwaway TLS certificates for tests: a
// self-signed server certificate for 127.0.0.1/localhost and, on request,
// client certificates signed by the same key.
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// Pair is a server certificate and a client configuration that trusts it.
type Pair struct {
	// Server serves the certificate (tls.VersionTLS12 and up).
	Server *tls.Config
	// Client trusts the server certificate (ServerName 127.0.0.1).
	Client *tls.Config
	// Cert is the parsed server certificate.
	Cert *x509.Certificate
}

// New returns a fresh self-signed certificate pair; it fails t on error.
func New(t testing.TB) *Pair {
	t.Helper()
	cert, parsed := Certificate(t, "127.0.0.1")
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	return &Pair{
		Server: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		Client: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Cert:   parsed,
	}
}

// Certificate returns a self-signed ECDSA certificate with common name cn,
// valid for 127.0.0.1, ::1 and localhost, usable for server and client auth.
func Certificate(t testing.TB, cn string) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testcert: %v", err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Tollgate tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testcert: %v", err)
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testcert: %v", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: parsed}, parsed
}
