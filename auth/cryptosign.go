package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Channel binding types for cryptosign (HELLO authextra.channel_binding).
const (
	// ChannelBindingTLSUnique binds to SHA-256 of the TLS Finished message
	// (tls.ConnectionState.TLSUnique); TLS 1.2 and earlier only. This is
	// what Crossbar and Autobahn implement.
	ChannelBindingTLSUnique = "tls-unique"
	// ChannelBindingTLSExporter binds to 32 bytes of RFC 9266 keying
	// material (label "EXPORTER-Channel-Binding"); TLS 1.3, or TLS 1.2
	// with extended master secret.
	ChannelBindingTLSExporter = "tls-exporter"
)

// CryptosignPrincipal is one static cryptosign user.
type CryptosignPrincipal struct {
	// AuthorizedKeys are the principal's Ed25519 public keys, 64 hex
	// digits each (Crossbar key "authorized_keys"). At least one; a key
	// may belong to one principal only.
	AuthorizedKeys []string
	// Role is the authrole granted. Empty: the session is refused with
	// wamp.error.no_such_role after a valid signature.
	Role string
	// Realm, if set, is the realm the session joins instead of the one it
	// asked for.
	Realm wamp.URI
}

// CryptosignConfig configures static cryptosign.
type CryptosignConfig struct {
	// Principals by authid (Crossbar key "principals").
	Principals map[string]CryptosignPrincipal
}

// Cryptosign is the static "cryptosign" (WAMP-Cryptosign, Ed25519)
// authenticator. It is safe for concurrent use.
//
// The client sends its public key as authextra.pubkey and may leave out
// the authid, which is then the principal that owns the key. A key no
// principal owns (or owned by another authid than the one asked for) still
// gets a CHALLENGE, and its AUTHENTICATE fails with Denied like a bad
// signature.
//
// Channel binding: a client asking for "tls-unique" or "tls-exporter"
// gets it when the connection supports that type; otherwise the HELLO is
// refused (wamp.error.authentication_failed, "channel binding ...
// unavailable on this connection"). The spec allows a router to go on
// without binding and leaves the check to the client; we fail closed
// because a client that asked for binding relies on it, and an unknown
// type gets the same refusal, as in Crossbar. Router authentication
// (authextra.challenge signed with a router key) is not implemented; the
// client's challenge is ignored.
type Cryptosign struct {
	principals map[string]CryptosignPrincipal
	owner      map[[ed25519.PublicKeySize]byte]string
}

// NewCryptosign builds a static cryptosign authenticator. Errors name the
// field, e.g. `principals["dave"].authorized_keys[0]: must be ...`.
func NewCryptosign(cfg CryptosignConfig) (*Cryptosign, error) {
	a := &Cryptosign{
		principals: make(map[string]CryptosignPrincipal, len(cfg.Principals)),
		owner:      map[[ed25519.PublicKeySize]byte]string{},
	}
	var errs []error
	for _, id := range sortedKeys(cfg.Principals) {
		p := cfg.Principals[id]
		path := fmt.Sprintf("principals[%q]", id)
		if id == "" {
			errs = append(errs, fmt.Errorf("%s: empty authid", path))
			continue
		}
		if len(p.AuthorizedKeys) == 0 {
			errs = append(errs, fmt.Errorf("%s.authorized_keys: empty", path))
		}
		for i, k := range p.AuthorizedKeys {
			b, err := decodeHexKey(k)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.authorized_keys[%d]: %w", path, i, err))
				continue
			}
			key := [ed25519.PublicKeySize]byte(b)
			if other, dup := a.owner[key]; dup && other != id {
				errs = append(errs, fmt.Errorf("%s.authorized_keys[%d]: key is also authorized for %q: a key must identify one principal", path, i, other))
				continue
			}
			a.owner[key] = id
		}
		a.principals[id] = p
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("auth: cryptosign: %w", errors.Join(errs...))
	}
	return a, nil
}

// Method returns "cryptosign".
func (a *Cryptosign) Method() string { return MethodCryptosign }

