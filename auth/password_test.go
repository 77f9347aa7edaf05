package auth_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate-wamp/tollgate/auth"
)

func TestHashPassword(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Fatalf("hash %q is not a PHC argon2id string", h)
	}
	if !auth.IsHashed(h) {
		t.Fatal("IsHashed(HashPassword(...)) = false")
	}
	h2, _ := auth.HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of the same password are equal (salt not random)")
	}
	if m, tt, p := auth.DefaultHashParams(); m != 65536 || tt != 3 || p != 2 {
		t.Fatalf("default cost m=%d,t=%d,p=%d; want m=65536,t=3,p=2", m, tt, p)
	}
}

func TestVerifyPassword(t *testing.T) {
	t.Parallel()
	argon, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a", 72)
	bcLong, err := bcrypt.GenerateFromPassword([]byte(long), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	// $2y$ and $2a$ are the same algorithm as $2b$ here.
	bc2y := "$2y$" + string(bc)[4:]
	bc2a := "$2a$" + string(bc)[4:]
	tests := []struct {
		name, stored, given string
		want                bool
	}{
		{"plain", "pw", "pw", true},
		{"plain-wrong", "pw", "pW", false},
		{"plain-prefix", "pw", "p", false},
		{"plain-empty", "", "", true},
		{"argon2id", argon, "pw", true},
		{"argon2id-wrong", argon, "px", false},
		{"bcrypt-2b", string(bc), "pw", true},
		{"bcrypt-2y", bc2y, "pw", true},
		{"bcrypt-2a", bc2a, "pw", true},
		{"bcrypt-wrong", string(bc), "px", false},
		{"bcrypt-72", string(bcLong), long, true},
		{"bcrypt-over-72", string(bcLong), long + "b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := auth.VerifyPassword(tt.stored, tt.given)
			if err != nil || got != tt.want {
				t.Fatalf("VerifyPassword = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestVerifyPasswordVectors(t *testing.T) {
	t.Parallel()
	// argon2id hashes made with the reference C library (libargon2,
	// argon2id_hash_encoded), and the classic OpenBSD bcrypt vector.
	vectors := []struct{ stored, password string }{
		{"$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$FqGkmHNGCd0BRW2kBt6fPZ2pPmyGwwChL8FGUhTOSSI", "password"},
		{"$argon2id$v=19$m=256,t=3,p=2$MDEyMzQ1Njc4OWFiY2RlZg$Qh+G/m8Bm10PH9PCnwDwLEMrW4DgOrbUsNLqDLU7F74", "tollgate"},
		{"$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
	}
	for _, v := range vectors {
		if ok, err := auth.VerifyPassword(v.stored, v.password); !ok || err != nil {
			t.Errorf("VerifyPassword(%s, %q) = %v, %v; want true", v.stored, v.password, ok, err)
		}
		if ok, err := auth.VerifyPassword(v.stored, v.password+"x"); ok || err != nil {
			t.Errorf("VerifyPassword(%s, wrong) = %v, %v; want false", v.stored, ok, err)
		}
	}
}

func TestMalformedHashes(t *testing.T) {
	t.Parallel()
	bad := []struct{ stored, want string }{
		{"$argon2id$", "argon2id: want $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>"},
		{"$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g", `unsupported version "v=16"`},
		{"$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$aGFzaGhhc2g", "parameters m, t and p are required"},
		{"$argon2id$v=19$m=64,t=1,p=1,x=2$c29tZXNhbHQ$aGFzaGhhc2g", `unknown parameter "x"`},
		{"$argon2id$v=19$m=64,t=1,t=1$c29tZXNhbHQ$aGFzaGhhc2g", "bad parameter list"},
		{"$argon2id$v=19$m=x,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g", `parameter m="x" is not a number`},
		{"$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$aGFzaGhhc2g", "t=0: want 1..1000"},
		{"$argon2id$v=19$m=64,t=1,p=0$c29tZXNhbHQ$aGFzaGhhc2g", "p=0: need at least one lane"},
		{"$argon2id$v=19$m=4,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g", "m=4: want 8..4194304 KiB"},
		{"$argon2id$v=19$m=99999999,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2g", "m=99999999"},
		{"$argon2id$v=19$m=64,t=1,p=300$c29tZXNhbHQ$aGFzaGhhc2g", "p=300: at most 255 lanes"},
		{"$argon2id$v=19$m=64,t=1,p=1$c29t$aGFzaGhhc2g", "salt must be at least 8 bytes of Base64"},
		{"$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$!!!", "hash must be 4..1024 bytes of Base64"},
		{"$2b$10$tooshort", "bcrypt:"},
		{"$2b$99$" + strings.Repeat("a", 53), "bcrypt:"},
	}
	for _, tt := range bad {
		t.Run(tt.stored, func(t *testing.T) {
			t.Parallel()
			ok, err := auth.VerifyPassword(tt.stored, "password")
			if ok || err == nil || !errors.Is(err, auth.ErrMalformedHash) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("VerifyPassword = %v, %v; want ErrMalformedHash containing %q", ok, err, tt.want)
			}
			if err := auth.ValidateHash(tt.stored); err == nil || !errors.Is(err, auth.ErrMalformedHash) {
				t.Fatalf("ValidateHash = %v, want ErrMalformedHash", err)
			}
		})
	}
	if err := auth.ValidateHash("just a plain secret"); err != nil {
		t.Fatalf("ValidateHash(plain) = %v", err)
	}
}

func TestIsHashed(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"$argon2id$v=19$...": true, "$2a$10$x": true, "$2b$10$x": true, "$2y$10$x": true,
		"$argon2i$v=19$": false, "$2x$": false, "plain": false, "": false, "$1$md5": false,
	} {
		if got := auth.IsHashed(s); got != want {
			t.Errorf("IsHashed(%q) = %v, want %v", s, got, want)
		}
	}
}
