package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// WAMP-CRA key derivation defaults (wamp-spec.md §15.4), used when a salt
// is given without iterations or keylen.
const (
	DefaultIterations = 1000
	DefaultKeyLen     = 32
)

// Bounds on salting parameters, the same the client library accepts.
const (
	maxIterations = 10_000_000
	maxKeyLen     = 1024
)

// WAMPCRAUser is one static WAMP-CRA user.
type WAMPCRAUser struct {
	// Secret is the HMAC key, as text. Without Salt it is the shared
	// secret the client also knows. With Salt it is the *derived key*
	// DeriveKey(password, Salt, Iterations, KeyLen), the Base64 text the
	// client computes from its password, so the password itself is never
	// stored (pre-2025 Crossbar and WAMP spec behaviour). Required.
	Secret string
	// Role is the authrole granted. Empty: the session is refused with
	// wamp.error.no_such_role after a correct signature.
	Role string
	// Salt, if set, is sent in the CHALLENGE so the client derives its key
	// with PBKDF2-HMAC-SHA256; used as literal UTF-8 bytes.
	Salt string
	// Iterations is the PBKDF2 iteration count sent with Salt (default
	// 1000). Only valid with Salt.
	Iterations int
	// KeyLen is the PBKDF2 key length in bytes sent with Salt (default
	// 32). Only valid with Salt.
	KeyLen int
}

// WAMPCRAConfig configures static WAMP-CRA.
type WAMPCRAConfig struct {
	// Users by authid (Crossbar key "users").
	Users map[string]WAMPCRAUser
	// FakeSaltSecret keys the HMAC that derives the salt an unknown
	// authid gets when users are salted. Set it, the same on every router
	// instance, so an unknown authid's salt stays the same across restarts
	// and instances as a real user's does. Empty: a random per-process
	// key, so a probe repeated across a restart can tell unknown authids
	// (their salt changed) from real ones.
	FakeSaltSecret string
}

// WAMPCRA is the static "wampcra" authenticator. It is safe for
// concurrent use.
//
// A CHALLENGE does not tell whether the authid exists (issue 17 #8): its
// challenge string names no role (authrole is "" for everyone: the role is
// only disclosed in WELCOME), and when users are salted an unknown authid
// gets the most common iterations and keylen and a salt of the most common
// length and alphabet, derived from the authid with HMAC (see
// FakeSaltSecret), so repeating the probe gives the same answer. Its
// AUTHENTICATE fails with Denied, like a wrong signature. Users whose
// salting differs from the most common (unsalted among salted users, other
// iterations, keylen or salt shape) remain recognisable: Recognisable
// lists them.
type WAMPCRA struct {
	users   map[string]craUser
	fake    craParams // salting for unknown authids (key unused); salt "" = unsalted
	shape   saltShape // of fake salts
	fakeKey []byte
}

type craUser struct {
	role string
	craParams
}

// craParams is what signing needs: the HMAC key and the salting
// parameters forwarded to the client (Salt "" = unsalted).
type craParams struct {
	key        []byte
	salt       string
	iterations int
	keylen     int
}

// NewWAMPCRA builds a static WAMP-CRA authenticator. Errors name the bad
// field, e.g. `users["alice"].secret: empty`.
func NewWAMPCRA(cfg WAMPCRAConfig) (*WAMPCRA, error) {
	a := &WAMPCRA{users: make(map[string]craUser, len(cfg.Users)), fakeKey: []byte(cfg.FakeSaltSecret)}
	if len(a.fakeKey) == 0 {
		a.fakeKey = processFakeKey()
	}
	var errs []error
	type costs struct{ it, kl int }
	var salted []costs
	var shapes []saltShape
	for _, id := range sortedKeys(cfg.Users) {
		u := cfg.Users[id]
		path := fmt.Sprintf("users[%q]", id)
		if id == "" {
			errs = append(errs, fmt.Errorf("%s: empty authid", path))
			continue
		}
		if u.Secret == "" {
			errs = append(errs, fmt.Errorf("%s.secret: empty", path))
		}
		p, err := newCRAParams(u.Secret, u.Salt, u.Iterations, u.KeyLen)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", path, err))
			continue
		}
		a.users[id] = craUser{role: u.Role, craParams: p}
		if p.salt != "" {
			salted = append(salted, costs{p.iterations, p.keylen})
			shapes = append(shapes, shapeOf(p.salt))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("auth: wampcra: %w", errors.Join(errs...))
	}
	if len(salted) > 0 {
		c := mostCommon(salted)
		a.fake.salt = "x" // marks unknown authids salted; their salt depends on the authid
		a.fake.iterations, a.fake.keylen = c.it, c.kl
		a.shape = mostCommon(shapes)
	}
	return a, nil
}

