package config

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
)

// hasWarning reports whether one of ws contains every part.
func hasWarning(ws []Warning, parts ...string) bool {
	return slices.ContainsFunc(ws, func(w Warning) bool {
		for _, p := range parts {
			if !strings.Contains(w.String(), p) {
				return false
			}
		}
		return true
	})
}

func TestCrossbarLeniency(t *testing.T) {
	t.Parallel()
	c, ws := mustParse(t, "m.yaml", `version: 2
workers:
  - type: router
    options: {extra: {anything: 1}}
    realms:
      - name: realm1
        description: shown in Crossbar's UI
        roles:
          - name: anonymous
            comment: written by hand
            permissions:
              - {uri: com.a, allow: {call: true}}
              - {uri: com.a, allow: {subscribe: true}}
              - {uri: "com.example.", allow: {call: true}}
    transports:
      - type: websocket
        endpoint: {type: tcp, port: 0}
        options: {auto_ping_restart_on_any_traffic: true}
  - type: container
    options: {disabled: true}
  - type: guest
    executable: /bin/true
    options: {disabled: true}
`)
	_ = c
	for _, want := range [][]string{
		{"m.yaml:7:9:", `unknown key "description" on a realm`},
		{"m.yaml:10:13:", `unknown key "comment" on a role`},
		{"m.yaml:12:17:", `permission for "com.a" is given again at workers[0].realms[0].roles[0].permissions[1]`},
		{"m.yaml:14:23:", `"com.example." without match is an exact URI`, "match: prefix"},
		{"m.yaml:18:19:", "auto_ping_restart_on_any_traffic"},
		{"m.yaml:20:15:", "workers[1].options.disabled", "skipped: this worker is disabled"},
		{"m.yaml:23:15:", "skipped: this worker is disabled"},
	} {
		if !hasWarning(ws, want...) {
			t.Errorf("no warning with %q in:\n%s", want, strings.Join(warnStrings(ws), "\n"))
		}
	}
	// The unknown transport key is an error, reported once.
	_, _, err := Parse("m.yaml", []byte(minimalHead+"      - {type: websocket, endpoint: {type: tcp, port: 0}, bogus: 1}\n"))
	if got := errLines(t, err); len(got) != 1 || !strings.Contains(got[0], `unknown key "bogus"`) {
		t.Errorf("errors = %q, want one unknown-key error", got)
	}
}

func TestDuplicatePermissionKeepsTheLast(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "d.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: anonymous
            permissions:
              - {uri: "com.a.*", allow: {call: true}}
              - {uri: com.b, allow: {call: true}}
              - {uri: com.a, match: prefix, allow: {subscribe: true}}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	perms := c.Realms[0].Roles[0].Permissions
	if len(perms) != 2 || perms[0].URI != "com.b" || perms[1].URI != "com.a" || perms[1].Allow.Call || !perms[1].Allow.Subscribe {
		t.Fatalf("permissions = %+v, want com.b then the later com.a prefix only", perms)
	}
}

// A permission "com.example." without match grants nothing, as in Crossbar
// (it is an exact URI no valid URI equals); with match prefix it grants the
// prefix.
func TestTrailingDotWithoutMatchIsExact(t *testing.T) {
	t.Parallel()
	roles := []authz.RoleConfig{
		{Name: "bare", Permissions: []authz.Permission{{URI: "com.example.", Allow: authz.Actions{Call: true}}}},
		{Name: "prefix", Permissions: []authz.Permission{{URI: "com.example.", Match: "prefix", Allow: authz.Actions{Call: true}}}},
	}
	key, ok := authz.PermissionKey(roles[0].Permissions[0])
	if !ok || key != "exact com.example." {
		t.Errorf("PermissionKey = %q, %v; want exact", key, ok)
	}
	c, ws := mustParse(t, "t.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: bare
            permissions: [{uri: "com.example.", allow: {call: true}}]
          - name: prefix
            permissions: [{uri: "com.example.", match: prefix, allow: {call: true}}]
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	if !hasWarning(ws, "t.yaml:8:33:", "grants nothing") || hasWarning(ws, "t.yaml:10:") {
		t.Errorf("warnings:\n%s", strings.Join(warnStrings(ws), "\n"))
	}
	if !slices.EqualFunc(c.Realms[0].Roles, roles, func(a, b authz.RoleConfig) bool {
		return a.Name == b.Name && slices.Equal(a.Permissions, b.Permissions)
	}) {
		t.Errorf("roles = %+v", c.Realms[0].Roles)
	}
}

func TestOptionalRealmsAndTransports(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, warn string }{
		{"empty lists", "version: 2\nworkers:\n  - {type: router, realms: [], transports: []}\n", "no transports: the router listens nowhere"},
		{"web only", "version: 2\nworkers:\n  - type: router\n    transports:\n      - {type: web, endpoint: {type: tcp, port: 0}, paths: {\"/\": {type: redirect, url: \"https://example.com/\"}}}\n", ""},
		{"websocket without realms", "version: 2\nworkers:\n  - type: router\n    transports:\n      - {type: websocket, endpoint: {type: tcp, port: 0}}\n", "no realms: every WAMP session will be refused"},
		{"guests only", "version: 2\nworkers:\n  - {type: guest, executable: /bin/true}\n", "no router worker: nothing is routed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ws := mustParse(t, "o.yaml", tc.text)
			if tc.warn != "" && !hasWarning(ws, tc.warn) {
				t.Errorf("no warning %q in:\n%s", tc.warn, strings.Join(warnStrings(ws), "\n"))
			}
			if _, err := router.New(router.Options{Realms: c.Realms}); err != nil {
				t.Errorf("router.New: %v", err)
			}
		})
	}
}

