package cli

import (
	"crypto/ed25519"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/auth"
)

// TestPasswd: the printed hash verifies the password read from stdin (and
// nothing else), for each way of reading it.
func TestPasswd(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, input string
		args        []string
		password    string
	}{
		{"first line", "correct horse\nsecond line\n", nil, "correct horse"},
		{"crlf", "s3cret\r\n", nil, "s3cret"},
		{"no newline", "s3cret", nil, "s3cret"},
		{"password-stdin", "line one\nline two\n", []string{"--password-stdin"}, "line one\nline two"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runIn(t, tc.input, append([]string{"passwd"}, tc.args...)...)
			if code != 0 || stderr != "" {
				t.Fatalf("code %d, stderr %q", code, stderr)
			}
			hash, ok := strings.CutSuffix(stdout, "\n")
			if !ok || strings.Contains(hash, "\n") || !strings.HasPrefix(hash, "$argon2id$v=19$m=65536,t=3,p=2$") {
				t.Fatalf("stdout = %q, want one argon2id hash line", stdout)
			}
			if err := auth.ValidateHash(hash); err != nil {
				t.Fatal(err)
			}
			if ok, err := auth.VerifyPassword(hash, tc.password); !ok || err != nil {
				t.Errorf("VerifyPassword(hash, %q) = %v, %v; want true", tc.password, ok, err)
			}
			if tc.name == "first line" { // one is enough: each check costs ~100 ms
				if ok, _ := auth.VerifyPassword(hash, tc.password+"x"); ok {
					t.Error("the hash also verifies a different password")
				}
			}
		})
	}
}

func TestPasswdErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, input, want string }{
		{"empty", "", "tollgate passwd: empty password\n"},
		{"empty line", "\nsecret\n", "tollgate passwd: empty password\n"},
		{"too long", strings.Repeat("x", maxPassword+1), "tollgate passwd: password longer than 65536 bytes\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runIn(t, tc.input, "passwd")
			if code != 1 || stdout != "" || stderr != tc.want {
				t.Errorf("code %d, stdout %q, stderr %q; want 1, \"\", %q", code, stdout, stderr, tc.want)
			}
		})
	}
}

// keyLine returns the hex value of the stdout line starting with label.
func keyLine(t *testing.T, stdout, label string) string {
	t.Helper()
	for _, line := range strings.Split(stdout, "\n") {
		if v, ok := strings.CutPrefix(line, label); ok {
			return v
		}
	}
	t.Fatalf("no %q line in:\n%s", label, stdout)
	return ""
}

// checkPair fails unless priv (hex seed, as auth.ParsePrivateKey reads it)
// signs what pub verifies.
func checkPair(t *testing.T, pubHex, privHex string) {
	t.Helper()
	pub, err := hex.DecodeString(pubHex)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("public key %q is not 32 bytes of hex", pubHex)
	}
	priv, err := auth.ParsePrivateKey(privHex)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("challenge")
	if !ed25519.Verify(ed25519.PublicKey(pub), msg, ed25519.Sign(priv, msg)) {
		t.Error("a signature by the private key does not verify with the public key")
	}
}

func TestKeygen(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := run(t, "keygen")
	if code != 0 || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	pub := keyLine(t, stdout, "public key (for authorized_keys): ")
	priv := keyLine(t, stdout, "private key (secret, for the client): ")
	checkPair(t, pub, priv)

	code, stdout2, _ := run(t, "keygen")
	if code != 0 || keyLine(t, stdout2, "public key (for authorized_keys): ") == pub {
		t.Error("two runs gave the same key")
	}
}

func TestKeygenOut(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "client.key")
	code, stdout, stderr := run(t, "keygen", "--out", file)
	if code != 0 || stderr != "" {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if strings.Contains(stdout, "private key (secret") {
		t.Errorf("the private key was printed although --out was given:\n%s", stdout)
	}
	if !strings.Contains(stdout, "private key written to "+file+" (mode 0600)") {
		t.Errorf("stdout does not say where the key went:\n%s", stdout)
	}
	pub := keyLine(t, stdout, "public key (for authorized_keys): ")
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	checkPair(t, pub, string(data))

	// An existing file is never overwritten.
	code, stdout, stderr = run(t, "keygen", "--out", file)
	if code != 1 || stdout != "" || !strings.Contains(stderr, "file exists") {
		t.Errorf("second keygen: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if again, _ := os.ReadFile(file); string(again) != string(data) {
		t.Error("the existing key file was changed")
	}
}
