package config

import (
	"encoding/base64"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// A well-formed argon2id PHC string (ValidateHash only parses it).
var argonHash = "$argon2id$v=19$m=65536,t=3,p=2$" + base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef")) +
	"$" + base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

const (
	bcryptHash = "$2a$04$Fh0D8YhOykg4Ae0n5qdMJeTZsjY9bN0AvNsZ0y7.lpBC/5M9NWzGe"
	pubKey     = "545efb0a2192db8d43f118e9bf9aee081466e1ef36c708b96ee6f62dddad9122"
	sha1FP     = "B2:7D:1A:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:9F"
	sha256FP   = "4f0a0000000000000000000000000000000000000000000000000000000000e1"
)

const authHead = `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - {name: user, permissions: [{uri: "com.example.*", allow: {call: true}}]}
          - {name: device, permissions: []}
      - name: auth
        roles:
          - {name: authenticator, permissions: [{uri: com.example.authenticate, allow: {register: true}}]}
    transports:
`

// TestAuthMethods: every method, static and dynamic, becomes the expected
// auth.MethodConfig, sorted by method name.
func TestAuthMethods(t *testing.T) {
	t.Parallel()
	c, warns := mustParse(t, "a.yaml", authHead+`      - type: websocket
        endpoint:
          type: tcp
          port: 0
          tls: {key: k.pem, certificate: c.pem, ca_certificates: [ca.pem]}
        auth:
          wampcra:
            type: static
            users:
              carol: {secret: prq7+YkJ1/KlW1X0YczMHw==, role: user, salt: salt123, iterations: 100, keylen: 16}
              peter: {secret: secret123, role: user}
          tls:
            type: static
            principals:
              backend: {certificate-sha1: "`+sha1FP+`", role: user}
              sensor: {certificate-sha256: "`+sha256FP+`", role: device}
          ticket:
            type: static
            principals:
              alice: {ticket: "`+argonHash+`", role: user}
              bob: {ticket: "`+bcryptHash+`", role: user, realm: auth}
              legacy: {ticket: plain-secret}
          anonymous: {type: static, role: device, authid: joe}
          cryptosign:
            type: static
            principals:
              dave: {authorized_keys: [`+pubKey+`], role: device, realm: realm1}
      - type: rawsocket
        endpoint:
          type: tcp
          port: 0
          tls: {key: k.pem, certificate: c.pem, ca_certificates: [ca.pem]}
        auth:
          ticket: {type: dynamic, authenticator: com.example.authenticate, authenticator-realm: auth, default-role: user, timeout: 2500}
          anonymous: {type: dynamic, authenticator: com.example.authenticate, timeout: "1m"}
          wampcra: {type: dynamic, authenticator: com.example.authenticate}
          cryptosign: {type: dynamic, authenticator: com.example.authenticate, authenticator-role: authenticator}
          tls: {type: dynamic, authenticator: com.example.authenticate, default-role: device}
`)
	want := []auth.MethodConfig{
		{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "device", AuthID: "joe"}},
		{Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{
			"dave": {AuthorizedKeys: []string{pubKey}, Role: "device", Realm: "realm1"},
		}}},
		{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{
			"alice":  {Ticket: argonHash, Role: "user"},
			"bob":    {Ticket: bcryptHash, Role: "user", Realm: "auth"},
			"legacy": {Ticket: "plain-secret"},
		}}},
		{Method: "tls", Type: "static", TLS: auth.TLSConfig{Principals: map[string]auth.TLSPrincipal{
			"backend": {CertificateSHA1: sha1FP, Role: "user"},
			"sensor":  {CertificateSHA256: sha256FP, Role: "device"},
		}}},
		{Method: "wampcra", Type: "static", WAMPCRA: auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{
			"carol": {Secret: "prq7+YkJ1/KlW1X0YczMHw==", Role: "user", Salt: "salt123", Iterations: 100, KeyLen: 16},
			"peter": {Secret: "secret123", Role: "user"},
		}}},
	}
	got := c.Transports[0].RouterTransport().WebSocket[""].Auth
	if !reflect.DeepEqual(got, want) {
		t.Errorf("static methods:\n%+v\nwant:\n%+v", got, want)
	}
	dyn := func(method string, d auth.DynamicConfig) auth.MethodConfig {
		d.Authenticator = "com.example.authenticate"
		return auth.MethodConfig{Method: method, Type: "dynamic", Dynamic: d}
	}
	wantDyn := []auth.MethodConfig{
		dyn("anonymous", auth.DynamicConfig{Timeout: time.Minute}),
		dyn("cryptosign", auth.DynamicConfig{}),
		dyn("ticket", auth.DynamicConfig{Realm: "auth", DefaultRole: "user", Timeout: 2500 * time.Millisecond}),
		dyn("tls", auth.DynamicConfig{DefaultRole: "device"}),
		dyn("wampcra", auth.DynamicConfig{}),
	}
	if got := c.Transports[1].RouterTransport().RawSocket.Auth; !reflect.DeepEqual(got, wantDyn) {
		t.Errorf("dynamic methods:\n%+v\nwant:\n%+v", got, wantDyn)
	}
	wantWarns := []string{
		`a.yaml:23:15: workers[0].transports[0].auth.wampcra.users.peter: a prober can tell that user "peter" exists: its CHALLENGE's salting (none, or other salt length, alphabet, iterations or keylen) differs from the most common, which unknown authids imitate; give all users the same salting`,
		// a 1m timeout outlasts the 10 s handshake limit
		`a.yaml:47:88: workers[0].transports[1].auth.anonymous.timeout: dynamic authenticator timeout 1m0s is not below the default hello_timeout 10s: the handshake deadline would cut it (the router aborts the login with wamp.error.authentication_failed "authentication did not complete within 10s"); lower timeout or raise hello_timeout`,
		`a.yaml:49:80: workers[0].transports[1].auth.cryptosign.authenticator-role: ignored: Tollgate always calls the authenticator from its internal trusted session`,
	}
	if got := warnLines(warns); strings.Join(got, "\n") != strings.Join(wantWarns, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarns, "\n"))
	}

	// RouterTransport shares nothing with the config.
	rt := c.Transports[0].RouterTransport()
	rt.WebSocket[""].Auth[1].Cryptosign.Principals["dave"].AuthorizedKeys[0] = "changed"
	rt.WebSocket[""].Auth[2].Ticket.Principals["mallory"] = auth.TicketPrincipal{Ticket: "x"}
	again := c.Transports[0].RouterTransport().WebSocket[""].Auth
	if again[1].Cryptosign.Principals["dave"].AuthorizedKeys[0] != pubKey || len(again[2].Ticket.Principals) != 3 {
		t.Error("RouterTransport aliases the config's auth methods")
	}

	// The router builds authenticators from them (dynamic ones through itself).
	r, err := router.New(c.RouterOptions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WebSocketHandler(c.Transports[0].RouterTransport().WebSocket[""]); err != nil {
		t.Errorf("router rejects the static methods: %v", err)
	}
}

