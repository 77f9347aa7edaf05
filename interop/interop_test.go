package interop

// The harness: build the tollgate binary once, start it per test on a copy of
// configs/interop.yaml (every port 0; the real addresses come from its
// "listening" log records), run a client program with a JSON spec, and read
// back one JSON line per case. Expectations and the case matrix are in
// cases_test.go.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	// tollgateBin is the binary TestMain built (with -race when the tests
	// run with -race, so real clients exercise the race detector too).
	tollgateBin string

	// clientSlots bounds the client programs running at once: each is a
	// Python or Node process plus a router, on a 2-core machine.
	clientSlots = make(chan struct{}, 3)
)

// transportIDs are the transports of configs/interop.yaml.
var transportIDs = []string{"ws_anon", "rs_anon", "ws_auth", "rs_auth", "ws_tls", "rs_tls"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "tollgate-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if tollgateBin = os.Getenv("TOLLGATE_INTEROP_BIN"); tollgateBin != "" {
		// A binary built elsewhere, e.g. from a clean checkout while the
		// working tree is mid-edit.
		return runAndCheckLeaks(m)
	}
	tollgateBin = filepath.Join(dir, "tollgate")
	args := []string{"build"}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "-o", tollgateBin, "github.com/tollgate-wamp/tollgate/cmd/tollgate")
	build := exec.Command(goTool(), args...)
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: go %s: %v\n%s", strings.Join(args, " "), err, out)
		return 1
	}
	return runAndCheckLeaks(m)
}

func runAndCheckLeaks(m *testing.M) int {
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "interop: goroutine leak:", err)
			return 1
		}
	}
	return code
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// ------------------------------------------------------------------ router

// routerProc is one running tollgate process.
type routerProc struct {
	addr map[string]string // transport id → host:port

	mu  sync.Mutex
	log bytes.Buffer
}

func (r *routerProc) logText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.log.String()
}

func (r *routerProc) wsURL(id string) string  { return "ws://" + r.addr[id] + "/ws" }
func (r *routerProc) tcpURL(id string) string { return "tcp://" + r.addr[id] }
func (r *routerProc) wssURL(id string) string { return "wss://" + r.addr[id] + "/ws" }
func (r *routerProc) tlsURL(id string) string { return "tls://" + r.addr[id] }

// startRouter runs tollgate on a copy of configs/interop.yaml and returns
// once every transport is listening. Cleanup stops it with SIGTERM and fails
// the test if it does not exit cleanly or logged an error or a panic.
func startRouter(t *testing.T) *routerProc {
	t.Helper()
	return startRouterWith(t, "interop.yaml", transportIDs)
}

// startRouterWith is startRouter for configs/<config> (beside configs/tls)
// whose transports are ids.
func startRouterWith(t *testing.T, config string, ids []string) *routerProc {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{config, "tls/cert.pem", "tls/key.pem"} {
		b, err := os.ReadFile(filepath.Join("configs", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, config)
	cmd := exec.Command(tollgateBin, "start", "--config", path, "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &routerProc{addr: map[string]string{}}
	type listening struct{ id, addr string }
	ready := make(chan listening, len(ids))
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			line := sc.Bytes()
			r.mu.Lock()
			r.log.Write(line)
			r.log.WriteByte('\n')
			r.mu.Unlock()
			var rec struct{ Msg, Transport, Address string }
			if json.Unmarshal(line, &rec) == nil && rec.Msg == "listening" {
				ready <- listening{rec.Transport, rec.Address}
			}
		}
	}()
	exited := make(chan error, 1)
	go func() {
		<-scanned
		exited <- cmd.Wait()
	}()

	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("tollgate exited with %v; log:\n%s", err, r.logText())
				}
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Errorf("tollgate did not stop within 20s of SIGTERM; log:\n%s", r.logText())
			}
		}
		if bad := routerLogProblems(r.logText()); bad != "" {
			t.Errorf("tollgate logged errors:\n%s", bad)
		}
	})

	deadline := time.After(60 * time.Second) // a -race binary starts slowly on a busy machine
	for len(r.addr) < len(ids) {
		select {
		case l := <-ready:
			r.addr[l.id] = l.addr
		case err := <-exited:
			stopped = true
			t.Fatalf("tollgate exited before listening: %v; log:\n%s", err, r.logText())
		case <-deadline:
			t.Fatalf("tollgate not listening on %v within 60s; log:\n%s", ids, r.logText())
		}
	}
	return r
}

