package cli

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

const reloadConfig = `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: anonymous
            permissions:
              - {uri: %PERM%, match: prefix, allow: {publish: true}}
    transports:
      - type: web
        id: web
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
        paths:
          ws: {type: websocket}
          metrics: {type: metrics}
%RAW%`

const rawTransport = `      - type: rawsocket
        id: raw
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
`

func reloadText(perm string, raw bool) string {
	t := strings.Replace(reloadConfig, "%PERM%", perm, 1)
	if raw {
		return strings.Replace(t, "%RAW%", rawTransport, 1)
	}
	return strings.Replace(t, "%RAW%", "", 1)
}

// TestReloadSIGHUP (not parallel: SIGHUP reaches every router of the
// process) reloads over real sockets: a permission granted to a connected
// session, a removed transport that stops listening while its connection
// stays, and a broken file refused with the old config still serving.
func TestReloadSIGHUP(t *testing.T) {
	cfg := writeFile(t, "r.yaml", reloadText("com.example.a", true))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"start", "--config", cfg, "--log-format", "json"}, strings.NewReader(""), &stdout, &stderr)
	}()
	addrs := waitListening(t, &stderr, 2, done)
	web, raw := addrs[0], addrs[1]
	logged := func(want string) func() bool { return func() bool { return strings.Contains(stderr.String(), want) } }
	hangup := func(file, want string) {
		t.Helper()
		if err := os.WriteFile(cfg, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitLog(t, &stderr, done, want, logged(want))
	}

	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	s, err := client.Dial(sctx, "tcp://"+raw, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	var ce *client.Error
	if err := s.Publish(sctx, "com.example.b", nil, nil, client.Acknowledge()); !errors.As(err, &ce) || ce.URI != wamp.ErrNotAuthorized {
		t.Fatalf("publish before reload: %v", err)
	}

	// Granted, and the raw transport removed: its listener closes, the
	// session on it keeps working under the new roles.
	hangup(reloadText(`""`, false), `"msg":"config reloaded (SIGHUP)"`)
	if err := s.Publish(sctx, "com.example.b", nil, nil, client.Acknowledge()); err != nil {
		t.Fatalf("publish after reload: %v", err)
	}
	if c, err := net.DialTimeout("tcp", raw, 5*time.Second); err == nil {
		c.Close()
		t.Errorf("the removed transport still accepts connections at %s", raw)
	}
	if c, err := net.DialTimeout("tcp", web, 5*time.Second); err != nil {
		t.Errorf("the unchanged transport stopped: %v", err)
	} else {
		c.Close()
	}

	// A broken file is refused whole; the old config keeps serving.
	hangup(reloadText(`"com..bad"`, true), `"msg":"config reload refused; the old config stays in force"`)
	if err := s.Publish(sctx, "com.example.b", nil, nil, client.Acknowledge()); err != nil {
		t.Fatalf("publish after the refused reload: %v", err)
	}
	code, out, _ := run(t, "status", "--url", "http://"+web+"/status")
	if code != 0 || !strings.Contains(out, "FAILED (old config in force)") {
		t.Errorf("status after a refused reload: %d\n%s", code, out)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d:\n%s", code, stderr.String())
	}
}