// TestAuthErrors: each bad auth section yields exactly these errors.
func TestAuthErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text string
		want       []string
	}{
		{"malformed hashes", `      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket:
            type: static
            principals:
              alice: {ticket: "$argon2id$v=19$m=65536,t=3$c2FsdA$aGFzaA", role: user}
              bob: {ticket: "$2b$04$short", role: user}
              carol: {ticket: "$argon2id$v=19$m=65536,t=3,p=2$!!$aGFzaA", role: user}
`, []string{
			`c.yaml:19:31: workers[0].transports[0].auth.ticket.principals.alice.ticket: malformed password hash: argon2id: parameters m, t and p are required, got "m=65536,t=3" (hash it with ` + "`tollgate passwd`)",
			`c.yaml:20:29: workers[0].transports[0].auth.ticket.principals.bob.ticket: malformed password hash: bcrypt: crypto/bcrypt: hashedSecret too short to be a bcrypted password (hash it with ` + "`tollgate passwd`)",
			`c.yaml:21:31: workers[0].transports[0].auth.ticket.principals.carol.ticket: malformed password hash: argon2id: salt must be at least 8 bytes of Base64 (hash it with ` + "`tollgate passwd`)",
		}},
		{"bad keys", `      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          cryptosign:
            type: static
            principals:
              dave: {authorized_keys: ["zz5efb0a2192db8d43f118e9bf9aee081466e1ef36c708b96ee6f62dddad9122", "545e"], role: user}
              erin: {authorized_keys: [], role: user}
              fred: {role: user}
`, []string{
			`c.yaml:19:40: workers[0].transports[0].auth.cryptosign.principals.dave.authorized_keys[0]: must be an Ed25519 public key as 64 hex digits (from ` + "`tollgate keygen`" + `), got "zz5efb0a2192db8d43f118e9bf9aee081466e1ef36c708b96ee6f62dddad9122"`,
			`c.yaml:19:108: workers[0].transports[0].auth.cryptosign.principals.dave.authorized_keys[1]: must be an Ed25519 public key as 64 hex digits (from ` + "`tollgate keygen`" + `), got "545e"`,
			`c.yaml:20:39: workers[0].transports[0].auth.cryptosign.principals.erin.authorized_keys: no authorized keys`,
			`c.yaml:21:21: workers[0].transports[0].auth.cryptosign.principals.fred: missing required key "authorized_keys"`,
		}},
		{"tls principals", `      - type: rawsocket
        endpoint: {type: tcp, port: 0, tls: {key: k, certificate: c, ca_certificates: [ca]}}
        auth:
          tls:
            type: static
            principals:
              a: {certificate-sha1: "B2:7D", role: user}
              b: {certificate-sha256: "` + sha256FP + `", certificate-sha1: "` + sha1FP + `", role: user}
              c: {role: user}
`, []string{
			`c.yaml:19:37: workers[0].transports[0].auth.tls.principals.a.certificate-sha1: must be 20 bytes as hex (colons optional), got "B2:7D"`,
			`c.yaml:20:15: workers[0].transports[0].auth.tls.principals.b: give certificate-sha1 or certificate-sha256, not both`,
			`c.yaml:21:15: workers[0].transports[0].auth.tls.principals.c: needs certificate-sha1 or certificate-sha256`,
		}},
		{"auth.NewSet verdicts", `      - type: rawsocket
        endpoint: {type: tcp, port: 0, tls: {key: k, certificate: c, ca_certificates: [ca]}}
        auth:
          wampcra: {type: static, users: {u: {secret: s, salt: x, iterations: 20000000}}}
          tls:
            type: static
            principals:
              a: {certificate-sha1: "B2:7D", role: user}
`, []string{
			`c.yaml:16:79: workers[0].transports[0].auth.wampcra.users.u.iterations: 20000000 out of range 1..10000000`,
			`c.yaml:20:37: workers[0].transports[0].auth.tls.principals.a.certificate-sha1: must be 20 bytes as hex (colons optional), got "B2:7D"`,
		}},
		{"tls without client certificates", `      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          tls: {type: dynamic, authenticator: com.example.authenticate}
      - type: rawsocket
        endpoint: {type: tcp, port: 0, tls: {key: k, certificate: c}}
        auth:
          tls: {type: static, principals: {a: {certificate-sha1: "` + sha1FP + `"}}}
      - type: rawsocket
        endpoint: {type: unix, path: x.sock}
        auth:
          tls: {type: dynamic, authenticator: com.example.authenticate}
`, []string{
			`c.yaml:16:11: workers[0].transports[0].auth.tls: tls auth needs a TLS endpoint: add endpoint.tls with ca_certificates`,
			`c.yaml:20:11: workers[0].transports[1].auth.tls: tls auth needs client certificates: add ca_certificates to endpoint.tls (only then does the listener ask for them)`,
			`c.yaml:24:11: workers[0].transports[2].auth.tls: tls auth needs a TCP endpoint with tls (a Unix socket has no client certificates)`,
		}},
		{"dynamic", `      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket: {type: dynamic, authenticator: com.example.authenticate, authenticator-realm: nowhere, timeout: -5}
          wampcra: {type: dynamic, authenticator: com.example.authenticate, timeout: "soon"}
          anonymous: {type: dynamic, authenticator: com.example.authenticate, timeout: "-1s", extra: 1}
          cryptosign: {type: dynamic, authenticator: com.example.authenticate, default-role: 7}
`, []string{
			`c.yaml:16:97: workers[0].transports[0].auth.ticket.authenticator-realm: realm "nowhere" is not defined in this config`,
			`c.yaml:16:115: workers[0].transports[0].auth.ticket.timeout: must be a positive integer (milliseconds), got -5`,
			`c.yaml:17:86: workers[0].transports[0].auth.wampcra.timeout: must be an integer (milliseconds) or a duration such as "5s", got "soon"`,
			`c.yaml:18:88: workers[0].transports[0].auth.anonymous.timeout: must be positive, got "-1s"`,
			`c.yaml:18:95: workers[0].transports[0].auth.anonymous: unknown key "extra"`,
			`c.yaml:19:94: workers[0].transports[0].auth.cryptosign.default-role: must be a string, got integer 7 (quote it)`,
		}},
		{"principal realm", `      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket: {type: static, principals: {a: {ticket: x, role: user, realm: elsewhere}}}
`, []string{
			`c.yaml:16:81: workers[0].transports[0].auth.ticket.principals.a.realm: realm "elsewhere" is not defined in this config`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse("c.yaml", []byte(authHead+tc.text))
			got := errLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestRoles: the extensions and realm options parse to authz/router
// values, a realm without roles is closed (with a warning), and authz's
// verdicts land on the right lines even after skipped items.
func TestRoles(t *testing.T) {
	t.Parallel()
	c, warns := mustParse(t, "r.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        options: {authz_cache_size: 500, authz_cache_ttl: 30}
        roles:
          - name: frontend
            authorizer: com.example.authorize
            authorizer-realm: auth
            timeout: 1500
            cache-ttl: 60
          - name: app
            authorizer: com.example.authorize
            timeout: "2s"
            cache-ttl: "1m30s"
          - name: static
            timeout: 100
            permissions:
              - {uri: "com.example.*", allow: {call: true}, disclose: {caller: true}, cache: true}
      - name: auth
        options: {authz_cache_size: 0}
        roles: []
      - name: closed
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	want := []router.RealmOptions{
		{Name: "realm1", URICheck: "strict", AuthzCacheSize: 500, AuthzCacheTTL: 30 * time.Second, Roles: []authz.RoleConfig{
			{Name: "frontend", Authorizer: "com.example.authorize", AuthorizerRealm: "auth", Timeout: 1500 * time.Millisecond, CacheTTL: time.Minute},
			{Name: "app", Authorizer: "com.example.authorize", Timeout: 2 * time.Second, CacheTTL: 90 * time.Second},
			{Name: "static", Timeout: 100 * time.Millisecond, Permissions: []authz.Permission{
				{URI: "com.example.*", Allow: authz.Actions{Call: true}, Disclose: authz.Disclose{Caller: true}, Cache: true},
			}},
		}},
		{Name: "auth", URICheck: "strict", AuthzCacheSize: -1, Roles: []authz.RoleConfig{}},
		{Name: "closed", URICheck: "strict", Roles: []authz.RoleConfig{}},
	}
	if got := c.RouterOptions().Realms; !reflect.DeepEqual(got, want) {
		t.Errorf("realms:\n%+v\nwant:\n%+v", got, want)
	}
	wantWarns := []string{
		`r.yaml:18:13: workers[0].realms[0].roles[2].timeout: ignored: timeout only applies to a role with an authorizer`,
		`r.yaml:24:9: workers[0].realms[2]: realm "closed" defines no roles: only trusted sessions may join it, every other session is refused (as in Crossbar); add roles to let clients in`,
	}
	if got := warnStrings(warns); !slices.Equal(got, wantWarns) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarns, "\n"))
	}
	if _, err := router.New(c.RouterOptions()); err != nil {
		t.Errorf("router.New: %v", err)
	}

	_, _, err := Parse("r.yaml", []byte(`version: 2
workers:
  - type: router
    realms:
      - name: realm1
        options: {authz_cache_size: -1, authz_cache_ttl: "0s"}
        roles:
          - name: bad
            permissions: [{match: prefix}]
          - name: frontend
            authorizer: com.example.authorize
            authorizer-realm: nowhere
            timeout: 0
          - name: user
            authorizer-realm: realm1
            permissions:
              - {uri: com.a, allow: {call: true}, match: regex}
              - {uri: com.b, allow: {call: true}}
              - {uri: com.b, allow: {call: true}, match: exact}
              - {uri: "com.*.c*"}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`))
	wantErrs := []string{
		`r.yaml:6:37: workers[0].realms[0].options.authz_cache_size: must be an integer >= 0, got -1`,
		`r.yaml:6:58: workers[0].realms[0].options.authz_cache_ttl: must be positive, got "0s"`,
		`r.yaml:9:27: workers[0].realms[0].roles[0].permissions[0]: missing required key "uri"`,
		`r.yaml:12:31: workers[0].realms[0].roles[1].authorizer-realm: realm "nowhere" is not defined in this config`,
		`r.yaml:13:22: workers[0].realms[0].roles[1].timeout: must be a positive integer (milliseconds), got 0`,
		`r.yaml:15:31: workers[0].realms[0].roles[2].authorizer-realm: set without authorizer`,
		`r.yaml:17:58: workers[0].realms[0].roles[2].permissions[0].match: must be one of "exact", "prefix" or "wildcard", got "regex"`,
		`r.yaml:20:23: workers[0].realms[0].roles[2].permissions[3].uri: "com.*.c*": '*' must be a whole component`,
	}
	if got := errLines(t, err); !slices.Equal(got, wantErrs) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
}

func warnStrings(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

// TestMethodsSorted: the walk order is the output order.
func TestMethodsSorted(t *testing.T) {
	t.Parallel()
	if !slices.IsSorted(authMethods) {
		t.Errorf("authMethods %v is not sorted: configs would not come out sorted by method", authMethods)
	}
}

// TestAuthorizerArgs: a role's authorizer-args (3 or 4) reaches
// authz.RoleConfig; other values are errors; on a static role it is
// ignored with a warning.
func TestAuthorizerArgs(t *testing.T) {
	t.Parallel()
	c, warns := mustParse(t, "r.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - {name: seed, authorizer: com.example.authorize, authorizer-args: 3}
          - {name: modern, authorizer: com.example.authorize, authorizer-args: 4}
          - {name: auto, authorizer: com.example.authorize}
          - {name: static, authorizer-args: 3, permissions: [{uri: "com.a", allow: {call: true}}]}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	roles := c.RouterOptions().Realms[0].Roles
	if got := []int{roles[0].AuthorizerArgs, roles[1].AuthorizerArgs, roles[2].AuthorizerArgs, roles[3].AuthorizerArgs}; !slices.Equal(got, []int{3, 4, 0, 0}) {
		t.Errorf("AuthorizerArgs = %v, want [3 4 0 0]", got)
	}
	wantWarns := []string{`r.yaml:10:28: workers[0].realms[0].roles[3].authorizer-args: ignored: authorizer-args only applies to a role with an authorizer`}
	if got := warnStrings(warns); !slices.Equal(got, wantWarns) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarns, "\n"))
	}
	_, _, err := Parse("r.yaml", []byte(`version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - {name: a, authorizer: com.example.authorize, authorizer-args: 5}
          - {name: b, authorizer: com.example.authorize, authorizer-args: "3"}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`))
	wantErrs := []string{
		`r.yaml:7:75: workers[0].realms[0].roles[0].authorizer-args: must be an integer 3-4, got 5`,
		`r.yaml:8:75: workers[0].realms[0].roles[1].authorizer-args: must be an integer 3-4, got string "3"`,
	}
	if got := errLines(t, err); !slices.Equal(got, wantErrs) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantErrs, "\n"))
	}
}

