package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runIn(t, "", args...)
}

// runIn runs Main with stdin holding input.
func runIn(t *testing.T, input string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(input), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodConfig = `version: 2
controller: {}
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: anonymous
            permissions:
              - {uri: "", match: prefix, allow: {call: true, register: true, publish: true, subscribe: true}}
    transports:
      - type: web
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
        paths:
          ws: {type: websocket}
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
`

func TestCheck(t *testing.T) {
	t.Parallel()
	good := writeFile(t, "good.yaml", goodConfig)
	bad := writeFile(t, "bad.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: ""
    transports:
      - type: websocket
        endpoint: {type: tcp, port: "80a", portt: 1}
`)
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // lines expected, in order
		stderr   []string
		noStdout bool
		noStderr bool
	}{
		{"good", []string{"check", good}, 0,
			[]string{
				"warning: " + good + ":2:1: controller: ignored: Tollgate has no node controller",
				"config OK: 1 realm (realm1), 2 transports (web on 127.0.0.1:0, rawsocket on 127.0.0.1:0)",
			}, nil, false, true},
		{"bad", []string{"check", bad}, 1, nil,
			[]string{
				bad + `:5:15: workers[0].realms[0].name: empty realm name`,
				bad + `:8:37: workers[0].transports[0].endpoint.port: must be an integer 0-65535, got string "80a"`,
				bad + `:8:44: workers[0].transports[0].endpoint: unknown key "portt"`,
			}, true, false},
		{"missing file", []string{"check", filepath.Join(t.TempDir(), "nope.yaml")}, 1, nil,
			[]string{"no such file or directory"}, true, false},
		{"no file", []string{"check"}, 2, nil, []string{"usage: tollgate check [--strict] FILE"}, true, false},
		{"two files", []string{"check", good, good}, 2, nil, []string{"usage: tollgate check [--strict] FILE"}, true, false},
		{"example dev", []string{"check", "../../examples/configs/dev.yaml"}, 0, []string{"config OK: 1 realm (realm1)"}, nil, false, true},
		{"example auth", []string{"check", "../../examples/configs/auth.yaml"}, 0,
			[]string{"config OK: 2 realms (com.example.app, com.example.auth), 3 transports (web on :8080, universal on :8443 (tls), rawsocket on unix:"}, nil, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			if tc.noStdout && stdout != "" {
				t.Errorf("unexpected stdout: %s", stdout)
			}
			if tc.noStderr && stderr != "" {
				t.Errorf("unexpected stderr: %s", stderr)
			}
			containsInOrder(t, "stdout", stdout, tc.stdout)
			containsInOrder(t, "stderr", stderr, tc.stderr)
		})
	}
}

func containsInOrder(t *testing.T, what, text string, want []string) {
	t.Helper()
	rest := text
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("%s lacks (in order) %q:\n%s", what, w, text)
			return
		}
		rest = rest[i+len(w):]
	}
}

// TestVersion: `tollgate version` prints router.Version, the value
// WELCOME's agent carries.
func TestVersion(t *testing.T) {
	// Not parallel: it sets the package variable.
	code, stdout, _ := run(t, "version")
	if code != 0 || stdout != "tollgate "+router.Version+"\n" {
		t.Errorf("version: code %d, stdout %q, want %q", code, stdout, "tollgate "+router.Version+"\n")
	}
	old := router.Version
	router.Version = "v1.2.3"
	defer func() { router.Version = old }()
	if code, stdout, _ := run(t, "--version"); code != 0 || stdout != "tollgate v1.2.3\n" {
		t.Errorf("--version: code %d, stdout %q", code, stdout)
	}
	if code, _, stderr := run(t, "version", "x"); code != 2 || stderr == "" {
		t.Errorf("version x: code %d, stderr %q", code, stderr)
	}
}

// TestVersionFromLdflags builds the binary with -ldflags -X and checks
// that `tollgate version` and a real session's WELCOME agent both report
// the value set at link time.
func TestVersionFromLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	const want = "v9.8.7-test"
	bin := filepath.Join(t.TempDir(), "tollgate")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	build := exec.Command(goBin, "build", "-o", bin,
		"-ldflags", "-X github.com/tollgate-wamp/tollgate/router.Version="+want, "../../cmd/tollgate")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "version").Output(); err != nil || string(out) != "tollgate "+want+"\n" {
		t.Fatalf("tollgate version = %q, %v; want %q", out, err, "tollgate "+want+"\n")
	}

	cfg := writeFile(t, "c.yaml", goodConfig)
	var stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := exec.CommandContext(ctx, bin, "start", "--config", cfg, "--log-format", "json")
	start.Stderr = &stderr
	if err := start.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan int, 1)
	go func() {
		start.Wait()
		exited <- start.ProcessState.ExitCode()
	}()
	defer func() {
		start.Process.Signal(os.Interrupt)
		<-exited
	}()
	addrs := waitListening(t, &stderr, 2, exited) // in config order: web, rawsocket
	s, err := client.Dial(ctx, "tcp://"+addrs[1], client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatalf("join: %v; log:\n%s", err, stderr.String())
	}
	defer s.Close(context.Background())
	if agent, _ := wamp.OptString(s.Info().Details, "agent"); agent != "tollgate-"+want {
		t.Errorf("WELCOME agent = %q, want %q", agent, "tollgate-"+want)
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		code       int
		onStdout   bool
		extraError string
	}{
		{"no args", nil, 0, true, ""},
		{"help", []string{"help"}, 0, true, ""},
		{"--help", []string{"--help"}, 0, true, ""},
		{"-h", []string{"-h"}, 0, true, ""},
		{"unknown", []string{"frobnicate"}, 2, false, `tollgate: unknown command "frobnicate"`},
		{"start bad flag", []string{"start", "--nope"}, 2, false, "flag provided but not defined: -nope"},
		{"start bad level", []string{"start", "--log-level", "loud"}, 2, false, `--log-level must be debug, info, warn or error, got "loud"`},
		{"start bad format", []string{"start", "--log-format", "xml"}, 2, false, `--log-format must be text or json, got "xml"`},
		{"start stray arg", []string{"start", "config.yaml"}, 2, false, `unexpected argument "config.yaml" (use --config FILE)`},
		{"passwd stray arg", []string{"passwd", "secret"}, 2, false, `unexpected argument "secret" (the password is read from stdin)`},
		{"passwd bad flag", []string{"passwd", "--password"}, 2, false, "flag provided but not defined: -password"},
		{"keygen stray arg", []string{"keygen", "key.txt"}, 2, false, `unexpected argument "key.txt" (use --out FILE)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := run(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			out, other := stdout, stderr
			if !tc.onStdout {
				out, other = stderr, stdout
			}
			if tc.extraError != "" {
				if !strings.Contains(out, tc.extraError) {
					t.Errorf("output lacks %q:\n%s", tc.extraError, out)
				}
				return
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, "tollgate start") || !strings.Contains(out, "tollgate check [--strict] FILE") ||
				!strings.Contains(out, "tollgate passwd [--password-stdin]") || !strings.Contains(out, "tollgate keygen [--out FILE]") {
				t.Errorf("usage text missing:\n%s", out)
			}
			if other != "" {
				t.Errorf("unexpected output on the other stream: %q", other)
			}
		})
	}
}

