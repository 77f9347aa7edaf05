package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// ErrMalformedHash is wrapped by the errors VerifyPassword and ValidateHash
// return for a stored hash they cannot parse.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// argon2Params are the argon2id cost parameters of a hash.
type argon2Params struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8
	saltLen int
	keyLen  int
}

// defaultArgon2 is the cost HashPassword uses: 64 MiB, 3 passes, 2 lanes,
// 16-byte salt, 32-byte hash. That is the RFC 9106 "second recommended"
// memory size with one extra pass; it takes roughly 50–100 ms on a current
// server core, which bounds password guessing while keeping a login cheap.
var defaultArgon2 = argon2Params{memory: 64 * 1024, time: 3, threads: 2, saltLen: 16, keyLen: 32}

// hashArgon2 is the cost HashPassword actually uses. Tests lower it (in
// TestMain, before anything runs) so the suite stays fast under -race.
var hashArgon2 = defaultArgon2

// Limits on parsed argon2id parameters, so a hash in a config cannot make a
// single login allocate unbounded memory or run for minutes.
const (
	maxArgon2Memory = 4 * 1024 * 1024 // KiB = 4 GiB
	maxArgon2Time   = 1000
	maxArgon2Key    = 1024
)

// hashSlots bounds concurrent argon2id verifications to the CPU count:
// more would not finish sooner, only hold more memory.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))

// HashPassword hashes a password (or ticket) with argon2id and returns it
// as a PHC string: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>, salt and
// hash in unpadded standard Base64. Put the result in the config as a
// static principal's ticket; VerifyPassword checks it.
func HashPassword(password string) (string, error) {
	return hashWith(password, hashArgon2)
}

func hashWith(password string, p argon2Params) (string, error) {
	salt := make([]byte, p.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// IsHashed reports whether s looks like a password hash VerifyPassword
// understands (argon2id PHC "$argon2id$..." or bcrypt "$2a$", "$2b$",
// "$2y$"), as opposed to a plain-text secret. A plain ticket that happens
// to start with one of these prefixes cannot be configured.
func IsHashed(s string) bool {
	return strings.HasPrefix(s, "$argon2id$") || isBcrypt(s)
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// ValidateHash checks that a hashed secret parses (for config checks);
// plain text is always valid. The error wraps ErrMalformedHash.
func ValidateHash(stored string) error {
	switch {
	case strings.HasPrefix(stored, "$argon2id$"):
		_, _, _, err := parseArgon2(stored)
		return err
	case isBcrypt(stored):
		if _, err := bcrypt.Cost([]byte(stored)); err != nil {
			return fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
		}
	}
	return nil
}

// VerifyPassword reports whether given matches stored, which is an
// argon2id PHC string, a bcrypt hash, or plain text (see IsHashed).
// Plain text is compared in constant time; hashes are recomputed and
// compared in constant time. bcrypt input over 72 bytes never matches
// (bcrypt would silently ignore the rest). A stored hash that does not parse gives an
// error wrapping ErrMalformedHash (and false).
func VerifyPassword(stored, given string) (bool, error) {
	return verifyPassword(context.Background(), stored, given)
}

// verifyPassword is VerifyPassword giving up (with ctx's error) while it
// waits for an argon2id slot once ctx ends: a handshake that timed out
// must not still cost a hash run after its connection is gone.
func verifyPassword(ctx context.Context, stored, given string) (bool, error) {
	switch {
	case strings.HasPrefix(stored, "$argon2id$"):
		p, salt, want, err := parseArgon2(stored)
		if err != nil {
			return false, err
		}
		// Each verification allocates the hash's memory cost (64 MiB by
		// default): bound how many run at once, so a burst of logins
		// cannot exhaust memory; the rest queue.
		select {
		case hashSlots <- struct{}{}:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		got := argon2.IDKey([]byte(given), salt, p.time, p.memory, p.threads, uint32(len(want)))
		<-hashSlots
		return subtle.ConstantTimeCompare(got, want) == 1, nil
	case isBcrypt(stored):
		if len(given) > 72 {
			// bcrypt only looks at the first 72 bytes; refuse longer input
			// rather than accept every string sharing that prefix.
			if err := ValidateHash(stored); err != nil {
				return false, err
			}
			return false, nil
		}
		err := bcrypt.CompareHashAndPassword([]byte(stored), []byte(given))
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, nil
		}
		return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
	return equalSecrets(stored, given), nil
}

// parseArgon2 parses $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func parseArgon2(s string) (argon2Params, []byte, []byte, error) {
	bad := func(format string, args ...any) (argon2Params, []byte, []byte, error) {
		return argon2Params{}, nil, nil, fmt.Errorf("%w: argon2id: "+format, append([]any{ErrMalformedHash}, args...)...)
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return bad("want $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, got %d fields", len(parts)-1)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version %q (want v=%d)", parts[2], argon2.Version)
	}
	var p argon2Params
	seen := map[string]bool{}
	for kv := range strings.SplitSeq(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return bad("bad parameter list %q", parts[3])
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter %s=%q is not a number", k, v)
		}
		switch k {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > 255 {
				return bad("p=%d: at most 255 lanes", n)
			}
			p.threads = uint8(n)
		default:
			return bad("unknown parameter %q", k)
		}
	}
	switch {
	case !seen["m"] || !seen["t"] || !seen["p"]:
		return bad("parameters m, t and p are required, got %q", parts[3])
	case p.threads < 1:
		return bad("p=0: need at least one lane")
	case p.time < 1 || p.time > maxArgon2Time:
		return bad("t=%d: want 1..%d", p.time, maxArgon2Time)
	case p.memory < 8*uint32(p.threads) || p.memory > maxArgon2Memory:
		return bad("m=%d: want %d..%d KiB", p.memory, 8*uint32(p.threads), maxArgon2Memory)
	}
	salt, err := decodeB64(parts[4])
	if err != nil || len(salt) < 8 {
		return bad("salt must be at least 8 bytes of Base64")
	}
	hash, err := decodeB64(parts[5])
	if err != nil || len(hash) < 4 || len(hash) > maxArgon2Key {
		return bad("hash must be 4..%d bytes of Base64", maxArgon2Key)
	}
	return p, salt, hash, nil
}

// decodeB64 decodes PHC Base64 (unpadded), tolerating padding.
func decodeB64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}
