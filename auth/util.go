package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// authIDAlphabet has 32 letters and digits without the look-alikes I, O,
// 0 and 1, so a random authid can be read aloud and typed back.
const authIDAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// RandomAuthID returns a random authid in the Crossbar style: six groups of
// four characters joined by dashes, e.g. "K7QW-3MZC-T9HX-RB2E-VNAP-6YDU"
// (120 random bits).
func RandomAuthID() string {
	var raw [24]byte
	rand.Read(raw[:]) // never fails (crypto/rand since Go 1.24)
	b := make([]byte, 0, 29)
	for i, r := range raw {
		if i > 0 && i%4 == 0 {
			b = append(b, '-')
		}
		b = append(b, authIDAlphabet[r&31])
	}
	return string(b)
}

// equalSecrets compares two secrets in time independent of their contents
// and lengths: both are hashed first, so the comparison is always over 32
// bytes.
func equalSecrets(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// copyDict returns a shallow copy of d (nil for an empty or nil d), so an
// Identity never aliases the client's HELLO details.
func copyDict(d wamp.Dict) wamp.Dict {
	if len(d) == 0 {
		return nil
	}
	out := make(wamp.Dict, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}

// decodeHexKey parses a hex Ed25519 public key (64 hex digits, any case).
func decodeHexKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("must be an Ed25519 public key as 64 hex digits, got %q", s)
	}
	return b, nil
}

// parseFingerprint parses a certificate fingerprint written as hex with or
// without colons (any case) and checks its length in bytes.
func parseFingerprint(s string, size int) ([]byte, error) {
	clean := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	b, err := hex.DecodeString(clean)
	if err != nil || len(b) != size {
		return nil, fmt.Errorf("must be %d bytes as hex (colons optional), got %q", size, s)
	}
	return b, nil
}

// colonHex formats b as upper-case hex bytes joined by colons, the way
// OpenSSL prints fingerprints ("AB:CD:...").
func colonHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	if len(b) == 0 {
		return ""
	}
	out := make([]byte, 0, 3*len(b)-1)
	for i, c := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// sortedKeys returns the keys of m in order, for deterministic iteration
// (error messages, fake-user defaults).
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// describe names the type of a value from a peer for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string %q", x)
	case bool:
		return fmt.Sprintf("bool %v", x)
	case wamp.List:
		return fmt.Sprintf("a list of %d", len(x))
	case wamp.Dict:
		return "a dict"
	case []byte:
		return fmt.Sprintf("%d bytes", len(x))
	}
	if n, ok := wamp.AsInt(v); ok {
		return fmt.Sprintf("number %d", n)
	}
	return fmt.Sprintf("%T %v", v, v)
}