func TestStartBadConfig(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, "bad.yaml", "version: 2\nworkers: [{type: hub}]\n")
	code, _, stderr := run(t, "start", "--config", bad)
	if code != 1 || !strings.Contains(stderr, "invalid config:\n"+bad+`:2:18: workers[0].type: unknown worker type "hub"`) {
		t.Errorf("code %d, stderr:\n%s", code, stderr)
	}
	// Valid, but nothing to run: start says so instead of idling forever.
	empty := writeFile(t, "empty.yaml", "version: 2\nworkers: []\n")
	code, _, stderr = run(t, "start", "--config", empty)
	if code != 1 || !strings.Contains(stderr, "nothing to run") {
		t.Errorf("code %d, stderr:\n%s", code, stderr)
	}
	code, _, stderr = run(t, "start", "--config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 1 || !strings.Contains(stderr, "no such file or directory") {
		t.Errorf("code %d, stderr:\n%s", code, stderr)
	}
}

// TestStartListenFails: a port already taken makes start fail with 1.
func TestStartListenFails(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	cfg := writeFile(t, "c.yaml", strings.Replace(goodConfig, "port: 0}\n        paths", "port: "+itoa(port)+"}\n        paths", 1))
	code, _, stderr := run(t, "start", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "cannot listen") || !strings.Contains(stderr, "address already in use") {
		t.Errorf("code %d, stderr:\n%s", code, stderr)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestStart runs the router on random ports, checks that every bound
// address is logged and accepts connections, then cancels the context and
// expects a clean exit.
func TestStart(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "c.yaml", goodConfig)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"start", "--config", cfg, "--log-format", "json", "--log-level", "debug"}, strings.NewReader(""), &stdout, &stderr)
	}()

	addrs := waitListening(t, &stderr, 2, done)
	for _, a := range addrs {
		if strings.HasSuffix(a, ":0") {
			t.Errorf("logged address %s is not the bound one", a)
		}
		conn, err := net.DialTimeout("tcp", a, 5*time.Second)
		if err != nil {
			t.Errorf("dial %s: %v", a, err)
			continue
		}
		conn.Close()
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("start did not return after cancel; log:\n%s", stderr.String())
	}
	if stdout.String() != "" {
		t.Errorf("unexpected stdout: %s", stdout.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no 'stopped' log line:\n%s", stderr.String())
	}
}