// Hello checks the channel binding and the public key and sends the
// challenge.
func (a *Cryptosign) Hello(_ context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error) {
	channelID, binding, err := channelBinding(req)
	if err != nil {
		return nil, nil, nil, err
	}
	pub, err := clientPubkey(req.AuthExtra)
	if err != nil {
		return nil, nil, nil, err
	}
	if pub == nil {
		return nil, nil, nil, &Error{Reason: wamp.ErrAuthenticationFailed,
			Message: "cryptosign authentication needs authextra.pubkey: an Ed25519 public key as 64 hex digits"}
	}
	owner, ok := a.owner[[ed25519.PublicKeySize]byte(pub)]
	authid := req.AuthID
	if authid == "" {
		authid = owner
	}
	known := ok && owner == authid
	p := a.principals[authid]
	realm := req.Realm
	if p.Realm != "" {
		realm = p.Realm
	}
	id := Identity{Realm: realm, AuthID: authid, AuthRole: p.Role, AuthMethod: MethodCryptosign, AuthProvider: ProviderStatic}
	ch, pend := newCryptosignPending(id, pub, channelID, binding, known)
	return nil, ch, pend, nil
}

// clientPubkey reads authextra.pubkey: nil without one, an *Error if it is
// malformed.
func clientPubkey(extra wamp.Dict) ([]byte, error) {
	v, present := extra["pubkey"]
	if !present || v == nil {
		return nil, nil
	}
	s, ok := v.(string)
	if !ok {
		return nil, &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authextra.pubkey must be a string of 64 hex digits, got " + describe(v)}
	}
	b, err := decodeHexKey(s)
	if err != nil {
		return nil, &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authextra.pubkey " + err.Error()}
	}
	return b, nil
}

// channelBinding reads authextra.channel_binding and computes the channel
// id. It returns the binding type for CHALLENGE.extra (nil for none).
func channelBinding(req *Request) ([]byte, any, error) {
	v, present := req.AuthExtra["channel_binding"]
	if !present || v == nil {
		return nil, nil, nil
	}
	typ, ok := v.(string)
	if !ok {
		return nil, nil, &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authextra.channel_binding must be a string or null, got " + describe(v)}
	}
	id, err := ChannelID(req.Transport.TLS, typ)
	if err != nil {
		return nil, nil, err
	}
	return id, typ, nil
}

// ChannelID computes the 32-byte channel id of a TLS connection for a
// binding type (ChannelBindingTLSUnique or ChannelBindingTLSExporter), or
// an *Error saying why it is unavailable. Router and client use it alike.
func ChannelID(cs *tls.ConnectionState, typ string) ([]byte, error) {
	unavailable := func(why string) error {
		return &Error{Reason: wamp.ErrAuthenticationFailed, Message: "channel binding " + typ + " unavailable on this connection: " + why}
	}
	switch typ {
	case ChannelBindingTLSUnique:
		switch {
		case cs == nil:
			return nil, unavailable("not TLS")
		case cs.Version > tls.VersionTLS12:
			return nil, unavailable("TLS 1.3 has no tls-unique, use tls-exporter")
		case len(cs.TLSUnique) == 0:
			return nil, unavailable("no TLS Finished message recorded (resumed session without extended master secret)")
		}
		sum := sha256.Sum256(cs.TLSUnique)
		return sum[:], nil
	case ChannelBindingTLSExporter:
		if cs == nil {
			return nil, unavailable("not TLS")
		}
		b, err := exportChannelBinding(cs)
		if err != nil {
			return nil, unavailable(err.Error())
		}
		return b, nil
	}
	return nil, &Error{Reason: wamp.ErrAuthenticationFailed,
		Message: fmt.Sprintf("unsupported channel binding %q (supported: %s, %s)", typ, ChannelBindingTLSUnique, ChannelBindingTLSExporter)}
}

// exportChannelBinding returns the RFC 9266 tls-exporter value. A
// ConnectionState not produced by crypto/tls (built by hand) has no
// exporter and makes ExportKeyingMaterial panic; that is reported as an
// error instead.
func exportChannelBinding(cs *tls.ConnectionState) (b []byte, err error) {
	defer func() {
		if recover() != nil {
			b, err = nil, errors.New("the TLS state has no keying material exporter")
		}
	}()
	return cs.ExportKeyingMaterial("EXPORTER-Channel-Binding", nil, 32)
}

