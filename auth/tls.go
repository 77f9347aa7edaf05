package auth

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TLSPrincipal is one static TLS client-certificate user. Exactly one of
// CertificateSHA1 and CertificateSHA256 is set.
type TLSPrincipal struct {
	// CertificateSHA1 is the SHA-1 fingerprint of the client certificate
	// (DER), hex with or without colons, any case (Crossbar key
	// "certificate-sha1"; `openssl x509 -fingerprint -sha1` prints it).
	CertificateSHA1 string
	// CertificateSHA256 is the SHA-256 fingerprint, same format
	// ("certificate-sha256"). Prefer it to SHA-1.
	CertificateSHA256 string
	// Role is the authrole granted. Empty: the session is refused with
	// wamp.error.no_such_role.
	Role string
}

// TLSConfig configures static TLS client-certificate authentication.
type TLSConfig struct {
	// Principals by authid (Crossbar key "principals").
	Principals map[string]TLSPrincipal
}

// TLS is the static "tls" authenticator: it admits a client at HELLO when
// the TLS client certificate's fingerprint belongs to a principal. It is
// safe for concurrent use.
//
// The client must still offer "tls" in authmethods. If it sends an authid,
// it must be the certificate's principal. Pinning a fingerprint is sound
// even when the listener does not verify client certificates against a CA,
// because the TLS handshake proves the client holds the certificate's
// private key; the listener must request a client certificate, though.
type TLS struct {
	principals map[string]TLSPrincipal
	// byPrint maps a raw fingerprint (20 bytes SHA-1 or 32 bytes SHA-256,
	// as a string) to its authid; the lengths keep the two kinds apart.
	byPrint map[string]string
}

// NewTLS builds a static TLS client-certificate authenticator. Errors name
// the field, e.g. `principals["svc"].certificate-sha1: must be 20 bytes ...`.
func NewTLS(cfg TLSConfig) (*TLS, error) {
	a := &TLS{
		principals: make(map[string]TLSPrincipal, len(cfg.Principals)),
		byPrint:    make(map[string]string, len(cfg.Principals)),
	}
	var errs []error
	for _, id := range sortedKeys(cfg.Principals) {
		p := cfg.Principals[id]
		path := fmt.Sprintf("principals[%q]", id)
		switch {
		case id == "":
			errs = append(errs, fmt.Errorf("%s: empty authid", path))
		case p.CertificateSHA1 == "" && p.CertificateSHA256 == "":
			errs = append(errs, fmt.Errorf("%s: needs certificate-sha1 or certificate-sha256", path))
		case p.CertificateSHA1 != "" && p.CertificateSHA256 != "":
			errs = append(errs, fmt.Errorf("%s: give certificate-sha1 or certificate-sha256, not both", path))
		default:
			field, fp, size := "certificate-sha256", p.CertificateSHA256, sha256.Size
			if p.CertificateSHA1 != "" {
				field, fp, size = "certificate-sha1", p.CertificateSHA1, sha1.Size
			}
			b, err := parseFingerprint(fp, size)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.%s: %w", path, field, err))
				continue
			}
			if other, dup := a.byPrint[string(b)]; dup {
				errs = append(errs, fmt.Errorf("%s.%s: also the certificate of %q: a certificate must identify one principal", path, field, other))
				continue
			}
			a.byPrint[string(b)] = id
			a.principals[id] = p
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("auth: tls: %w", errors.Join(errs...))
	}
	return a, nil
}

// Method returns "tls".
func (a *TLS) Method() string { return MethodTLS }

// Hello admits the client whose certificate belongs to a principal, and
// refuses with Denied otherwise (no certificate, unknown certificate, or an
// authid that is not the certificate's).
func (a *TLS) Hello(_ context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error) {
	cs := req.Transport.TLS
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return nil, nil, nil, Denied()
	}
	raw := cs.PeerCertificates[0].Raw
	s256 := sha256.Sum256(raw)
	authid, ok := a.byPrint[string(s256[:])]
	if !ok {
		s1 := sha1.Sum(raw)
		authid, ok = a.byPrint[string(s1[:])]
	}
	if !ok || req.AuthID != "" && req.AuthID != authid {
		return nil, nil, nil, Denied()
	}
	p := a.principals[authid]
	if p.Role == "" {
		return nil, nil, nil, noRole(authid)
	}
	return &Identity{
		Realm: req.Realm, AuthID: authid, AuthRole: p.Role,
		AuthMethod: MethodTLS, AuthProvider: ProviderStatic,
	}, nil, nil, nil
}