// TestStartDefault: without --config the embedded default is used and the
// log says so. The default binds fixed ports (8080/8081), so the test stops
// short of listening.
func TestStartDefault(t *testing.T) {
	t.Parallel()
	var logBuf, stderr bytes.Buffer
	log, err := newLogger(&logBuf, "info", "text")
	if err != nil {
		t.Fatal(err)
	}
	cfg, code := loadConfig("", false, log, &stderr)
	if cfg == nil || code != 0 {
		t.Fatalf("loadConfig(\"\") = %v, %d; stderr %s", cfg, code, stderr.String())
	}
	if got := cfg.Summary(); got != "1 realm (realm1), 2 transports (web on 127.0.0.1:8080, rawsocket on 127.0.0.1:8081)" {
		t.Errorf("default summary = %q", got)
	}
	if !strings.Contains(logBuf.String(), "level=INFO") || !strings.Contains(logBuf.String(), "embedded development default") ||
		!strings.Contains(logBuf.String(), "--config FILE") {
		t.Errorf("log lacks the development-default notice:\n%s", logBuf.String())
	}
}

// waitListening waits for n "listening" log records and returns their addresses.
func waitListening(t *testing.T, log *syncBuffer, n int, done <-chan int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		var addrs []string
		for _, line := range strings.Split(log.String(), "\n") {
			var rec struct {
				Msg     string `json:"msg"`
				Address string `json:"address"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addrs = append(addrs, rec.Address)
			}
		}
		if len(addrs) == n {
			return addrs
		}
		select {
		case code := <-done:
			t.Fatalf("start exited with %d before listening; log:\n%s", code, log.String())
		case <-deadline:
			t.Fatalf("no %d listening lines; log:\n%s", n, log.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestStartStatusAndSignals (not parallel: the signal reaches every
// router this process runs) starts a router with a metrics path, reads
// `tollgate status` from it, and steps the log level with SIGUSR1.
func TestStartStatusAndSignals(t *testing.T) {
	text := strings.Replace(goodConfig, "ws: {type: websocket}", "ws: {type: websocket}\n          metrics: {type: metrics}", 1)
	text = strings.Replace(text, "      - name: realm1\n", "      - name: realm1\n        options: {audit: true}\n", 1)
	cfg := writeFile(t, "c.yaml", text)
	auditFile := filepath.Join(t.TempDir(), "audit.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"start", "--config", cfg, "--log-format", "json", "--log-level", "info", "--audit-log", auditFile}, strings.NewReader(""), &stdout, &stderr)
	}()
	addrs := waitListening(t, &stderr, 2, done)

	// SIGHUP reopens the audit log: after logrotate moved it, a new file
	// appears at the path.
	if err := os.Rename(auditFile, auditFile+".1"); err != nil {
		t.Fatalf("audit log not created: %v", err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	logged := func(want string) func() bool { return func() bool { return strings.Contains(stderr.String(), want) } }
	waitLog(t, &stderr, done, "audit reopen", logged(`"msg":"audit log reopened (SIGHUP)"`))
	waitLog(t, &stderr, done, "reload", logged(`"msg":"config reloaded (SIGHUP)"`))
	if _, err := os.Stat(auditFile); err != nil {
		t.Errorf("no new audit file after SIGHUP: %v", err)
	}

	code, out, errOut := run(t, "status", "--url", "http://"+addrs[0]+"/status")
	if code != 0 || !strings.Contains(out, "realm realm1: 0 sessions, 0 registrations, 0 subscriptions, authz cache 0 entries") ||
		!strings.Contains(out, "config       "+cfg) || !strings.Contains(out, " ok\n") {
		t.Errorf("status: %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "status", "--url", "http://"+addrs[1]+"/status"); code != 1 || !strings.Contains(errOut, "tollgate status: ") {
		t.Errorf("status of a RawSocket port: %d %s", code, errOut)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitLog(t, &stderr, done, "level change", logged(`"msg":"log level changed (SIGUSR1)","new_level":"WARN"`))
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
	// At warn, the info line "stopped" is no longer written.
	if strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Errorf("info logged after the switch to warn:\n%s", stderr.String())
	}
}
