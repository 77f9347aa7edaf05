package routertest

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"testing"

	"golang.org/x/crypto/argon2"
)

// CheapHash hashes password as an argon2id PHC string at the lowest cost
// auth accepts (m=64 KiB, t=1, p=1), for static tickets in tests outside
// package auth. auth.HashPassword's production cost (64 MiB, 3 passes) is
// only lowered inside auth's own test binary; elsewhere each login's
// verification takes a large part of a second under -race and seconds on a
// loaded machine, enough to miss a test's receive deadline.
func CheapHash(t testing.TB, password string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(password), salt, 1, 64, 1, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}