// The trust keys of issue 17: a dynamic method's realms (with
// authenticator-realm), and static wampcra's fake-salt-secret from the
// environment.
func TestAuthTrustKeys(t *testing.T) {
	t.Setenv("TOLLGATE_TEST_FAKE_SALT", "k3y")
	c, warns := mustParse(t, "a.yaml", authHead+`      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket: {type: dynamic, authenticator: com.example.authenticate, authenticator-realm: auth, realms: [realm1]}
          wampcra:
            type: static
            fake-salt-secret: ${TOLLGATE_TEST_FAKE_SALT}
            users:
              carol: {secret: prq7+YkJ1/KlW1X0YczMHw==, role: user, salt: salt123}
`)
	if len(warns) != 0 {
		t.Errorf("warnings %v", warnLines(warns))
	}
	got := c.Transports[0].RouterTransport().RawSocket.Auth
	if len(got) != 2 || !slices.Equal(got[0].Dynamic.Realms, []wamp.URI{"realm1"}) || got[1].WAMPCRA.FakeSaltSecret != "k3y" {
		t.Fatalf("methods %+v", got)
	}

	_, bw, err := Parse("b.yaml", []byte(authHead+`      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket: {type: dynamic, authenticator: com.example.authenticate, realms: [realm1, nowhere]}
          wampcra:
            type: static
            fake-salt-secret: ${TOLLGATE_TEST_UNSET_FAKE_SALT}
            users:
              carol: {secret: prq7+YkJ1/KlW1X0YczMHw==, role: user, salt: salt123}
`))
	errs := strings.Join(errLines(t, err), "\n")
	want := []string{
		`b.yaml:16:93: workers[0].transports[0].auth.ticket.realms[1]: realm "nowhere" is not defined in this config`,
		`b.yaml:16:84: workers[0].transports[0].auth.ticket.realms: needs authenticator-realm (without it, whoever registers the authenticator in any realm a client asks for would be trusted for these realms)`,
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("errors:\n%s\nlack:\n%s", errs, w)
		}
	}
	if ws := strings.Join(warnLines(bw), "\n"); !strings.Contains(ws, "environment variable TOLLGATE_TEST_UNSET_FAKE_SALT is not set: unknown authids get salts from a random per-process key") {
		t.Errorf("no warning for the unset fake-salt-secret:\n%s", ws)
	}
}
