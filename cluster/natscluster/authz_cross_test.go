package natscluster_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// §8 row 13: the authorizer (and the authenticator) on another node.

const (
	procAuthorize    wamp.URI = "com.test.authorize"
	procAuthenticate wamp.URI = "com.test.authenticate"
)

// authzRealm gives every router a realm whose role "user" is decided by
// the dynamic authorizer procAuthorize (timeout bounds one call), and a
// static role "backend" that may do anything.
func authzRealm(timeout time.Duration) func(*router.Options) {
	all := authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}
	return func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: realm, Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: wamp.MatchPrefix, Allow: all}}},
			{Name: "user", Authorizer: procAuthorize, Timeout: timeout},
		}}}
	}
}

// authzURLs are one node's listeners: anonymous backend and user, and a
// dynamic ticket login asking procAuthenticate.
type authzURLs struct{ backend, user, login string }

func serveAuthz(t testing.TB, nd *node, timeout time.Duration) authzURLs {
	anon := func(role string) router.Transport {
		return router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
			{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: role}}}}}
	}
	login := router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: procAuthenticate, Timeout: timeout}}}}}
	return authzURLs{nd.srv.Serve(t, "tcp", anon("backend")), nd.srv.Serve(t, "tcp", anon("user")), nd.srv.Serve(t, "tcp", login)}
}

// dialAs joins url with cfg's authentication (anonymous by default).
func dialAs(t testing.TB, url string, cfg client.Config) (*client.Session, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg.Realm, cfg.Serializer = realm, "cbor"
	if cfg.MaxConcurrentHandlers == 0 {
		cfg.MaxConcurrentHandlers = 4
	}
	s, err := client.Dial(ctx, url, cfg)
	if err == nil {
		t.Cleanup(func() { _ = s.Close(context.Background()) })
	}
	return s, err
}

func mustDial(t testing.TB, url string) *client.Session {
	t.Helper()
	s, err := dialAs(t, url, client.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func ticketLogin(t testing.TB, url string) (*client.Session, error) {
	return dialAs(t, url, client.Config{AuthID: "joe", Auth: []client.Authenticator{client.Ticket("secret")}})
}

func abortReason(err error) wamp.URI {
	var ae *client.AbortError
	if errors.As(err, &ae) {
		return ae.Reason
	}
	return ""
}

// backendProcs is an authorizer and an authenticator that answer allow /
// role backend, or, while hold is set, wait until release is closed (a
// decision pending when their node dies).
type backendProcs struct {
	hold    atomic.Bool
	release chan struct{}
	entered chan wamp.URI
	asks    atomic.Int64
	allow   atomic.Bool
	cache   bool
}

func newBackendProcs(t testing.TB) *backendProcs {
	p := &backendProcs{release: make(chan struct{}), entered: make(chan wamp.URI, 16)}
	p.allow.Store(true)
	t.Cleanup(func() { close(p.release) }) // before the sessions close
	return p
}

func (p *backendProcs) wait(uri wamp.URI) {
	if p.hold.Load() {
		p.entered <- uri
		<-p.release
	}
}

func (p *backendProcs) authorize(context.Context, *client.Invocation) (client.Result, error) {
	p.asks.Add(1)
	p.wait(procAuthorize)
	if p.cache {
		return client.Result{Args: wamp.List{wamp.Dict{"allow": p.allow.Load(), "cache": true}}}, nil
	}
	return client.Result{Args: wamp.List{p.allow.Load()}}, nil
}

func (p *backendProcs) authenticate(context.Context, *client.Invocation) (client.Result, error) {
	p.wait(procAuthenticate)
	return client.Result{Args: wamp.List{wamp.Dict{"authrole": "backend"}}}, nil
}

// serveProcs registers p's authorizer and authenticator on the node of
// urls, each on its own session (a held one does not block the other).
func serveProcs(t testing.TB, urls authzURLs, p *backendProcs) {
	t.Helper()
	registerRetry(t, mustDial(t, urls.backend), procAuthorize, p.authorize)
	registerRetry(t, mustDial(t, urls.backend), procAuthenticate, p.authenticate)
}

// registerRetry is register, tried again while the registry is
// unavailable (a backend's way through JetStream's leader election after
// a node loss, up to 30 s).
func registerRetry(t testing.TB, s *client.Session, uri wamp.URI, fn any) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := s.Register(context.Background(), uri, fn)
		if err == nil {
			return
		}
		if errURI(err) != cluster.ErrClusterUnavailable || time.Now().After(deadline) {
			t.Fatalf("register %s: %v", uri, err)
		}
	}
}

