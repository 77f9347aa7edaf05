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

// authzRouter starts a router whose realm1 has role backend (everything,
// through a backdoor) and role anonymous, decided by com.example.authorize
// (role options from ro). It returns the backend and a front session
// (anonymous) and the router's log.
func authzRouter(t *testing.T, ctx context.Context, ro authz.RoleConfig) (backend, front *client.Session, log *logBuffer) {
	t.Helper()
	log = &logBuffer{}
	ro.Name, ro.Authorizer = "anonymous", "com.example.authorize"
	srv := routertest.Start(t, func(o *router.Options) {
		o.Logger = slog.New(slog.NewTextHandler(log, nil))
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}}}},
			ro,
		}}}
	})
	backdoor := srv.Serve(t, "unix", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}}}}})
	backend, err := client.Dial(ctx, backdoor, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { backend.Close(context.Background()) })
	front, err = client.Dial(ctx, srv.URL("tcp"), client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { front.Close(context.Background()) })
	return backend, front, log
}

// TestAuthorizerFailureDetailStaysInTheLog attacks over real sockets: a
// client whose actions a failing authorizer decides gets
// wamp.error.authorization_failed with a generic message that carries
// none of the backend's error text, procedure or realm; the router's log
// has the detail.
func TestAuthorizerFailureDetailStaysInTheLog(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	backend, front, log := authzRouter(t, ctx, authz.RoleConfig{Timeout: 200 * time.Millisecond})
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

// TestThreeArgumentAuthorizer: the Crossbar guide's authorize(session,
// uri, action), here a Go callee answering four arguments with the exact
// error Autobahn|Python sends for it, decides every action; after the
// first decision each one costs one call. authorizer-args: 3 skips the
// probe.
func TestThreeArgumentAuthorizer(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		forced int
		counts string // argument counts of the calls for three decisions
	}{
		{"learned", 0, "[4 3 3 3]"},
		{"authorizer-args 3", 3, "[3 3 3]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			backend, front, _ := authzRouter(t, ctx, authz.RoleConfig{AuthorizerArgs: c.forced})
			var mu sync.Mutex
			var counts []int
			_, err := backend.Register(ctx, "com.example.authorize", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
				mu.Lock()
				counts = append(counts, len(inv.Args))
				mu.Unlock()
				if len(inv.Args) != 3 {
					return client.Result{}, client.NewError(wamp.ErrRuntimeError, "authorize() takes 3 positional arguments but 4 were given")
				}
				return client.Result{Args: wamp.List{true}}, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := backend.Register(ctx, "com.app.echo", func(s string) string { return s }); err != nil {
				t.Fatal(err)
			}
			for _, topic := range []wamp.URI{"com.app.news", "com.app.weather"} {
				if _, err := front.Subscribe(ctx, topic, func(context.Context, *client.Event) {}); err != nil {
					t.Fatalf("subscribe %s: %v", topic, err)
				}
			}
			if r, err := front.Call(ctx, "com.app.echo", wamp.List{"hi"}, nil); err != nil || r.Arg(0) != "hi" {
				t.Fatalf("call com.app.echo = %v, %v", r, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if got := fmt.Sprint(counts); got != c.counts {
				t.Errorf("authorizer argument counts %s, want %s", got, c.counts)
			}
		})
	}
}