// TestUnsetSecretVariable: an unset ${VAR} is a warning (as in Crossbar),
// and the principal is left out, never given the literal text as secret.
func TestUnsetSecretVariable(t *testing.T) {
	t.Parallel()
	c, ws := mustParse(t, "e.yaml", minimalHead+`      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket: {type: static, principals: {a: {ticket: "${TOLLGATE_TEST_NEVER_SET}", role: anonymous}, b: {ticket: fixed, role: anonymous}}}
          wampcra: {type: static, users: {a: {secret: "${TOLLGATE_TEST_NEVER_SET}", role: anonymous}}}
`)
	if !hasWarning(ws, "e.yaml:14:59:", "TOLLGATE_TEST_NEVER_SET is not set", "nobody can log in") {
		t.Errorf("warnings:\n%s", strings.Join(warnStrings(ws), "\n"))
	}
	for _, m := range c.Transports[0].RawSocket.Auth {
		if _, in := m.Ticket.Principals["a"]; in {
			t.Errorf("ticket principal a kept: %+v", m.Ticket.Principals)
		}
		if _, in := m.WAMPCRA.Users["a"]; in {
			t.Errorf("wampcra user a kept")
		}
		if m.Method == "ticket" && len(m.Ticket.Principals) != 1 {
			t.Errorf("ticket principals = %v, want b only", m.Ticket.Principals)
		}
	}
}