func nop(context.Context, *client.Invocation) (client.Result, error) { return client.Result{}, nil }

// TestAuthorizerNodeDies: the authorizer and the authenticator are on C;
// sessions on A are authorized and log in through them. C dies with a
// decision and a login pending: both fail closed (authorization_failed,
// ABORT authentication_failed) before the configured timeout, nothing
// hangs; new decisions and logins fail closed until another node
// registers the procedures, then they work again.
func TestAuthorizerNodeDies(t *testing.T) {
	const timeout = 3 * time.Second
	nodes := startRPCNodes(t, 3, authzRealm(timeout))
	var urls []authzURLs
	for _, nd := range nodes {
		urls = append(urls, serveAuthz(t, nd, timeout))
	}
	ctx := testCtx(t)
	p := newBackendProcs(t)
	serveProcs(t, urls[2], p)
	register(t, mustDial(t, urls[0].backend), "com.test.echo", nop)
	for _, uri := range []wamp.URI{procAuthorize, procAuthenticate, "com.test.echo"} {
		waitCallees(t, nodes, uri, wamp.MatchExact, 1)
	}
	user := mustDial(t, urls[0].user)
	if _, err := user.Call(ctx, "com.test.echo", nil, nil); err != nil {
		t.Fatalf("a call authorized on C: %v", err)
	}
	if _, err := ticketLogin(t, urls[0].login); err != nil {
		t.Fatalf("a login authenticated on C: %v", err)
	}

	pendingFailClosed(t, p, user, urls[0].login, timeout, nodes[2].c.Crash)
	waitMembers(t, nodes[:2], 2)
	for _, u := range urls[:2] {
		newFailClosed(t, u, timeout)
	}
	p2 := newBackendProcs(t)
	serveProcs(t, urls[1], p2)
	waitCallees(t, nodes[:2], procAuthorize, wamp.MatchExact, 1)
	waitCallees(t, nodes[:2], procAuthenticate, wamp.MatchExact, 1)
	if _, err := user.Call(ctx, "com.test.echo", nil, nil); err != nil {
		t.Errorf("a call with the authorizer now on B: %v", err)
	}
	if _, err := ticketLogin(t, urls[0].login); err != nil {
		t.Errorf("a login with the authenticator now on B: %v", err)
	}
}

// pendingFailClosed holds p's next decision (a call by user) and login
// (at login), kills p's node and checks that both fail closed within
// timeout.
func pendingFailClosed(t *testing.T, p *backendProcs, user *client.Session, login string, timeout time.Duration, kill func()) {
	t.Helper()
	ctx := testCtx(t)
	p.hold.Store(true)
	callDone, loginDone := make(chan error, 1), make(chan error, 1)
	go func() { _, err := user.Call(ctx, "com.test.echo", nil, nil); callDone <- err }()
	go func() { _, err := ticketLogin(t, login); loginDone <- err }()
	for range 2 {
		select {
		case <-p.entered:
		case <-ctx.Done():
			t.Fatal("the held decision and login never reached the backend")
		}
	}
	start := time.Now()
	kill()
	for what, ch := range map[string]chan error{"decision": callDone, "login": loginDone} {
		select {
		case err := <-ch:
			d := time.Since(start)
			t.Logf("pending %s failed %v after its node died: %v", what, d, err)
			if what == "decision" && errURI(err) != wamp.ErrAuthorizationFailed || what == "login" && abortReason(err) != wamp.ErrAuthenticationFailed {
				t.Errorf("pending %s: %v, want it to fail closed", what, err)
			}
			if d > timeout {
				t.Errorf("pending %s answered after %v, want <= the authorizer timeout %v", what, d, timeout)
			}
		case <-time.After(2 * timeout):
			t.Fatalf("pending %s still waiting %v after its node died", what, 2*timeout)
		}
	}
}

