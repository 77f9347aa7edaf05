package interop

import (
	"bufio"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestRevokeWithPythonBackend: an Autobahn|Python authorizer calls
// tollgate.authorizer.revoke while the router asks it again about the Go
// client's live subscription and registration (issue 18, part 1). After
// revoke returns, an event to the revoked topic never reaches the client
// and a call to the revoked procedure finds no callee.
func TestRevokeWithPythonBackend(t *testing.T) {
	t.Parallel()
	py, err := pythonBin()
	if err != nil {
		t.Fatal(err)
	}
	r := startRouterWith(t, "revoke.yaml", []string{"backdoor", "front"})
	startPython(t, py, "revoke_backend.py", r.wsURL("backdoor"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, r.wsURL("front"), client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	events := make(chan wamp.URI, 10)
	for _, topic := range []wamp.URI{"com.rev.a", "com.rev.b"} {
		if _, err := s.Subscribe(ctx, topic, func(_ context.Context, e *client.Event) { events <- e.Topic }); err != nil {
			t.Fatalf("subscribe %s: %v", topic, err)
		}
	}
	if _, err := s.Register(ctx, "com.rev.proc", func() string { return "ok" }); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		uri, kind string
	}{{"com.rev.a", "subscriptions"}, {"com.rev.proc", "registrations"}} {
		res, err := s.Call(ctx, "com.rev.deny", wamp.List{c.uri}, nil)
		if err != nil {
			t.Fatalf("deny %s: %v", c.uri, err)
		}
		d, _ := res.Arg(0).(wamp.Dict)
		if n, _ := wamp.AsInt(d[c.kind]); n != 1 {
			t.Fatalf("revoke of %s = %v, want 1 of %s", c.uri, d, c.kind)
		}
	}
	for _, topic := range []wamp.URI{"com.rev.a", "com.rev.b"} {
		if err := s.Publish(ctx, topic, nil, nil, client.ExcludeMe(false), client.Acknowledge()); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	select {
	case got := <-events:
		if got != "com.rev.b" {
			t.Errorf("first event on %s: the revoked subscription still receives", got)
		}
	case <-ctx.Done():
		t.Fatal("no event on com.rev.b")
	}
	_, err = s.Call(ctx, "com.rev.proc", nil, nil)
	if we := (*client.Error)(nil); !errors.As(err, &we) || we.URI != wamp.ErrNoSuchProcedure {
		t.Errorf("call to the revoked registration: %v, want %s", err, wamp.ErrNoSuchProcedure)
	}
}

// startPython runs python/<script> URL realm1 and returns once it printed
// "ready". Cleanup kills it.
func startPython(t *testing.T, py, script, url string) {
	t.Helper()
	cmd := exec.Command(py, filepath.Join("python", script), url, "realm1")
	var errOut syncBuffer
	cmd.Stderr = &errOut
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- true
			}
		}
		close(ready)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", script, tail(errOut.String(), 4000))
		}
	})
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("%s exited before it was ready:\n%s", script, tail(errOut.String(), 4000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s not ready within 30s", script)
	}
}