// Recognisable returns the authids, sorted, whose CHALLENGE an unknown
// authid's does not imitate, so a prober can tell they exist: unsalted
// users when some are salted, and salted users whose iterations, keylen or
// salt length and alphabet are not the most common. Give all users the same
// salting to make it empty; the config loader may warn about the rest.
func (a *WAMPCRA) Recognisable() []string {
	var out []string
	for _, id := range sortedKeys(a.users) {
		u := a.users[id]
		if (u.salt == "") != (a.fake.salt == "") ||
			u.salt != "" && (u.iterations != a.fake.iterations || u.keylen != a.fake.keylen || shapeOf(u.salt) != a.shape) {
			out = append(out, id)
		}
	}
	return out
}

// newCRAParams validates salting parameters and applies defaults. The
// error text starts with the offending field name.
func newCRAParams(secret, salt string, iterations, keylen int) (craParams, error) {
	p := craParams{key: []byte(secret), salt: salt, iterations: iterations, keylen: keylen}
	if salt == "" {
		if iterations != 0 || keylen != 0 {
			return p, errors.New("salt: iterations and keylen need a salt")
		}
		return p, nil
	}
	if p.iterations == 0 {
		p.iterations = DefaultIterations
	}
	if p.keylen == 0 {
		p.keylen = DefaultKeyLen
	}
	if p.iterations < 1 || p.iterations > maxIterations {
		return p, fmt.Errorf("iterations: %d out of range 1..%d", iterations, maxIterations)
	}
	if p.keylen < 1 || p.keylen > maxKeyLen {
		return p, fmt.Errorf("keylen: %d out of range 1..%d", keylen, maxKeyLen)
	}
	return p, nil
}

// mostCommon returns the most frequent value, the earliest on ties (the
// zero value for an empty slice).
func mostCommon[T comparable](vs []T) T {
	var best T
	n := map[T]int{}
	top := 0
	for _, v := range vs {
		n[v]++
		if n[v] > top {
			best, top = v, n[v]
		}
	}
	return best
}

// Method returns "wampcra".
func (a *WAMPCRA) Method() string { return MethodWAMPCRA }

// Hello sends the challenge. The client must give an authid.
func (a *WAMPCRA) Hello(_ context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error) {
	if req.AuthID == "" {
		return nil, nil, nil, &Error{Reason: wamp.ErrAuthenticationFailed, Message: "wampcra authentication needs an authid in HELLO"}
	}
	var fake string
	if a.fake.salt != "" {
		fake = a.fakeSalt(req.AuthID) // for every authid: the same work whether known or not
	}
	u, known := a.users[req.AuthID]
	if !known {
		u = craUser{craParams: a.fake}
		u.salt = fake
	}
	id := Identity{Realm: req.Realm, AuthID: req.AuthID, AuthRole: u.role, AuthMethod: MethodWAMPCRA, AuthProvider: ProviderStatic}
	ch, p, err := newCRAPending(id, req.Session, u.craParams, known)
	if err != nil {
		return nil, nil, nil, err
	}
	return nil, ch, p, nil
}

// processFakeKey is the per-process key for fake salts when none is
// configured; it is random and never changes after it is made, so a
// rebuilt authenticator (config reload) keeps giving the same salts.
var processFakeKey = sync.OnceValue(func() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
})

// fakeSalt is a deterministic, unpredictable salt for an unknown authid,
// shaped like the most common real salt.
func (a *WAMPCRA) fakeSalt(authid string) string {
	m := hmac.New(sha256.New, a.fakeKey)
	m.Write([]byte("tollgate wampcra fake salt\x00"))
	m.Write([]byte(authid))
	return a.shape.generate(m.Sum(nil))
}

// Salt alphabets a fake salt may copy, narrowest first.
var saltAlphabets = []string{
	"0123456789abcdef",
	"0123456789ABCDEF",
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
	"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~",
}

// saltShape is what a fake salt copies from the real ones: the length,
// the narrowest alphabet that holds the characters, and Base64 padding.
type saltShape struct {
	n, pad   int
	alphabet string
}

func shapeOf(salt string) saltShape {
	body := strings.TrimRight(salt, "=")
	sh := saltShape{n: len(body), pad: len(salt) - len(body)}
	sh.alphabet = saltAlphabets[len(saltAlphabets)-1]
	for _, al := range saltAlphabets {
		if strings.Trim(body, al) == "" {
			sh.alphabet = al
			break
		}
	}
	return sh
}

// generate expands seed (HMAC-SHA256 in counter mode) into a salt of this
// shape, drawing characters without bias by rejection.
func (sh saltShape) generate(seed []byte) string {
	out := make([]byte, 0, sh.n+sh.pad)
	limit := 256 - 256%len(sh.alphabet)
	for ctr := 0; len(out) < sh.n; ctr++ {
		m := hmac.New(sha256.New, seed)
		m.Write([]byte{byte(ctr >> 8), byte(ctr)})
		for _, b := range m.Sum(nil) {
			if int(b) < limit && len(out) < sh.n {
				out = append(out, sh.alphabet[int(b)%len(sh.alphabet)])
			}
		}
	}
	return string(out) + strings.Repeat("=", sh.pad)
}