func TestSkippedAndRefusedServices(t *testing.T) {
	t.Parallel()
	_, ws, err := Parse("s.yaml", []byte(minimalHead+`      - type: web
        endpoint: {type: tcp, port: 0}
        paths:
          ws: {type: websocket}
          lp: {type: longpoll, options: {request_timeout: 10}}
          app: {type: wsgi, module: app, object: app}
          up: {type: upload, realm: realm1, role: anonymous, directory: x, form_fields: {}}
          pub: {type: publisher, realm: realm1, role: anonymous}
          hook: {type: webhook, realm: realm1, role: anonymous, options: {}}
  - type: container
    realms: nothing checked here
  - type: proxy
`))
	got := errLines(t, err)
	want := []string{
		`s.yaml:18:23: workers[0].transports[0].paths.pub.type: path service type "publisher" (HTTP bridge) is not supported by Tollgate: it lets HTTP clients publish in a realm, and Tollgate does not implement it yet; use a WAMP client for that`,
		`s.yaml:19:24: workers[0].transports[0].paths.hook.type: path service type "webhook" (HTTP bridge) is not supported by Tollgate: it lets HTTP clients publish webhook events in a realm, and Tollgate does not implement it yet; use a WAMP client for that`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range [][]string{
		{"s.yaml:15:11:", `"longpoll"`, "every current browser speaks WebSocket"},
		{"s.yaml:16:11:", `"wsgi"`, "gunicorn"},
		{"s.yaml:17:11:", `"upload"`},
		{"s.yaml:20:11:", `worker type "container" is not run`, "ordinary WAMP client"},
		{"s.yaml:22:11:", `worker type "proxy" is not run`},
	} {
		if !hasWarning(ws, w...) {
			t.Errorf("no warning %q in:\n%s", w, strings.Join(warnStrings(ws), "\n"))
		}
	}
}

func TestGuestWorker(t *testing.T) {
	t.Setenv("TOLLGATE_TEST_GUEST_KEEP", "kept")
	c, _ := mustParse(t, filepath.Join("/srv/node", "g.yaml"), `version: 2
workers:
  - type: guest
    id: backend
    executable: ./bin/backend
    arguments: [--port, "9000"]
    options:
      workdir: app
      env: {inherit: [TOLLGATE_TEST_GUEST_KEEP], vars: {MODE: test}}
      stdout: log
      stderr: drop
      restart: on-failure
  - {type: guest, executable: python3}
`)
	want := Guest{Name: "backend", Executable: "/srv/node/bin/backend", Arguments: []string{"--port", "9000"},
		Workdir: "/srv/node/app", Env: []string{"TOLLGATE_TEST_GUEST_KEEP=kept", "MODE=test"},
		Stdout: "log", Stderr: "drop", Restart: "on-failure"}
	if len(c.Guests) != 2 {
		t.Fatalf("guests = %+v", c.Guests)
	}
	g := c.Guests[0]
	if g.Name != want.Name || g.Executable != want.Executable || !slices.Equal(g.Arguments, want.Arguments) ||
		g.Workdir != want.Workdir || !slices.Equal(g.Env, want.Env) || g.Stdout != want.Stdout ||
		g.Stderr != want.Stderr || g.Restart != want.Restart {
		t.Errorf("guest = %+v\nwant    %+v", g, want)
	}
	if g2 := c.Guests[1]; g2.Name != "worker2" || g2.Executable != "python3" || g2.Restart != "never" || g2.Workdir != "/srv/node" {
		t.Errorf("second guest = %+v", g2)
	}
	_, _, err := Parse("g.yaml", []byte("version: 2\nworkers:\n  - {type: guest, executable: x, options: {restart: sometimes, stdout: tee}}\n"))
	if got := errLines(t, err); len(got) != 2 || !strings.Contains(got[0], "options.restart: must be one of") || !strings.Contains(got[1], "options.stdout: must be one of") {
		t.Errorf("errors = %q", got)
	}
}

// webConfig writes a directory tree and serves a web transport with every
// supported path service on 127.0.0.1, returning its base URL.
func webConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	site := filepath.Join(dir, "site")
	for name, body := range map[string]string{
		"site/index.html":       "<h1>home</h1>",
		"site/app.js":           "console.log(1)",
		"site/pic.svg":          "<svg/>",
		"site/data.wasm":        "\x00asm",
		"site/docs/a.txt":       "alpha",
		"site/noindex/b.txt":    "beta",
		"secret.txt":            "outside",
		"listing/x.txt":         "x",
		"spa/index.html":        "spa shell",
		"spa/assets/style.css":  "body{}",
		"site/docs/index.html":  "docs index",
		"listing/sub/inner.txt": "inner",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(site, "escape.txt")); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.yaml")
	text := minimalHead + `      - type: web
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
        paths:
          "/": {type: static, directory: site, options: {mime_types: {.wasm: application/wasm}}}
          ws: {type: websocket}
          list: {type: static, directory: listing, options: {enable_directory_listing: true, cache_timeout: 60}}
          spa: {type: static, directory: spa, options: {default_file: index.html, cache_timeout: null}}
          go: {type: redirect, url: "https://example.com/next"}
          config: {type: json, value: {realm: realm1, ports: [1, 2]}, options: {allow_cross_origin: true, discourage_caching: true}}
          info: {type: nodeinfo}
`
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(router.Options{Realms: c.Realms})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); r.ServeTransport(ln, ls[0].Transport) }()
	t.Cleanup(func() { r.Shutdown(context.Background()); <-done })
	return "http://" + ln.Addr().String()
}