// routerLogProblems returns the log records at level ERROR and anything
// mentioning a panic.
func routerLogProblems(log string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(log, "\n") {
		var rec struct{ Level string }
		if (json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "ERROR") || strings.Contains(line, "panic") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// ------------------------------------------------------------------ clients

// spec is what a client program gets as its only argument.
type spec struct {
	URL        string         `json:"url"`
	AuthURL    string         `json:"auth_url,omitempty"`
	TLSURL     string         `json:"tls_url,omitempty"`
	CAFile     string         `json:"ca_file,omitempty"` // PEM file to verify the TLS transports
	Serializer string         `json:"serializer"`
	Realm      string         `json:"realm"`
	Cases      []string       `json:"cases,omitempty"`
	Serve      bool           `json:"serve,omitempty"`
	Data       map[string]any `json:"data"`
}

// caseLine is one line a client program prints per case.
type caseLine struct {
	Case   string          `json:"case"`
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
	Trace  string          `json:"trace"`
}

// clientArgv is the command line for client ("python", "autobahn-js",
// "wampy") with the JSON spec, or a reason it cannot run here.
func clientArgv(client string, s spec) ([]string, error) {
	js, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	switch client {
	case "python":
		py, err := pythonBin()
		if err != nil {
			return nil, err
		}
		return []string{py, filepath.Join("python", "client.py"), string(js)}, nil
	case "autobahn-js", "wampy":
		node, err := nodeArgv()
		if err != nil {
			return nil, err
		}
		script := map[string]string{"autobahn-js": "autobahn.js", "wampy": "wampy.js"}[client]
		return append(node, filepath.Join("js", script), string(js)), nil
	}
	return nil, fmt.Errorf("unknown client %q", client)
}

var pythonBin = sync.OnceValues(func() (string, error) {
	// Debian's python3-autobahn lives in /usr/lib/python3/dist-packages,
	// which a pyenv or venv python3 first on PATH does not see.
	cands := []string{"/usr/bin/python3", "python3"}
	if p := os.Getenv("TOLLGATE_PYTHON"); p != "" {
		cands = []string{p}
	}
	var errs []error
	for _, c := range cands {
		out, err := exec.Command(c, "-c", "import autobahn, msgpack, cbor2, nacl").CombinedOutput()
		if err == nil {
			return c, nil
		}
		errs = append(errs, fmt.Errorf("%s: %v: %s", c, err, bytes.TrimSpace(out)))
	}
	return "", fmt.Errorf("no python3 with autobahn, msgpack, cbor2 and nacl (./scripts/test installs python3-autobahn python3-msgpack python3-cbor2 python3-nacl): %w", errors.Join(errs...))
})

var nodeArgv = sync.OnceValues(func() ([]string, error) {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("node not found (./scripts/test needs Node.js >= 20): %v", err)
	}
	m := regexp.MustCompile(`^v(\d+)\.`).FindSubmatch(bytes.TrimSpace(out))
	if m == nil {
		return nil, fmt.Errorf("cannot parse node --version %q", out)
	}
	major, _ := strconv.Atoi(string(m[1]))
	if major < 20 {
		return nil, fmt.Errorf("node %s is too old: the JS clients need >= 20", bytes.TrimSpace(out))
	}
	if _, err := os.Stat(filepath.Join("node_modules", "autobahn", "package.json")); err != nil {
		return nil, fmt.Errorf("interop/node_modules missing: run `npm ci` in interop/ (./scripts/test does)")
	}
	argv := []string{"node"}
	if major < 22 {
		// Autobahn|JS 26 and our wampy driver use the global WebSocket,
		// built in from Node 22 and behind this flag on Node 20 and 21.
		argv = append(argv, "--experimental-websocket")
	}
	return argv, nil
})

// runClient runs client with s and returns its case lines by name, and its
// stderr for diagnostics. A client that cannot start, exits non-zero or
// times out fails the test.
func runClient(t *testing.T, client string, s spec) (map[string]caseLine, string) {
	t.Helper()
	argv, err := clientArgv(client, s)
	if err != nil {
		t.Fatal(err)
	}
	clientSlots <- struct{}{}
	defer func() { <-clientSlots }()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("%s ran %d cases in %v", client, len(s.Cases), time.Since(start).Round(time.Millisecond))
	lines := parseCaseLines(stdout.Bytes())
	if err != nil {
		t.Errorf("%s exited: %v\nstdout:\n%s\nstderr:\n%s", client, err, tail(stdout.String(), 4000), tail(stderr.String(), 4000))
	}
	return lines, stderr.String()
}

func parseCaseLines(out []byte) map[string]caseLine {
	lines := map[string]caseLine{}
	for line := range bytes.SplitSeq(out, []byte("\n")) {
		var cl caseLine
		if bytes.HasPrefix(line, []byte("{")) && json.Unmarshal(line, &cl) == nil && cl.Case != "" {
			lines[cl.Case] = cl
		}
	}
	return lines
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
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

// ------------------------------------------------------------------ checking

// checkCase compares one case line with want, honouring pendingFeature:
// a pending case must fail (it is logged), and fails the test if it passes.
func checkCase(t *testing.T, v variant, name string, got caseLine, printed bool, want any, stderr string) {
	t.Helper()
	var problem string
	switch {
	case !printed:
		problem = "the client printed no result for this case"
	case got.Error != "":
		problem = "client error: " + got.Error
		if got.Trace != "" {
			problem += "\n" + tail(got.Trace, 1500)
		}
	default:
		if diff := compareJSON(got.Result, want); diff != "" {
			problem = diff
		}
	}
	if key, reason, ok := pending(v, name); ok {
		if problem == "" {
			t.Errorf("case %s passes with %s now, but pendingFeature[%q] says %q: remove that entry from interop/cases_test.go", name, v, key, reason)
		} else {
			t.Logf("expected failure (pendingFeature[%q]: %s):\n%s", key, reason, problem)
		}
		return
	}
	if problem != "" {
		t.Errorf("%s\n--- client stderr (tail):\n%s", problem, tail(stderr, 2000))
	}
}

// compareJSON returns "" when got (JSON) equals want (any JSON-able value)
// as JSON values, else both, one per line.
func compareJSON(got json.RawMessage, want any) string {
	wantJS, err := json.Marshal(want)
	if err != nil {
		return "bad expectation: " + err.Error()
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return "bad result JSON: " + err.Error()
	}
	if err := json.Unmarshal(wantJS, &w); err != nil {
		return "bad expectation JSON: " + err.Error()
	}
	if reflect.DeepEqual(g, w) {
		return ""
	}
	gotJS, _ := json.Marshal(g)
	return fmt.Sprintf("got:  %s\nwant: %s", gotJS, wantJS)
}