// craChallengeText is the signed challenge object; field order as in the
// spec (wamp-spec.md §15.4). AuthRole is always "": a role in the challenge
// would tell a prober which authids exist and what they may do (issue 17
// #8); clients sign the string without reading it, and the role is in
// WELCOME.
type craChallengeText struct {
	AuthID       string  `json:"authid"`
	AuthRole     string  `json:"authrole"`
	AuthMethod   string  `json:"authmethod"`
	AuthProvider string  `json:"authprovider"`
	Nonce        string  `json:"nonce"`
	Timestamp    string  `json:"timestamp"`
	Session      wamp.ID `json:"session"`
}

// newCRAPending builds the CHALLENGE and the Pending that checks it. With
// known false the Pending always refuses (key is then ignored).
func newCRAPending(id Identity, session wamp.ID, p craParams, known bool) (*wamp.Challenge, *craPending, error) {
	var nonce [48]byte
	rand.Read(nonce[:])
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(craChallengeText{
		AuthID: id.AuthID, AuthMethod: MethodWAMPCRA, AuthProvider: id.AuthProvider,
		Nonce:     base64.RawStdEncoding.EncodeToString(nonce[:]),
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		Session:   session,
	})
	if err != nil { // only for invalid UTF-8 or similar; never in practice
		return nil, nil, fmt.Errorf("auth: wampcra challenge: %w", err)
	}
	text := string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	extra := wamp.Dict{"challenge": text}
	if p.salt != "" {
		extra["salt"] = p.salt
		extra["iterations"] = int64(p.iterations)
		extra["keylen"] = int64(p.keylen)
	}
	key := p.key
	if !known {
		// A fresh random key: nobody can produce a matching signature.
		key = make([]byte, 32)
		rand.Read(key)
	}
	return &wamp.Challenge{AuthMethod: MethodWAMPCRA, Extra: extra},
		&craPending{id: id, key: key, challenge: text, known: known}, nil
}

// craPending checks one WAMP-CRA signature.
type craPending struct {
	id        Identity
	key       []byte
	challenge string
	known     bool
	used      atomic.Bool
}

// Authenticate verifies Base64(HMAC-SHA256(key, challenge)) in constant
// time. A Pending answers once; later calls are refused.
func (p *craPending) Authenticate(_ context.Context, a *wamp.Authenticate) (*Identity, error) {
	if p.used.Swap(true) {
		return nil, errAnswered
	}
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	if err != nil {
		sig = nil // still compute the MAC, so timing does not depend on the format
	}
	ok := hmac.Equal(craMAC(p.key, p.challenge), sig)
	if !ok || !p.known {
		return nil, Denied()
	}
	if p.id.AuthRole == "" {
		return nil, noRole(p.id.AuthID)
	}
	id := p.id
	return &id, nil
}

var errAnswered = &Error{Reason: wamp.ErrAuthenticationFailed, Message: "challenge already answered"}

func noRole(authid string) *Error {
	return &Error{Reason: wamp.ErrNoSuchRole, Message: fmt.Sprintf("principal %q has no role", authid)}
}

// SignWAMPCRA computes the WAMP-CRA signature Base64(HMAC-SHA256(key,
// challenge)) over the challenge string exactly as received. key is the
// secret's UTF-8 bytes, or for a salted challenge the ASCII bytes of
// DeriveKey's result.
func SignWAMPCRA(key []byte, challenge string) string {
	return base64.StdEncoding.EncodeToString(craMAC(key, challenge))
}

// craMAC is HMAC-SHA256(key, challenge), the raw WAMP-CRA signature.
func craMAC(key []byte, challenge string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(challenge))
	return m.Sum(nil)
}

// DeriveKey computes a salted WAMP-CRA key: Base64(PBKDF2-HMAC-SHA256(
// secret, salt, iterations, keylen)), salt taken as literal UTF-8 bytes.
// The result is both what a client uses as HMAC key (its ASCII bytes) and
// what a salted WAMPCRAUser.Secret holds. iterations or keylen below 1 mean
// the defaults (1000, 32); keylen is capped at 1024 and iterations at
// 10,000,000 (the client limits).
func DeriveKey(secret, salt string, iterations, keylen int) string {
	if iterations < 1 {
		iterations = DefaultIterations
	}
	if keylen < 1 {
		keylen = DefaultKeyLen
	}
	iterations, keylen = min(iterations, maxIterations), min(keylen, maxKeyLen)
	dk, err := pbkdf2.Key(sha256.New, secret, []byte(salt), iterations, keylen)
	if err != nil { // only in FIPS 140-only mode with weak inputs
		return ""
	}
	return base64.StdEncoding.EncodeToString(dk)
}
