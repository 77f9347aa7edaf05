package client

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Authenticator is one authentication method the client offers in HELLO
// (Config.Auth). Anonymous, Ticket, WAMPCRA and Cryptosign are provided;
// implement the interface for others.
//
// Implementations must be safe for concurrent use: a reconnecting session
// calls them again for every join.
type Authenticator interface {
	// Method is the authmethod name, e.g. "ticket".
	Method() string
	// HelloExtra returns entries this method adds to HELLO.Details.authextra
	// (cryptosign's pubkey), or nil.
	HelloExtra() wamp.Dict
	// Authenticate answers a CHALLENGE for this method with the signature
	// and extra of the AUTHENTICATE message.
	Authenticate(ctx context.Context, c *Challenge) (signature string, extra wamp.Dict, err error)
}

// Challenge is a CHALLENGE from the router plus what an Authenticator may
// need to answer it.
type Challenge struct {
	Method string
	Extra  wamp.Dict
	// TLS is the connection's TLS state, nil without TLS (for channel binding).
	TLS *tls.ConnectionState
}

// Anonymous offers the "anonymous" method. It is what a Config without Auth
// does implicitly.
func Anonymous() Authenticator { return anonymous{} }

type anonymous struct{}

func (anonymous) Method() string        { return "anonymous" }
func (anonymous) HelloExtra() wamp.Dict { return nil }
func (anonymous) Authenticate(context.Context, *Challenge) (string, wamp.Dict, error) {
	return "", nil, errors.New("client: anonymous authentication got a challenge")
}

// TLS offers the "tls" method: the router identifies the client by the
// certificate it presented in the TLS handshake (Config.TLSConfig's
// Certificates), without a challenge.
func TLS() Authenticator { return tlsAuth{} }

type tlsAuth struct{}

func (tlsAuth) Method() string        { return "tls" }
func (tlsAuth) HelloExtra() wamp.Dict { return nil }
func (tlsAuth) Authenticate(context.Context, *Challenge) (string, wamp.Dict, error) {
	return "", nil, errors.New("client: tls authentication got a challenge")
}

// Ticket offers the "ticket" method with a fixed ticket (a password or
// token). Config.AuthID is required by routers for ticket auth. Send
// tickets over TLS only.
func Ticket(ticket string) Authenticator { return ticketAuth{ticket: ticket} }

type ticketAuth struct{ ticket string }

func (ticketAuth) Method() string        { return "ticket" }
func (ticketAuth) HelloExtra() wamp.Dict { return nil }
func (t ticketAuth) Authenticate(context.Context, *Challenge) (string, wamp.Dict, error) {
	return t.ticket, wamp.Dict{}, nil
}

// WAMPCRA offers the "wampcra" challenge-response method with a shared
// secret. When the challenge carries a salt, the key is derived with
// PBKDF2-HMAC-SHA256 as the spec describes (wamp-spec.md §15.4).
func WAMPCRA(secret string) Authenticator { return craAuth{secret: secret} }

type craAuth struct{ secret string }

func (craAuth) Method() string        { return "wampcra" }
func (craAuth) HelloExtra() wamp.Dict { return nil }
func (a craAuth) Authenticate(_ context.Context, c *Challenge) (string, wamp.Dict, error) {
	challenge, ok := wamp.OptString(c.Extra, "challenge")
	if !ok {
		return "", nil, errors.New("client: wampcra challenge without a challenge string")
	}
	key := []byte(a.secret)
	if salt, ok := wamp.OptString(c.Extra, "salt"); ok && salt != "" {
		iterations, keylen := int64(1000), int64(32)
		if wamp.Has(c.Extra, "iterations") {
			if iterations, ok = wamp.OptInt(c.Extra, "iterations"); !ok || iterations < 1 || iterations > 10_000_000 {
				return "", nil, fmt.Errorf("client: wampcra challenge has invalid iterations %v", c.Extra["iterations"])
			}
		}
		if wamp.Has(c.Extra, "keylen") {
			if keylen, ok = wamp.OptInt(c.Extra, "keylen"); !ok || keylen < 1 || keylen > 1024 {
				return "", nil, fmt.Errorf("client: wampcra challenge has invalid keylen %v", c.Extra["keylen"])
			}
		}
		derived := auth.DeriveKey(a.secret, salt, int(iterations), int(keylen))
		if derived == "" {
			return "", nil, errors.New("client: wampcra key derivation failed")
		}
		key = []byte(derived)
	}
	return auth.SignWAMPCRA(key, challenge), wamp.Dict{}, nil
}

// Channel binding types for Cryptosign.
const (
	ChannelBindingNone        = ""
	ChannelBindingTLSUnique   = auth.ChannelBindingTLSUnique
	ChannelBindingTLSExporter = auth.ChannelBindingTLSExporter
)

// CryptosignOptions configures Cryptosign.
type CryptosignOptions struct {
	// ChannelBinding is "", "tls-unique" (SHA-256 of the TLS Finished
	// message; TLS 1.2 only) or "tls-exporter" (RFC 9266 keying material).
	// With a binding the signed message is challenge XOR channel id, which
	// ties the authentication to this TLS connection.
	ChannelBinding string
}

// Cryptosign offers the "cryptosign" method with an Ed25519 key. The public
// key goes into HELLO.Details.authextra.pubkey; Config.AuthID is optional.
func Cryptosign(key ed25519.PrivateKey, opts CryptosignOptions) Authenticator {
	return cryptosignAuth{key: key, opts: opts}
}

type cryptosignAuth struct {
	key  ed25519.PrivateKey
	opts CryptosignOptions
}

func (cryptosignAuth) Method() string { return "cryptosign" }

func (a cryptosignAuth) HelloExtra() wamp.Dict {
	if len(a.key) != ed25519.PrivateKeySize {
		return nil
	}
	d := wamp.Dict{"pubkey": hex.EncodeToString(a.key.Public().(ed25519.PublicKey))}
	if a.opts.ChannelBinding != "" {
		d["channel_binding"] = a.opts.ChannelBinding
	}
	return d
}

func (a cryptosignAuth) Authenticate(_ context.Context, c *Challenge) (string, wamp.Dict, error) {
	if len(a.key) != ed25519.PrivateKeySize {
		return "", nil, fmt.Errorf("client: cryptosign key has %d bytes, want %d", len(a.key), ed25519.PrivateKeySize)
	}
	hexChallenge, ok := wamp.OptString(c.Extra, "challenge")
	if !ok {
		return "", nil, errors.New("client: cryptosign challenge without a challenge string")
	}
	var channelID []byte
	if a.opts.ChannelBinding != "" {
		// The router may ignore a binding it does not support; we only sign
		// with one when it confirms the same type.
		got, _ := wamp.OptString(c.Extra, "channel_binding")
		if got != a.opts.ChannelBinding {
			return "", nil, fmt.Errorf("client: router did not accept channel binding %q (got %q)", a.opts.ChannelBinding, got)
		}
		var err error
		if channelID, err = auth.ChannelID(c.TLS, a.opts.ChannelBinding); err != nil {
			var ae *auth.Error
			if errors.As(err, &ae) {
				return "", nil, errors.New("client: " + ae.Message)
			}
			return "", nil, fmt.Errorf("client: %w", err)
		}
	}
	sig, err := auth.SignCryptosign(a.key, hexChallenge, channelID)
	if err != nil {
		return "", nil, fmt.Errorf("client: %w", err)
	}
	return sig, wamp.Dict{}, nil
}
