package interop

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestSeedAuthorizers: the Crossbar guide's three-argument authorizers,
// authorize(session, uri, action) as a function and as an
// ApplicationSession method, run unchanged in Autobahn|Python and decide
// every action of their roles (issue 14, part 1). The router learns the
// signature once per authorizer; no decision fails.
func TestSeedAuthorizers(t *testing.T) {
	t.Parallel()
	py, err := pythonBin()
	if err != nil {
		t.Fatal(err)
	}
	r := startRouterWith(t, "seed.yaml", []string{"backdoor", "function", "method"})
	backend := startSeedBackend(t, py, r.wsURL("backdoor"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []struct{ role, prints string }{
		{"function", "authorize("},
		{"method", "MyAuthorizer.authorize("},
	} {
		s, err := client.Dial(ctx, r.wsURL(c.role), client.Config{Realm: "realm1"})
		if err != nil {
			t.Fatalf("%s: join: %v", c.role, err)
		}
		defer s.Close(context.Background())
		if res, err := s.Call(ctx, "com.seed.echo", wamp.List{"hi"}, nil); err != nil || res.Arg(0) != "hi" {
			t.Errorf("%s: call com.seed.echo = %v, %v; want hi", c.role, res, err)
		}
		if _, err := s.Subscribe(ctx, "com.seed.news", func(context.Context, *client.Event) {}); err != nil {
			t.Errorf("%s: subscribe com.seed.news: %v", c.role, err)
		}
		_, err = s.Call(ctx, "com.seed.secret.plans", nil, nil)
		if we := (*client.Error)(nil); !errors.As(err, &we) || we.URI != wamp.ErrNotAuthorized {
			t.Errorf("%s: call com.seed.secret.plans: %v, want %s (the authorizer's false)", c.role, err, wamp.ErrNotAuthorized)
		}
		for _, q := range []string{"com.seed.echo, call)", "com.seed.news, subscribe)", "com.seed.secret.plans, call)"} {
			backend.expect(t, c.prints, q)
		}
	}
	log := r.logText()
	for _, proc := range []string{"com.seed.authorize_function", "com.seed.authorize_method"} {
		n := 0
		for line := range strings.SplitSeq(log, "\n") {
			if strings.Contains(line, "authorizer signature learned") && strings.Contains(line, `"authorizer":"`+proc+`"`) && strings.Contains(line, `"args":3`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: learned the 3-argument signature %d times, want once; log:\n%s", proc, n, tail(log, 4000))
		}
	}
	if strings.Contains(log, "authorization failed") || strings.Contains(log, "authorizer call failed") {
		t.Errorf("a decision failed; log:\n%s", tail(log, 4000))
	}
}

// seedBackend is a running python/seed_authorizer.py.
type seedBackend struct {
	lines chan string // its stdout, line by line; closed when it exits
	seen  syncBuffer  // everything expect has read, for messages
}

// expect reads the backend's output up to a line that starts with prefix
// and ends with suffix.
func (b *seedBackend) expect(t *testing.T, prefix, suffix string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-b.lines:
			if !ok {
				t.Fatalf("seed_authorizer.py exited before printing %s...%s:\n%s", prefix, suffix, b.seen.String())
			}
			b.seen.Write([]byte(line + "\n"))
			if strings.HasPrefix(line, prefix) && strings.HasSuffix(line, suffix) {
				return
			}
		case <-deadline:
			t.Fatalf("seed_authorizer.py did not print %s...%s within 30s:\n%s", prefix, suffix, b.seen.String())
		}
	}
}

// startSeedBackend runs python/seed_authorizer.py against url and returns
// once it has registered everything. Cleanup kills it.
func startSeedBackend(t *testing.T, py, url string) *seedBackend {
	t.Helper()
	cmd := exec.Command(py, filepath.Join("python", "seed_authorizer.py"), url, "realm1")
	var errOut syncBuffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &seedBackend{lines: make(chan string, 1000)}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		defer close(b.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case b.lines <- sc.Text():
			default: // nobody reads that far: drop
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-scanned
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("seed_authorizer.py stderr:\n%s", tail(errOut.String(), 4000))
		}
	})
	b.expect(t, "ready", "")
	return b
}