// newFailClosed checks that a new decision and a new login on u's node
// fail closed, within timeout.
func newFailClosed(t *testing.T, u authzURLs, timeout time.Duration) {
	t.Helper()
	t0 := time.Now()
	if _, err := mustDial(t, u.user).Call(testCtx(t), "com.test.echo", nil, nil); errURI(err) != wamp.ErrAuthorizationFailed {
		t.Errorf("a decision with the authorizer's node dead: %v, want %s", err, wamp.ErrAuthorizationFailed)
	}
	if _, err := ticketLogin(t, u.login); abortReason(err) != wamp.ErrAuthenticationFailed {
		t.Errorf("a login with the authenticator's node dead: %v, want ABORT %s", err, wamp.ErrAuthenticationFailed)
	}
	if d := time.Since(t0); d > timeout {
		t.Errorf("new decision and login failed after %v, want within %v", d, timeout)
	}
}

// TestFlushTakesEffectOnEveryNode: users on A, B and C hold a cached
// allow from the authorizer on C; the authorizer changes its mind and
// tollgate.authorizer.flush runs on A: the next call on B and on C is
// asked again and denied, promptly (the target: 100 ms).
func TestFlushTakesEffectOnEveryNode(t *testing.T) {
	nodes := startRPCNodes(t, 3, authzRealm(5*time.Second))
	var urls []authzURLs
	for _, nd := range nodes {
		urls = append(urls, serveAuthz(t, nd, 5*time.Second))
	}
	ctx := testCtx(t)
	p := newBackendProcs(t)
	p.cache = true
	serveProcs(t, urls[2], p)
	register(t, mustDial(t, urls[0].backend), "com.test.echo", nop)
	waitCallees(t, nodes, procAuthorize, wamp.MatchExact, 1)
	waitCallees(t, nodes, "com.test.echo", wamp.MatchExact, 1)
	var users []*client.Session
	for _, u := range urls {
		s := mustDial(t, u.user)
		if _, err := s.Call(ctx, "com.test.echo", nil, nil); err != nil {
			t.Fatal(err)
		}
		users = append(users, s)
	}
	p.allow.Store(false)
	asks := p.asks.Load()
	for _, s := range users {
		if _, err := s.Call(ctx, "com.test.echo", nil, nil); err != nil {
			t.Fatalf("a cached allow: %v", err)
		}
	}
	if n := p.asks.Load(); n != asks {
		t.Fatalf("the authorizer was asked %d more times, want 0 (cached)", n-asks)
	}
	if _, _, err := nodes[0].srv.Router().Call(ctx, realm, "tollgate.authorizer.flush", nil, wamp.Dict{"authrole": "user"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i, s := range users {
		waitFor(t, "the flush on "+nodes[i].c.Node(), func() bool {
			_, err := s.Call(ctx, "com.test.echo", nil, nil)
			return errURI(err) == wamp.ErrNotAuthorized
		})
		d := time.Since(start)
		t.Logf("flush on n0 took effect on %s after %v", nodes[i].c.Node(), d)
		if d > promptly {
			t.Errorf("flush on n0 took effect on %s after %v, want <= %v", nodes[i].c.Node(), d, promptly)
		}
	}
}

// BenchmarkAuthorizeLatency: one call at a time by a session whose role
// is decided by a dynamic authorizer that is asked every time (answer
// true: not cached). single: one node, no cluster; cross: caller and
// procedure on A, the authorizer on C (§8 row 13: cross p50 ≤ single p50
// + 150 µs). Reports p50 and p99 in µs.
func BenchmarkAuthorizeLatency(b *testing.B) {
	run := func(b *testing.B, nodes []*node, at, authorizer int) {
		urls := make([]authzURLs, len(nodes))
		for i, nd := range nodes {
			urls[i] = serveAuthz(b, nd, 5*time.Second)
		}
		p := newBackendProcs(b)
		serveProcs(b, urls[authorizer], p)
		register(b, mustDial(b, urls[at].backend), "com.test.echo", echo)
		if len(nodes) > 1 {
			waitCallees(b, nodes, procAuthorize, wamp.MatchExact, 1)
			waitCallees(b, nodes, "com.test.echo", wamp.MatchExact, 1)
		}
		callLatency(b, mustDial(b, urls[at].user), "com.test.echo")
		if n := p.asks.Load(); n < int64(b.N) {
			b.Fatalf("the authorizer was asked %d times for %d calls, want every time", n, b.N)
		}
	}
	b.Run("single", func(b *testing.B) {
		run(b, []*node{{srv: routertest.Start(b, authzRealm(5*time.Second))}}, 0, 0)
	})
	b.Run("cross", func(b *testing.B) {
		run(b, startRPCNodes(b, 3, authzRealm(5*time.Second)), 0, 2)
	})
}
