package config

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
)

// errLines returns the error list of err as lines, failing if err is not Errors.
func errLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error is %T, not config.Errors: %v", err, err)
	}
	if es.Error() != err.Error() {
		t.Fatalf("Errors.Error() differs from err.Error()")
	}
	return strings.Split(err.Error(), "\n")
}

func mustParse(t *testing.T, name, text string) (*Config, []Warning) {
	t.Helper()
	c, w, err := Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse(%s): unexpected errors:\n%v", name, err)
	}
	return c, w
}

const minimalHead = `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: anonymous
            permissions:
              - {uri: "", match: prefix, allow: {call: true}}
    transports:
`

func TestDefault(t *testing.T) {
	t.Parallel()
	c := Default()
	if got, want := c.Summary(), "1 realm (realm1), 2 transports (web on 127.0.0.1:8080, rawsocket on 127.0.0.1:8081)"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	// The embedded text is also a valid file on its own, without warnings.
	_, warns, err := Parse("default.yaml", DefaultYAML())
	if err != nil || len(warns) != 0 {
		t.Fatalf("default.yaml: err=%v warnings=%v", err, warns)
	}
	opts := c.RouterOptions()
	want := []router.RealmOptions{{
		Name: "realm1", URICheck: "strict",
		Roles: []authz.RoleConfig{{Name: "anonymous", Permissions: []authz.Permission{{
			URI: "", Match: "prefix", Cache: true,
			Allow: authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true},
		}}}},
	}}
	if !reflect.DeepEqual(opts.Realms, want) {
		t.Errorf("RouterOptions().Realms = %+v, want %+v", opts.Realms, want)
	}
	if opts.Logger != nil {
		t.Error("Logger must be left nil")
	}
	// RouterOptions shares nothing with the config.
	opts.Realms[0].Roles[0].Permissions[0].URI = "changed"
	if c.Realms[0].Roles[0].Permissions[0].URI != "" {
		t.Error("RouterOptions aliases the config's permissions")
	}
	if _, err := router.New(c.RouterOptions()); err != nil {
		t.Errorf("router.New rejects the default: %v", err)
	}

	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("%d listeners, want 2", len(ls))
	}
	web, raw := ls[0], ls[1]
	if web.Network != "tcp" || web.Address != "127.0.0.1:8080" || web.TLS != nil || web.Transport.RawSocket != nil {
		t.Errorf("web listener = %+v", web)
	}
	ws, ok := web.Transport.WebSocket["/ws"]
	if !ok || len(web.Transport.WebSocket) != 1 || !reflect.DeepEqual(ws.Serializers, []string{"json", "msgpack", "cbor"}) {
		t.Errorf("web WebSocket = %+v", web.Transport.WebSocket)
	}
	if raw.Address != "127.0.0.1:8081" || raw.Transport.RawSocket == nil || raw.Transport.WebSocket != nil {
		t.Errorf("rawsocket listener = %+v", raw)
	}
	anon := []auth.MethodConfig{{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "anonymous"}}}
	if got := web.Transport.WebSocket["/ws"].Auth; !reflect.DeepEqual(got, anon) {
		t.Errorf("web auth = %+v, want %+v", got, anon)
	}
	if got := raw.Transport.RawSocket.Auth; !reflect.DeepEqual(got, anon) {
		t.Errorf("rawsocket auth = %+v, want %+v", got, anon)
	}
}

