package auth

// CheapHashing lowers HashPassword's argon2id cost for the test binary. It
// must be called from TestMain before any test runs.
func CheapHashing() {
	hashArgon2 = argon2Params{memory: 64, time: 1, threads: 1, saltLen: 16, keyLen: 32}
}

// DefaultHashParams reports the production argon2id cost (m KiB, t, p).
func DefaultHashParams() (m, t uint32, p uint8) {
	return defaultArgon2.memory, defaultArgon2.time, defaultArgon2.threads
}

// FakeSalt exposes the unknown-user salt for tests.
func (a *WAMPCRA) FakeSalt(authid string) string { return a.fakeSalt(authid) }