// newCryptosignPending makes a random challenge and the Pending that
// checks it against pub. With known false it always refuses.
func newCryptosignPending(id Identity, pub, channelID []byte, binding any, known bool) (*wamp.Challenge, *cryptosignPending) {
	var challenge [32]byte
	rand.Read(challenge[:])
	want := challenge
	for i := range channelID {
		want[i] ^= channelID[i]
	}
	return &wamp.Challenge{AuthMethod: MethodCryptosign, Extra: wamp.Dict{
			"challenge":       hex.EncodeToString(challenge[:]),
			"channel_binding": binding,
		}},
		&cryptosignPending{id: id, pub: pub, want: want, known: known}
}

// cryptosignPending checks one cryptosign signature.
type cryptosignPending struct {
	id    Identity
	pub   []byte
	want  [32]byte // challenge XOR channel id
	known bool
	used  atomic.Bool
}

// Authenticate verifies hex(signature || message): 96 bytes, message equal
// to the challenge (XOR channel id), signature valid for the key.
func (p *cryptosignPending) Authenticate(_ context.Context, a *wamp.Authenticate) (*Identity, error) {
	if p.used.Swap(true) {
		return nil, errAnswered
	}
	b, err := hex.DecodeString(a.Signature)
	if err != nil || len(b) != ed25519.SignatureSize+32 {
		return nil, &Error{Reason: wamp.ErrAuthenticationFailed,
			Message: "cryptosign signature must be 192 hex digits (64-byte signature then the 32-byte message)"}
	}
	msg := b[ed25519.SignatureSize:]
	msgOK := subtle.ConstantTimeCompare(msg, p.want[:]) == 1
	sigOK := len(p.pub) == ed25519.PublicKeySize && ed25519.Verify(p.pub, msg, b[:ed25519.SignatureSize])
	if !msgOK || !sigOK || !p.known {
		return nil, Denied()
	}
	if p.id.AuthRole == "" {
		return nil, noRole(p.id.AuthID)
	}
	id := p.id
	return &id, nil
}

// GenerateKey makes a new Ed25519 key pair for cryptosign and returns the
// public key and the private key's 32-byte seed, both as hex (64 digits).
// The public key goes into a principal's authorized_keys; the seed is what
// Autobahn and ParsePrivateKey load. It cannot fail: crypto/rand does not
// (since Go 1.24).
func GenerateKey() (publicHex, privateHex string) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	return hex.EncodeToString(pub), hex.EncodeToString(priv.Seed())
}

// ParsePrivateKey parses an Ed25519 private key given as hex: the 32-byte
// seed (64 digits, as GenerateKey writes it) or the 64-byte seed||public
// form (128 digits). Surrounding white space is ignored.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("auth: private key is not hex: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if subtle.ConstantTimeCompare(k, b) != 1 {
			return nil, errors.New("auth: private key: public half does not match the seed")
		}
		return k, nil
	}
	return nil, fmt.Errorf("auth: private key has %d bytes, want %d (seed) or %d", len(b), ed25519.SeedSize, ed25519.PrivateKeySize)
}

// SignCryptosign computes a client's AUTHENTICATE signature for a
// cryptosign challenge (64 hex digits from CHALLENGE.extra.challenge):
// hex(ed25519_signature(m) || m) with m the challenge bytes, XORed with the
// 32-byte channelID when channel binding is in use (nil for none).
func SignCryptosign(priv ed25519.PrivateKey, challengeHex string, channelID []byte) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("auth: cryptosign: private key has %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	m, err := hex.DecodeString(challengeHex)
	if err != nil || len(m) != 32 {
		return "", fmt.Errorf("auth: cryptosign: challenge must be 32 bytes as 64 hex digits, got %q", challengeHex)
	}
	if channelID != nil {
		if len(channelID) != 32 {
			return "", fmt.Errorf("auth: cryptosign: channel id must be 32 bytes, got %d", len(channelID))
		}
		for i := range m {
			m[i] ^= channelID[i]
		}
	}
	sig := ed25519.Sign(priv, m)
	return hex.EncodeToString(append(sig, m...)), nil
}