// TestBadConfigs: each file yields exactly these error lines, in order.
func TestBadConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		text string
		want []string
	}{
		{"not a mapping", "c.yaml", "- 1\n", []string{`c.yaml:1:1: must be a mapping, got a list`}},
		{"empty", "c.yaml", "", []string{`c.yaml: empty config file`}},
		{"comment only", "c.yaml", "# nothing\n", []string{`c.yaml: empty config file`}},
		{"syntax", "c.yaml", "version: 2\nworkers: [\n", []string{`c.yaml:2: syntax error: did not find expected node content`}},
		{"json syntax", "c.json", "{\"version\": 2,\n  \"workers\": [}\n", []string{`c.json:2:15: JSON syntax error: invalid character '}' looking for beginning of value`}},
		{"extension", "c.toml", "version = 2", []string{`c.toml: unknown config file extension ".toml": use .yaml, .yml or .json`}},
		{"two documents", "c.yaml", minimalHead + "      - {type: websocket, endpoint: {type: tcp, port: 0}}\n---\nversion: 2\n", []string{`c.yaml:12:1: more than one YAML document in the file`}},
		{"version 0", "c.yaml", "version: 0\nworkers: []\n", []string{
			"c.yaml:1:10: version: config version 0 is not a Crossbar config version (1 or 2)",
		}},
		{"version 3", "c.yaml", "version: 3\nworkers: []\n", []string{
			"c.yaml:1:10: version: config version 3 is not supported: only versions 1 and 2 are",
		}},
		{"unknown top-level key and workers missing", "c.yaml", "version: 2\nworker: []\n", []string{
			`c.yaml:1:1: missing required key "workers"`,
			`c.yaml:2:1: unknown key "worker"`,
		}},
		{"other worker types", "c.yaml", "version: 2\nworkers:\n  - type: guest\n  - type: container\n  - {}\n  - type: hub\n", []string{
			`c.yaml:3:5: workers[0]: missing required key "executable"`,
			`c.yaml:5:5: workers[2]: missing required key "type"`,
			`c.yaml:6:11: workers[3].type: unknown worker type "hub" (Tollgate runs router and guest workers, and skips container and proxy workers with a warning)`,
		}},
		{"second router worker", "c.yaml", minimalHead + "      - {type: websocket, endpoint: {type: tcp, port: 0}}\n  - type: router\n", []string{
			`c.yaml:12:11: workers[1].type: only one router worker is supported: Tollgate runs a single router; move these realms and transports into the first router worker`,
		}},
		{"realms", "c.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: ""
      - name: realm1
        options: {uri_check: sloppy, store: {}}
      - name: "bad realm"
      - name: realm1
      - {}
      - name: 42
    transports:
      - {type: websocket, endpoint: {type: tcp, port: 0}}
`, []string{
			`c.yaml:5:15: workers[0].realms[0].name: empty realm name`,
			`c.yaml:7:30: workers[0].realms[1].options.uri_check: must be one of "strict" or "loose", got "sloppy"`,
			`c.yaml:7:38: workers[0].realms[1].options: unknown key "store"`,
			`c.yaml:8:15: workers[0].realms[2].name: invalid realm name "bad realm": must be a URI (dot-separated, non-empty components without whitespace or '#')`,
			`c.yaml:9:15: workers[0].realms[3].name: duplicate realm name "realm1"`,
			`c.yaml:10:9: workers[0].realms[4]: missing required key "name"`,
			`c.yaml:11:15: workers[0].realms[5].name: must be a string, got integer 42 (quote it)`,
		}},
		{"roles", "c.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: frontend
            authorizer: com.example.authorize
            permissions: []
          - name: frontend
          - name: trusted
          - name: backend
            authorizer: "com.Example.Authorize"
          - name: user
            permissions:
              - {uri: "com..x", allow: {call: true, delete: true}}
              - {uri: "", allow: {call: maybe}}
              - {uri: "com.example", match: regex, disclose: {caller: true, callee: true}}
              - {match: prefix}
              - {uri: "a.b", cache: "yes"}
    transports:
      - {type: websocket, endpoint: {type: tcp, port: 0}}
`, []string{
			`c.yaml:8:13: workers[0].realms[0].roles[0]: a role has either permissions or an authorizer, not both`,
			`c.yaml:10:13: workers[0].realms[0].roles[1].name: duplicate role name "frontend" in this realm`,
			`c.yaml:11:19: workers[0].realms[0].roles[2].name: role name "trusted" is reserved: the trusted role always exists and may do everything`,
			`c.yaml:13:25: workers[0].realms[0].roles[3].authorizer: invalid authorizer URI "com.Example.Authorize": must be a strict URI (components of a-z, 0-9 and _)`,
			`c.yaml:16:23: workers[0].realms[0].roles[4].permissions[0].uri: empty component in an exact URI (use match wildcard) "com..x"`,
			`c.yaml:16:53: workers[0].realms[0].roles[4].permissions[0].allow: unknown key "delete"`,
			`c.yaml:17:23: workers[0].realms[0].roles[4].permissions[1].uri: empty (use "*" for every URI)`,
			`c.yaml:17:41: workers[0].realms[0].roles[4].permissions[1].allow.call: must be true or false, got string "maybe"`,
			`c.yaml:18:45: workers[0].realms[0].roles[4].permissions[2].match: must be one of "exact", "prefix" or "wildcard", got "regex"`,
			`c.yaml:18:77: workers[0].realms[0].roles[4].permissions[2].disclose: unknown key "callee"`,
			`c.yaml:19:17: workers[0].realms[0].roles[4].permissions[3]: missing required key "uri"`,
			`c.yaml:20:37: workers[0].realms[0].roles[4].permissions[4].cache: must be true or false, got string "yes"`,
		}},
		{"transports", "c.yaml", minimalHead + `      - type: mqtt
        endpoint: {type: tcp, port: 1883}
      - type: websocket
        endpoint: {type: tcp, port: "80a", portt: 3}
        serializers: [json, ubjson, xml, json]
      - type: rawsocket
        endpoint: {type: tcp, port: 70000, version: 5, interface: ""}
        options: {max_message_size: 100, max_frame_size: 10}
      - type: websocket
        endpoint: {type: unix}
        options: {auto_ping_interval: 10, allowed_origins: "*"}
      - type: web
        id: Web
        endpoint: {type: twisted, server_string: "tcp:80"}
        paths:
          "/": {type: static, directory: ..}
          "a/b": {type: websocket}
      - {type: websocket}
      - {type: rawsocket, endpoint: {type: tcp, port: 9000}, serializers: []}
      - {type: rawsocket, endpoint: {type: tcp, port: 9000}, serializers: json}
`, []string{
			`c.yaml:11:15: workers[0].transports[0].type: transport type "mqtt" is not supported by Tollgate (supported: websocket, rawsocket, web, universal)`,
			`c.yaml:14:37: workers[0].transports[1].endpoint.port: must be an integer 0-65535, got string "80a"`,
			`c.yaml:14:44: workers[0].transports[1].endpoint: unknown key "portt"`,
			`c.yaml:15:37: workers[0].transports[1].serializers[2]: unknown serializer "xml" (supported: json, msgpack, cbor)`,
			`c.yaml:15:42: workers[0].transports[1].serializers[3]: serializer "json" listed twice`,
			`c.yaml:17:37: workers[0].transports[2].endpoint.port: must be an integer 0-65535, got 70000`,
			`c.yaml:17:53: workers[0].transports[2].endpoint.version: must be 4 or 6, got 5`,
			`c.yaml:17:67: workers[0].transports[2].endpoint.interface: empty interface: leave it out to listen on all interfaces`,
			`c.yaml:18:37: workers[0].transports[2].options.max_message_size: must be an integer 512-16777216, got 100`,
			`c.yaml:18:42: workers[0].transports[2].options: unknown key "max_frame_size"`,
			`c.yaml:20:19: workers[0].transports[3].endpoint: missing required key "path"`,
			`c.yaml:21:39: workers[0].transports[3].options.auto_ping_interval: is in milliseconds: 10 is too small (use 0 or at least 1000)`,
			`c.yaml:21:60: workers[0].transports[3].options.allowed_origins: must be a list, got string "*"`,
			`c.yaml:23:13: workers[0].transports[4].id: invalid id "Web": must match ^[a-z][a-z0-9_]{2,63}$`,
			`c.yaml:24:26: workers[0].transports[4].endpoint.type: endpoint type "twisted" is not supported by Tollgate (supported: tcp, unix)`,
			`c.yaml:27:11: workers[0].transports[4].paths["a/b"]: invalid web path "a/b": must be "/" or match ^([a-z0-9A-Z_\-]+|/)$ (one path component)`,
			`c.yaml:28:9: workers[0].transports[5]: missing required key "endpoint"`,
			`c.yaml:29:75: workers[0].transports[6].serializers: empty serializer list: leave it out to allow json, msgpack and cbor`,
			`c.yaml:30:37: workers[0].transports[7].endpoint: port 9000 is already used by workers[0].transports[6].endpoint`,
			`c.yaml:30:75: workers[0].transports[7].serializers: must be a list, got string "json"`,
		}},
		{"auth", "c.yaml", minimalHead + `      - type: websocket
        endpoint: {type: tcp, port: 0}
        auth:
          anonymous: {type: static, role: anonymous, authid: joe, extra: 1}
          ticket:
            type: static
            principals:
              alice: {ticket: 123, role: anonymous}
              bob: {role: anonymous}
              carol: {ticket: "", role: anonymous, realm: realm1}
          wampcra:
            type: dynamic
            authenticator: com.Example.Auth
            authenticator-realm: nowhere
            principals: {}
          cryptosign:
            type: static
            principals:
              dave:
                authorized_keys: [abc, "0000000000000000000000000000000000000000000000000000000000000001"]
              erin:
                authorized_keys: ["0000000000000000000000000000000000000000000000000000000000000001"]
          scram: {type: static}
          oauth: {}
      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket: {type: function, create: mod.fn}
          wampcra: {type: static, users: {u: {secret: s, iterations: 10}}}
          anonymous: {type: dynamic}
      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth: {}
`, []string{
			`c.yaml:14:67: workers[0].transports[0].auth.anonymous: unknown key "extra"`,
			`c.yaml:18:31: workers[0].transports[0].auth.ticket.principals.alice.ticket: must be a string, got a YAML int (quote it; the value is not shown because it is a secret)`,
			`c.yaml:19:20: workers[0].transports[0].auth.ticket.principals.bob: missing required key "ticket"`,
			`c.yaml:20:31: workers[0].transports[0].auth.ticket.principals.carol.ticket: empty ticket`,
			`c.yaml:23:28: workers[0].transports[0].auth.wampcra.authenticator: invalid authenticator URI "com.Example.Auth": must be a strict URI (components of a-z, 0-9 and _)`,
			`c.yaml:24:34: workers[0].transports[0].auth.wampcra.authenticator-realm: realm "nowhere" is not defined in this config`,
			`c.yaml:25:13: workers[0].transports[0].auth.wampcra: unknown key "principals"`,
			`c.yaml:30:35: workers[0].transports[0].auth.cryptosign.principals.dave.authorized_keys[0]: must be an Ed25519 public key as 64 hex digits (from ` + "`tollgate keygen`" + `), got "abc"`,
			`c.yaml:32:35: workers[0].transports[0].auth.cryptosign.principals.erin.authorized_keys[0]: key is also authorized for "dave": a key must identify one principal`,
			`c.yaml:33:11: workers[0].transports[0].auth.scram: not supported by Tollgate: auth method scram is not implemented (supported: anonymous, cryptosign, ticket, tls, wampcra)`,
			`c.yaml:34:11: workers[0].transports[0].auth: unknown auth method "oauth" (supported: anonymous, cryptosign, ticket, tls, wampcra)`,
			`c.yaml:38:26: workers[0].transports[1].auth.ticket.type: ticket auth type "function" is not supported by Tollgate (it loads Python code): use "dynamic" with an authenticator procedure`,
			`c.yaml:39:46: workers[0].transports[1].auth.wampcra.users.u: iterations and keylen need a salt`,
			`c.yaml:40:22: workers[0].transports[1].auth.anonymous: missing required key "authenticator"`,
			`c.yaml:43:15: workers[0].transports[2].auth: empty auth section: leave it out for anonymous access, or configure a method`,
		}},
		{"universal", "c.yaml", minimalHead + `      - type: universal
        endpoint: {type: tcp, port: 0}
        rawsocket: {endpoint: {type: tcp, port: 1}}
        websocket:
          ws: {type: web, serializers: [json]}
        web:
          paths:
            ws: {type: websocket}
            info: {type: nodeinfo}
            metrics: {type: metrics, serializers: [json]}
            stats: {type: metrics}
            ws2: {type: Metrics}
        mqtt: {}
      - type: universal
        endpoint: {type: tcp, port: 0}
      - type: universal
        endpoint: {type: tcp, port: 0}
        websocket:
          metrics: {}
        web:
          paths:
            metrics: {type: metrics}
`, []string{
			`c.yaml:13:21: workers[0].transports[0].rawsocket.endpoint: a universal transport's sub-items share its endpoint and must not have their own`,
			`c.yaml:15:22: workers[0].transports[0].websocket.ws.type: must be one of "websocket", got "web"`,
			`c.yaml:18:13: workers[0].transports[0].web.paths.ws: path "ws" is already served by this transport`,
			`c.yaml:20:38: workers[0].transports[0].web.paths.metrics: unknown key "serializers"`,
			`c.yaml:22:25: workers[0].transports[0].web.paths.ws2.type: unknown path service type "Metrics" (Tollgate serves websocket, metrics, static, redirect, json and nodeinfo; see docs/migrating-from-crossbar.md)`,
			`c.yaml:23:9: workers[0].transports[0].mqtt: not supported by Tollgate: MQTT is not implemented`,
			`c.yaml:24:9: workers[0].transports[1]: universal transport serves nothing: add rawsocket, websocket or web`,
			`c.yaml:32:13: workers[0].transports[2].web.paths.metrics: path "metrics" is already served by this transport`,
		}},
		{"yaml types and duplicates", "c.yaml", `version: 2
version: 2
workers:
  - type: router
    realms: {name: realm1}
    transports: null
    components:
      - {type: class, classname: a.B, realm: other}
`, []string{
			`c.yaml:2:1: version: duplicate key "version"`,
			`c.yaml:5:13: workers[0].realms: must be a list, got a mapping`,
			`c.yaml:6:17: workers[0].transports: must be a list, got null`,
			`c.yaml:8:46: workers[0].components[0].realm: realm "other" is not defined in this config`,
		}},
		{"json", "c.json", `{
  "version": 2,
  "workers": [{
    "type": "router",
    "realms": [{"name": "realm1", "roles": [{"name": "r", "permissions": [{"uri": "a", "allow": {"call": 1}}]}]}],
    "transports": [{"type": "websocket", "endpoint": {"type": "tcp", "port": 8080.5}}]
  }]
}`, []string{
			`c.json:5:106: workers[0].realms[0].roles[0].permissions[0].allow.call: must be true or false, got integer 1`,
			`c.json:6:78: workers[0].transports[0].endpoint.port: must be an integer 0-65535, got number 8080.5`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := Parse(tc.file, []byte(tc.text))
			if err == nil {
				t.Fatalf("no error; config: %+v", c)
			}
			if c != nil {
				t.Error("a Config was returned along with errors")
			}
			got := errLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	_, warns := mustParse(t, "w.yaml", `version: 2
controller: {}
workers:
  - type: router
    options: {title: x}
    realms:
      - name: realm1
        options: {enable_meta_api: false, event_dispatching_chunk_size: 10}
        roles:
          - name: anonymous
            allow-by-default: true
    transports:
      - type: websocket
        endpoint: {type: tcp, port: 0, backlog: 10, shared: true}
        debug: true
        options: {compression: {deflate: {}}, open_handshake_timeout: 2500}
        cookie: {store: {type: memory}}
        auth:
          ticket: {type: static, principals: {alice: {ticket: s, role: ghost}}}
    components:
      - {type: class, classname: auth.Authenticator, realm: realm1, role: anonymous}
`)
	want := []string{
		`w.yaml:2:1: controller: ignored: Tollgate has no node controller`,
		`w.yaml:5:15: workers[0].options.title: ignored: native worker option: the process title is not set`,
		`w.yaml:8:36: workers[0].realms[0].options.enable_meta_api: ignored: the meta API cannot be disabled`,
		`w.yaml:8:73: workers[0].realms[0].options.event_dispatching_chunk_size: ignored: Tollgate does not dispatch events in chunks`,
		`w.yaml:14:49: workers[0].transports[0].endpoint.backlog: ignored: the listen backlog is set by the operating system`,
		`w.yaml:14:61: workers[0].transports[0].endpoint.shared: ignored: Tollgate runs one router process, so the port is never shared`,
		`w.yaml:15:9: workers[0].transports[0].debug: ignored: use --log-level debug`,
		`w.yaml:16:19: workers[0].transports[0].options.compression: ignored: permessage-deflate is not enabled`,
		`w.yaml:16:47: workers[0].transports[0].options.open_handshake_timeout: ignored: the HELLO timeout bounds the opening phase`,
		`w.yaml:17:9: workers[0].transports[0].cookie: ignored: cookie tracking is not supported yet`,
		`w.yaml:19:72: workers[0].transports[0].auth.ticket.principals.alice.role: role "ghost" is not defined on any realm: sessions given this role will be refused`,
		`w.yaml:21:9: workers[0].components[0]: ignored: embedded component "auth.Authenticator" is not run (Tollgate does not host Python components); run it as a client on a transport that gives it its role`,
	}
	got := make([]string, len(warns))
	for i, w := range warns {
		got[i] = w.String()
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAllowByDefault(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "a.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - {name: open, allow-by-default: true}
          - {name: closed}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	roles := c.Realms[0].Roles
	all := authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	if len(roles[0].Permissions) != 1 || roles[0].Permissions[0] != (authz.Permission{URI: "", Match: "prefix", Allow: all}) {
		t.Errorf("open role = %+v", roles[0])
	}
	if len(roles[1].Permissions) != 0 || roles[1].Authorizer != "" {
		t.Errorf("closed role = %+v", roles[1])
	}
}

// TestStarredURIs: permissions are stored as written (authz applies the
// starred-URI rule), and what authz rejects is reported at the URI.
func TestStarredURIs(t *testing.T) {
	t.Parallel()
	tests := []struct{ uri, match, err string }{
		{"com.example.add", "", ""},
		{"com.example.*", "", ""},
		{"*", "", ""},
		{"com.*.update", "", ""},
		{"com.example.", "prefix", ""},
		{"com..x", "wildcard", ""},
		{"com.ex*", "", `s.yaml:9:23: workers[0].realms[0].roles[0].permissions[0].uri: "com.ex*": '*' must be a whole component`},
		{"com.*", "prefix", `s.yaml:9:23: workers[0].realms[0].roles[0].permissions[0].uri: "com.*" contains '*' but match "prefix" is given (drop match to use a starred URI)`},
		{"com.a b", "", `s.yaml:9:23: workers[0].realms[0].roles[0].permissions[0].uri: invalid URI "com.a b"`},
	}
	for _, tc := range tests {
		t.Run(tc.uri+"/"+tc.match, func(t *testing.T) {
			t.Parallel()
			match := ""
			if tc.match != "" {
				match = ", match: " + tc.match
			}
			text := strings.Replace(minimalHead, `{uri: "", match: prefix, allow: {call: true}}`,
				`{uri: "`+tc.uri+`"`+match+`}`, 1) + "      - {type: rawsocket, endpoint: {type: tcp, port: 0}}\n"
			if tc.err != "" {
				_, _, err := Parse("s.yaml", []byte(text))
				if got := strings.Join(errLines(t, err), "\n"); got != tc.err {
					t.Errorf("errors:\n%s\nwant:\n%s", got, tc.err)
				}
				return
			}
			c, _ := mustParse(t, "s.yaml", text)
			p := c.Realms[0].Roles[0].Permissions[0]
			if p.URI != tc.uri || p.Match != tc.match {
				t.Errorf("got (%q, %q), want (%q, %q) as written", p.URI, p.Match, tc.uri, tc.match)
			}
		})
	}
}

// TestTransportTypes parses every transport and endpoint type and checks
// the router.Transport each maps to.
func TestTransportTypes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c, warns := mustParse(t, filepath.Join(dir, "t.yaml"), minimalHead+`      - type: websocket
        endpoint: {type: tcp, port: 0, interface: 127.0.0.1, version: 4}
        serializers: [cbor]
        options:
          max_message_size: 1048576
          auto_ping_interval: 10000
          auto_ping_timeout: 5000
          allowed_origins: ["*.example.com", "localhost:*"]
      - type: rawsocket
        id: backend
        endpoint: {type: unix, path: sockets/tollgate.sock}
        options: {max_message_size: 65536}
        auth:
          anonymous: {type: static, role: anonymous}
      - type: web
        endpoint: {type: tcp, port: 0, version: 6}
        paths:
          ws: {type: websocket, serializers: [json]}
          "/": {type: websocket}
          metrics: {type: metrics}
      - type: universal
        endpoint: {type: tcp, port: 0}
        rawsocket: {serializers: [msgpack]}
        websocket:
          ws: {serializers: [json, cbor]}
        web:
          paths:
            wamp: {type: websocket, options: {max_message_size: 4096}}
            stats: {type: metrics, id: stats}
      - type: web
        endpoint: {type: tcp, port: 0, interface: 127.0.0.1}
        paths:
          metrics: {type: metrics}
`)
	if len(warns) != 1 || warns[0].Path != "workers[0].transports[0].options.auto_ping_timeout" {
		t.Errorf("warnings: %v, want only auto_ping_timeout ignored", warns)
	}
	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	want := []Listener{
		{Name: "transport1", Type: "websocket", Network: "tcp4", Address: "127.0.0.1:0", Transport: router.Transport{
			Name: "transport1",
			WebSocket: map[string]router.WebSocketOptions{"": {
				Serializers: []string{"cbor"}, MaxMessageSize: 1 << 20, PingInterval: 10 * time.Second,
				AllowedOrigins: []string{"*.example.com", "localhost:*"},
			}},
		}},
		{Name: "backend", Type: "rawsocket", Network: "unix", Address: filepath.Join(dir, "sockets/tollgate.sock"), Transport: router.Transport{
			Name: "backend", RawSocket: &router.RawSocketOptions{MaxMessageSize: 65536, Auth: []auth.MethodConfig{
				{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "anonymous"}},
			}},
		}},
		{Name: "transport3", Type: "web", Network: "tcp6", Address: ":0", Transport: router.Transport{
			Name: "transport3",
			WebSocket: map[string]router.WebSocketOptions{
				"/ws": {Serializers: []string{"json"}},
				"/":   {},
			},
			Metrics: []string{"/metrics"},
		}},
		{Name: "transport4", Type: "universal", Network: "tcp", Address: ":0", Transport: router.Transport{
			Name: "transport4",
			WebSocket: map[string]router.WebSocketOptions{
				"/ws":   {Serializers: []string{"json", "cbor"}},
				"/wamp": {MaxMessageSize: 4096},
			},
			RawSocket: &router.RawSocketOptions{Serializers: []string{"msgpack"}},
			Metrics:   []string{"/stats"},
		}},
		{Name: "transport5", Type: "web", Network: "tcp", Address: "127.0.0.1:0", Transport: router.Transport{
			Name: "transport5", Metrics: []string{"/metrics"},
		}},
	}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("Listeners:\n%+v\nwant:\n%+v", ls, want)
	}
	if got, want := c.Summary(), "1 realm (realm1), 5 transports (websocket on 127.0.0.1:0, rawsocket on unix:"+
		filepath.Join(dir, "sockets/tollgate.sock")+", web on :0, universal on :0, web on 127.0.0.1:0)"; got != want {
		t.Errorf("Summary = %q\nwant      %q", got, want)
	}
}

// TestEnv is not parallel: it sets environment variables.
func TestEnv(t *testing.T) {
	t.Setenv("TOLLGATE_TEST_PORT", "9123")
	t.Setenv("TOLLGATE_TEST_TICKET", "s3cret")
	t.Setenv("TOLLGATE_TEST_BADPORT", "http")
	text := minimalHead + `      - type: rawsocket
        endpoint: {type: tcp, port: $TOLLGATE_TEST_PORT}
        auth:
          ticket: {type: static, principals: {a: {ticket: "${TOLLGATE_TEST_TICKET}"}}}
`
	c, _ := mustParse(t, "e.yaml", text)
	if c.Transports[0].Endpoint.Port != 9123 {
		t.Errorf("port = %d", c.Transports[0].Endpoint.Port)
	}
	if got := c.Transports[0].RawSocket.Auth[0].Ticket.Principals["a"].Ticket; got != "s3cret" {
		t.Errorf("ticket = %q", got)
	}
	_, _, err := Parse("e.yaml", []byte(minimalHead+`      - type: rawsocket
        endpoint: {type: tcp, port: $TOLLGATE_TEST_UNSET_PORT}
        auth:
          wampcra: {type: static, users: {a: {secret: "${TOLLGATE_TEST_UNSET}"}}}
      - type: rawsocket
        endpoint: {type: tcp, port: $TOLLGATE_TEST_BADPORT}
`))
	want := []string{
		`e.yaml:12:37: workers[0].transports[0].endpoint.port: environment variable TOLLGATE_TEST_UNSET_PORT is not set`,
		`e.yaml:16:37: workers[0].transports[1].endpoint.port: environment variable TOLLGATE_TEST_BADPORT must hold an integer 0-65535, got "http"`,
	}
	if got := errLines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestJSONEqualsYAML: the same config in both syntaxes gives equal results.
func TestJSONEqualsYAML(t *testing.T) {
	t.Parallel()
	yamlText := `version: 2
workers:
- type: router
  realms:
  - name: com.example.app
    options: {uri_check: loose}
    roles:
    - name: frontend
      permissions:
      - uri: com.example.*
        allow: {call: true, subscribe: true}
        disclose: {caller: true}
        cache: true
    - name: backend
      authorizer: com.example.authorize
  transports:
  - type: web
    id: web
    endpoint: {type: tcp, port: 8080, interface: 127.0.0.1}
    paths:
      ws:
        type: websocket
        serializers: [json, cbor]
        options: {allowed_origins: ["http://localhost:*"], auto_ping_interval: 30000}
        auth:
          ticket:
            type: static
            principals:
              joe: {ticket: "a\\/b", role: frontend}
  - type: universal
    endpoint: {type: unix, path: /tmp/tollgate.sock}
    rawsocket: {options: {max_message_size: 1048576}}
    websocket: {ws: {}}
`
	jsonText := `{
	"version": 2,
	"workers": [{
		"type": "router",
		"realms": [{
			"name": "com.example.app",
			"options": {"uri_check": "loose"},
			"roles": [
				{"name": "frontend", "permissions": [{"uri": "com.example.*", "allow": {"call": true, "subscribe": true}, "disclose": {"caller": true}, "cache": true}]},
				{"name": "backend", "authorizer": "com.example.authorize"}
			]
		}],
		"transports": [{
			"type": "web", "id": "web",
			"endpoint": {"type": "tcp", "port": 8080, "interface": "127.0.0.1"},
			"paths": {"ws": {
				"type": "websocket",
				"serializers": ["json", "cbor"],
				"options": {"allowed_origins": ["http:\/\/localhost:*"], "auto_ping_interval": 30000},
				"auth": {"ticket": {"type": "static", "principals": {"joe": {"ticket": "a\\\/b", "role": "frontend"}}}}
			}}
		}, {
			"type": "universal",
			"endpoint": {"type": "unix", "path": "/tmp/tollgate.sock"},
			"rawsocket": {"options": {"max_message_size": 1048576}},
			"websocket": {"ws": {}}
		}]
	}]
}`
	yc, _ := mustParse(t, "dir/eq.yaml", yamlText)
	jc, _ := mustParse(t, "dir/eq.json", jsonText)
	jc.File = yc.File
	if !reflect.DeepEqual(yc, jc) {
		t.Errorf("YAML and JSON differ:\nyaml: %+v\njson: %+v", yc, jc)
	}
	if got := yc.Transports[0].WebSocket["/ws"].Options.Auth[0].Ticket.Principals["joe"].Ticket; got != `a\/b` {
		t.Errorf("ticket = %q, want a\\/b", got)
	}
	if got := yc.Transports[0].WebSocket["/ws"].Options.AllowedOrigins[0]; got != "http://localhost:*" {
		t.Errorf("origin = %q", got)
	}
	// .yml is YAML too.
	if _, _, err := Parse("eq.yml", []byte(yamlText)); err != nil {
		t.Error(err)
	}
}

func TestYAMLAnchors(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "anchors.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles: &roles
          - name: anonymous
            permissions: [{uri: "", match: prefix, allow: &all {call: true, register: true, publish: true, subscribe: true}}]
      - name: realm2
        roles: *roles
    transports:
      - &ws
        type: websocket
        endpoint: {type: tcp, port: 0}
      - <<: *ws
        endpoint: {type: tcp, port: 0, interface: localhost}
`)
	if !reflect.DeepEqual(c.Realms[0].Roles, c.Realms[1].Roles) {
		t.Error("aliased roles differ")
	}
	if c.Transports[1].Type != "websocket" || c.Transports[1].Endpoint.Interface != "localhost" {
		t.Errorf("merged transport = %+v", c.Transports[1])
	}
}

// TestAliasBomb: exponential alias expansion is cut off with an error.
func TestAliasBomb(t *testing.T) {
	t.Parallel()
	// 10 realms x 100 roles x 100 permissions, written in a few lines.
	var b strings.Builder
	b.WriteString("version: 2\nworkers:\n  - type: router\n    transports: [{type: rawsocket, endpoint: {type: tcp, port: 0}}]\n    realms:\n")
	b.WriteString("      - name: realm0\n        roles: &roles\n          - &role {name: r, permissions: [&p {uri: a, allow: {call: true}}")
	b.WriteString(strings.Repeat(", *p", 99) + "]}\n")
	b.WriteString(strings.Repeat("          - *role\n", 99))
	for i := 1; i < 10; i++ {
		b.WriteString("      - {name: realm" + itoa(i) + ", roles: *roles}\n")
	}
	_, _, err := Parse("bomb.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "config too large") {
		t.Fatalf("err = %v", err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		e    Error
		want string
	}{
		{Error{"c.yaml", 42, 7, "workers[0].realms[1].name", "empty realm name"}, "c.yaml:42:7: workers[0].realms[1].name: empty realm name"},
		{Error{"c.yaml", 3, 0, "", "syntax error: x"}, "c.yaml:3: syntax error: x"},
		{Error{"c.yaml", 0, 0, "", "empty config file"}, "c.yaml: empty config file"},
		{Error{"", 0, 0, "a.b", "bad"}, "a.b: bad"},
	}
	for _, tc := range tests {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if got := (Errors{tests[0].e, tests[1].e}).Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("Errors.Error() = %q", got)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.File != path {
		t.Errorf("File = %q", c.File)
	}
	if _, _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

// TestExamples: every example config passes, as `tollgate check` would.
func TestExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../examples/configs/*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".yaml", ".yml", ".json":
		default:
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			c, _, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Listeners(); err != nil {
				t.Fatal(err)
			}
			if _, err := router.New(c.RouterOptions()); err != nil {
				t.Errorf("router.New: %v", err)
			}
		})
	}
	if n < 2 {
		t.Errorf("found %d example configs, want at least 2", n)
	}
}

// writeCert writes a self-signed certificate and key (PEM) into dir.
func writeCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, _ := writeCert(t, dir, "server")
	writeCert(t, dir, "ca")
	// Relative names resolve against the config file's directory.
	c, warns := mustParse(t, filepath.Join(dir, "tls.yaml"), minimalHead+`      - type: websocket
        endpoint:
          type: tcp
          port: 0
          interface: 127.0.0.1
          tls: {key: server.key, certificate: server.crt, ca_certificates: [ca.crt], dhparam: dh.pem, ciphers: "ECDHE"}
`)
	if len(warns) != 2 {
		t.Errorf("want 2 warnings (dhparam, ciphers), got %v", warns)
	}
	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	cfg := ls[0].TLS
	if cfg == nil || len(cfg.Certificates) != 1 || cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil {
		t.Fatalf("TLS config = %+v", cfg)
	}
	if c.Summary() != "1 realm (realm1), 1 transport (websocket on 127.0.0.1:0 (tls))" {
		t.Errorf("Summary = %q", c.Summary())
	}

	// A TLS listener really does TLS.
	ln, err := ls[0].Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			err = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
		done <- err
	}()
	pool := x509.NewCertPool()
	pemBytes, _ := os.ReadFile(certFile)
	pool.AppendCertsFromPEM(pemBytes)
	clientCert, err := tls.LoadX509KeyPair(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}})
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}

	// Missing and broken files are reported at the lines that name them.
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("not a cert"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ = mustParse(t, filepath.Join(dir, "tls.yaml"), minimalHead+`      - type: websocket
        endpoint:
          type: tcp
          port: 0
          tls:
            key: missing.key
            certificate: missing.crt
            chain_certificates: [chain.crt]
            ca_certificates: [bad.pem]
      - type: rawsocket
        endpoint:
          type: tcp
          port: 0
          tls: {key: ca.key, certificate: server.crt}
`)
	_, err = c.Listeners()
	p := filepath.Join(dir, "tls.yaml")
	want := []string{
		p + `:17:26: workers[0].transports[0].endpoint.tls.certificate: cannot read certificate: open ` + filepath.Join(dir, "missing.crt") + `: no such file or directory`,
		p + `:16:18: workers[0].transports[0].endpoint.tls.key: cannot read key: open ` + filepath.Join(dir, "missing.key") + `: no such file or directory`,
		p + `:18:34: workers[0].transports[0].endpoint.tls.chain_certificates[0]: cannot read chain certificate: open ` + filepath.Join(dir, "chain.crt") + `: no such file or directory`,
		p + `:19:31: workers[0].transports[0].endpoint.tls.ca_certificates[0]: no PEM certificate found in ` + filepath.Join(dir, "bad.pem"),
		p + `:24:43: workers[0].transports[1].endpoint.tls.certificate: certificate ` + filepath.Join(dir, "server.crt") + ` and key ` + filepath.Join(dir, "ca.key") + ` do not form a key pair: tls: private key does not match public key`,
	}
	if got := errLines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestListenUnixStaleSocket(t *testing.T) {
	t.Parallel()
	dir, err := os.MkdirTemp("", "tg") // short path: unix socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c, _ := mustParse(t, filepath.Join(dir, "u.yaml"), minimalHead+"      - {type: rawsocket, endpoint: {type: unix, path: t.sock}}\n")
	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	l := ls[0]
	ln1, err := l.Listen(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// While somebody listens, the socket is not taken over.
	if _, err := l.Listen(context.Background()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Listen: err = %v, want 'in use'", err)
	}
	// Leave a stale socket file behind (no unlink on close), then listen again.
	ln1.(*net.UnixListener).SetUnlinkOnClose(false)
	ln1.Close()
	if _, err := os.Stat(filepath.Join(dir, "t.sock")); err != nil {
		t.Fatalf("stale socket missing: %v", err)
	}
	ln2, err := l.Listen(context.Background())
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	ln2.Close()
}

func TestRouterOptionsIndependent(t *testing.T) {
	t.Parallel()
	c := Default()
	rt := c.Transports[0].RouterTransport()
	rt.WebSocket["/ws"].Serializers[0] = "changed"
	if c.Transports[0].WebSocket["/ws"].Options.Serializers[0] != "json" {
		t.Error("RouterTransport aliases the config's serializers")
	}
	if a, b := Default(), Default(); a.Transports[0].Name != "web" || a == b {
		t.Error("Default must return a fresh config each call")
	}
}

// FuzzParse: no input makes Parse panic, and a success always comes with
// a usable config.
func FuzzParse(f *testing.F) {
	f.Add("c.yaml", string(DefaultYAML()))
	f.Add("c.json", `{"version": 2, "workers": [{"type": "router", "realms": [{"name": "r"}], "transports": [{"type": "websocket", "endpoint": {"type": "tcp", "port": 0}}]}]}`)
	f.Add("c.yaml", minimalHead+"      - {type: universal, endpoint: {type: tcp, port: 0}, rawsocket: {}, websocket: {ws: {}}, web: {paths: {x: {type: websocket, auth: {ticket: {type: static, principals: {a: {ticket: b}}}}}}}}\n")
	f.Add("c.yaml", "a: &a [*a]\n")
	f.Add("c.yaml", "version: 2\nworkers:\n  - <<: {type: router}\n")
	f.Add("c.json", `{"a": "\/\\\/"}`)
	f.Add("c.yaml", storeYAML)
	if b, err := os.ReadFile("../examples/configs/auth.yaml"); err == nil {
		f.Add("c.yaml", string(b))
	}
	f.Fuzz(func(t *testing.T, name, text string) {
		if len(text) > 1<<16 {
			return
		}
		c, _, err := Parse(name, []byte(text))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error is not a non-empty Errors: %v", err)
			}
			return
		}
		_ = c.Summary()
		// What loads, the router accepts: roles and auth methods were
		// validated by the same constructors the router calls.
		if _, err := router.New(c.RouterOptions()); err != nil {
			t.Fatalf("Parse accepted a config router.New rejects: %v", err)
		}
		for i := range c.Transports {
			rt := c.Transports[i].RouterTransport()
			for _, ws := range rt.WebSocket {
				if _, err := auth.NewSet(ws.Auth, noCaller{}); err != nil {
					t.Fatalf("Parse accepted auth that auth.NewSet rejects: %v", err)
				}
			}
			if rt.RawSocket != nil {
				if _, err := auth.NewSet(rt.RawSocket.Auth, noCaller{}); err != nil {
					t.Fatalf("Parse accepted auth that auth.NewSet rejects: %v", err)
				}
			}
		}
	})
}
