package authz_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// logBuffer is a log destination the router and the test share.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secret is what a failing backend puts in its error text.
const secret = "postgres://authz:hunter2@db.internal:5432/acl"

// TestAuthorizerFailureDetailStaysInTheLog attacks over real sockets: a
// client whose actions a failing authorizer decides gets
// wamp.error.authorization_failed with a generic message that carries
// none of the backend's error text, procedure or realm; the router's log
// has the detail.
func TestAuthorizerFailureDetailStaysInTheLog(t *testing.T) {
	t.Parallel()
	var log logBuffer
	srv := routertest.Start(t, func(o *router.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&log, nil))
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}}}},
			{Name: "anonymous", Authorizer: "com.example.authorize", Timeout: 200 * time.Millisecond},
		}}}
	})
	backdoor := srv.Serve(t, "unix", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}}}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	backend, err := client.Dial(ctx, backdoor, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close(context.Background())
	reg, err := backend.Register(ctx, "com.example.authorize", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		switch uri, _ := inv.Args[1].(string); uri {
		case "com.app.wamp_error":
			return client.Result{}, client.NewError("com.internal.db_error", "connect "+secret+" failed")
		case "com.app.go_error":
			return client.Result{}, errors.New("dial " + secret + ": refused") // wamp.error.runtime_error
		case "com.app.malformed":
			return client.Result{Args: wamp.List{secret}}, nil
		case "com.app.slow":
			<-ctx.Done() // canceled when the router gives up
			return client.Result{}, ctx.Err()
		}
		return client.Result{Args: wamp.List{true}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	front, err := client.Dial(ctx, srv.URL("tcp"), client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer front.Close(context.Background())

	leaks := []string{"hunter2", "db.internal", "postgres", "com.internal", "com.example.authorize", "realm1", "runtime_error"}
	check := func(uri wamp.URI, wantMsg string, logged ...string) {
		t.Helper()
		_, err := front.Call(ctx, uri, nil, nil)
		var we *client.Error
		if !errors.As(err, &we) || we.URI != wamp.ErrAuthorizationFailed {
			t.Fatalf("call %s: %v, want %s", uri, err, wamp.ErrAuthorizationFailed)
		}
		text := fmt.Sprint(we.Error(), " ", we.Details)
		for _, l := range leaks {
			if strings.Contains(text, l) {
				t.Errorf("call %s: the client reads %q in %q", uri, l, text)
			}
		}
		if msg, _ := we.Args[0].(string); msg != wantMsg {
			t.Errorf("call %s: message %q, want %q", uri, msg, wantMsg)
		}
		for _, l := range logged {
			if !strings.Contains(log.String(), l) {
				t.Errorf("call %s: the log lacks %q:\n%s", uri, l, log.String())
			}
		}
	}
	check("com.app.wamp_error", "authorization failed: the authorizer failed", "com.internal.db_error", "hunter2@db.internal")
	check("com.app.go_error", "authorization failed: the authorizer failed", "wamp.error.runtime_error", "dial postgres://authz:hunter2")
	check("com.app.malformed", "authorization failed: the authorizer's answer is malformed", `returned a string \"postgres://authz:hunter2`)
	check("com.app.slow", "authorization failed: the authorizer did not answer in time", "timed out after 200ms")
	if err := backend.Unregister(ctx, reg); err != nil {
		t.Fatal(err)
	}
	check("com.app.ok", "authorization failed: the authorizer is not registered", "authorizer com.example.authorize is not registered")
}
