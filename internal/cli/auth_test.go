package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestStartAuth runs `tollgate start` with a config that has a static
// ticket transport (bcrypt-hashed ticket) and a role, and checks with the
// Go client that the session gets the role, a permitted call works, a
// forbidden one is refused, and bad or missing credentials (or a realm
// without roles) are refused.
func TestStartAuth(t *testing.T) {
	t.Parallel()
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-ticket"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "auth.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: user
            permissions:
              - {uri: "com.example.*", allow: {call: true, register: true}}
      - name: closed
    transports:
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
        auth:
          ticket:
            type: static
            principals:
              alice: {ticket: "`+string(hash)+`", role: user}
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"start", "--config", cfg, "--log-format", "json"}, strings.NewReader(""), &stdout, &stderr)
	}()
	addr := waitListening(t, &stderr, 1, done)[0]
	url := "tcp://" + addr

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	s, err := client.Dial(dctx, url, client.Config{
		Realm: "realm1", AuthID: "alice",
		Auth: []client.Authenticator{client.Ticket("alice-ticket")},
	})
	if err != nil {
		t.Fatalf("dial with the right ticket: %v\nlog:\n%s", err, stderr.String())
	}
	info := s.Info()
	if info.AuthRole != "user" || info.AuthID != "alice" || info.AuthMethod != "ticket" || info.AuthProvider != "static" {
		t.Errorf("WELCOME: authid %q, authrole %q, authmethod %q, authprovider %q; want alice, user, ticket, static",
			info.AuthID, info.AuthRole, info.AuthMethod, info.AuthProvider)
	}
	if _, err := s.Register(dctx, "com.example.echo", func(v string) (string, error) { return v, nil }); err != nil {
		t.Fatalf("register com.example.echo (permitted): %v", err)
	}
	res, err := s.Call(dctx, "com.example.echo", wamp.List{"hi"}, nil)
	if err != nil || res.Arg(0) != "hi" {
		t.Errorf("call com.example.echo (permitted) = %v, %v; want hi", res, err)
	}
	_, err = s.Call(dctx, "com.other.echo", wamp.List{"hi"}, nil)
	if !errors.Is(err, &client.Error{URI: wamp.ErrNotAuthorized}) {
		t.Errorf("call com.other.echo (forbidden): err = %v, want %s", err, wamp.ErrNotAuthorized)
	}
	if _, err := s.Register(dctx, "com.other.echo", func() error { return nil }); !errors.Is(err, &client.Error{URI: wamp.ErrNotAuthorized}) {
		t.Errorf("register com.other.echo (forbidden): err = %v, want %s", err, wamp.ErrNotAuthorized)
	}
	if err := s.Close(dctx); err != nil {
		t.Errorf("close: %v", err)
	}

	for _, bad := range []struct {
		name   string
		cfg    client.Config
		reason wamp.URI
	}{
		{"wrong ticket", client.Config{Realm: "realm1", AuthID: "alice", Auth: []client.Authenticator{client.Ticket("guess")}}, wamp.ErrAuthenticationFailed},
		{"unknown authid", client.Config{Realm: "realm1", AuthID: "mallory", Auth: []client.Authenticator{client.Ticket("alice-ticket")}}, wamp.ErrAuthenticationFailed},
		{"anonymous", client.Config{Realm: "realm1"}, wamp.ErrNoAuthMethod},
		// A realm without roles is closed: "user" is not defined there.
		{"realm without roles", client.Config{Realm: "closed", AuthID: "alice", Auth: []client.Authenticator{client.Ticket("alice-ticket")}}, wamp.ErrNoSuchRole},
	} {
		s, err := client.Dial(dctx, url, bad.cfg)
		var ae *client.AbortError
		if !errors.As(err, &ae) {
			t.Errorf("%s: Dial = %v, %v; want an ABORT", bad.name, s, err)
			if s != nil {
				s.Close(dctx)
			}
			continue
		}
		if ae.Reason != bad.reason {
			t.Errorf("%s: ABORT %s (%s), want %s", bad.name, ae.Reason, ae.Message, bad.reason)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d; log:\n%s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("start did not return after cancel; log:\n%s", stderr.String())
	}
}