func TestWebServices(t *testing.T) {
	t.Parallel()
	base := webConfig(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path, status, body string
		header             map[string]string
	}{
		{"/", "200", "<h1>home</h1>", map[string]string{"Cache-Control": "public, max-age=43200", "Content-Type": "text/html; charset=utf-8"}},
		{"/app.js", "200", "console.log(1)", map[string]string{"Content-Type": "text/javascript; charset=utf-8"}},
		{"/pic.svg", "200", "<svg/>", map[string]string{"Content-Type": "image/svg+xml"}},
		{"/data.wasm", "200", "\x00asm", map[string]string{"Content-Type": "application/wasm"}},
		{"/docs", "301", "", map[string]string{"Location": "/docs/"}},
		{"/docs/", "200", "docs index", nil},
		{"/docs/a.txt", "200", "alpha", nil},
		{"/noindex/", "404", "", nil},               // no listing unless enabled
		{"/missing.txt", "404", "", nil},            // no default_file here
		{"/escape.txt", "403", "", nil},             // a symlink out of the directory
		{"/../secret.txt", "404", "", nil},          // cleaned to /secret.txt, which is not in site/
		{"/%2e%2e/secret.txt", "404", "", nil},      // encoded dots are cleaned the same way
		{"/docs/..%2f..%2fsecret.txt", "", "", nil}, // whatever the status: never the file
		{"/list/", "200", `<a href="x.txt">x.txt</a>`, map[string]string{"Cache-Control": "no-cache"}},
		{"/list/x.txt", "200", "x", map[string]string{"Cache-Control": "public, max-age=60"}},
		{"/list/sub/inner.txt", "200", "inner", nil},
		{"/spa/assets/style.css", "200", "body{}", map[string]string{"Cache-Control": "no-cache"}},
		{"/spa/some/client/route", "200", "spa shell", nil},
		{"/go", "302", "", map[string]string{"Location": "https://example.com/next"}},
		{"/config", "200", `{"ports":[1,2],"realm":"realm1"}`, map[string]string{"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store, must-revalidate", "Content-Type": "application/json; charset=utf-8"}},
		{"/info", "200", `"server":"tollgate"`, nil},
		{"/ws", "426", "", nil}, // the WebSocket path still wins over "/"
	} {
		resp, err := noRedirect.Get(base + tc.path)
		if err != nil {
			t.Errorf("GET %s: %v", tc.path, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "outside") {
			t.Errorf("GET %s served a file outside the directory", tc.path)
		}
		if tc.status != "" && !strings.HasPrefix(resp.Status, tc.status) {
			t.Errorf("GET %s: status %s, want %s (body %q)", tc.path, resp.Status, tc.status, b)
			continue
		}
		if tc.status == "200" && !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s: body %q, want %q", tc.path, b, tc.body)
		}
		for k, v := range tc.header {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, v)
			}
		}
	}
	resp, err := http.Post(base+"/config", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /config: %s, want 405", resp.Status)
	}
}

func TestStaticDirectoryMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(minimalHead+"      - {type: web, endpoint: {type: tcp, port: 0}, paths: {\"/\": {type: static, directory: nope}}}\n"), 0o644)
	c, ws, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(ws, cfg+":11:92:", "nope does not exist", "404") {
		t.Errorf("warnings:\n%s", strings.Join(warnStrings(ws), "\n"))
	}
	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	ls[0].Transport.HTTP["/"].ServeHTTP(rec, httptest.NewRequest("GET", "/index.html", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET on a missing directory: %d, want 404", rec.Code)
	}
}

// TestVersion1: a file without version (or version 1) is read as Crossbar
// version 1, its permissions' action keys converted; in version 2 those
// keys stay errors.
func TestVersion1(t *testing.T) {
	t.Parallel()
	v1 := `workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: anonymous
            permissions:
              - {uri: "*", publish: true, subscribe: true, call: false, register: true}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}, serializer: msgpack, max_message_size: 1048576}
      - {type: websocket, endpoint: {type: tcp, port: 0}, serializers: [json, ubjson]}
`
	for _, head := range []string{"", "version: 1\n"} {
		c, ws := mustParse(t, "v1.yaml", head+v1)
		if !hasWarning(ws, "read as Crossbar version 1") {
			t.Errorf("%q: warnings:\n%s", head, strings.Join(warnStrings(ws), "\n"))
		}
		got := c.Realms[0].Roles[0].Permissions[0]
		if want := (authz.Actions{Publish: true, Subscribe: true, Register: true}); got.URI != "*" || got.Allow != want {
			t.Errorf("%q: permission = %+v", head, got)
		}
		rs := c.Transports[0].RawSocket
		if !slices.Equal(rs.Serializers, []string{"msgpack"}) || rs.MaxMessageSize != 1<<20 {
			t.Errorf("%q: rawsocket = %+v", head, rs)
		}
		if !hasWarning(ws, `serializer "ubjson" is not supported`, "cannot connect") {
			t.Errorf("%q: no ubjson warning", head)
		}
	}
	_, _, err := Parse("v2.yaml", []byte("version: 2\n"+v1))
	if got := errLines(t, err); len(got) != 4 || !strings.Contains(got[0], `unknown key "publish"`) {
		t.Errorf("version 2 with version 1 permissions: %q", got)
	}
}

func TestStoreCallQueueAndLabelIDs(t *testing.T) {
	t.Parallel()
	_, ws := mustParse(t, "q.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        id: io.crossbar.demo
        store: {type: memory, call-queue: [{uri: com.example.x}]}
        roles:
          - {name: anonymous, id: "Not An Id", permissions: []}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	for _, w := range [][]string{
		{"q.yaml:6:13:", `id "io.crossbar.demo" does not match`},
		{"q.yaml:7:31:", "calls are not queued", "no_such_procedure"},
		{"q.yaml:9:35:", `id "Not An Id" does not match`},
	} {
		if !hasWarning(ws, w...) {
			t.Errorf("no warning %q in:\n%s", w, strings.Join(warnStrings(ws), "\n"))
		}
	}
}
