// Package dynamicauth_test runs the dynamic-auth example end to end: the
// tollgate binary with examples/dynamic-auth/config.yaml (ports replaced by
// 0), the backend as a real process (once the Go one, once the Python one),
// and Go clients proving every rule of the example.
//
// The tests run one after the other, not in parallel: every login costs an
// argon2id check (64 MiB, two threads), and on a machine already busy with
// other packages' tests, several backends hashing at once could push a login
// past the router's 10s handshake limit.
package dynamicauth_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
	"go.uber.org/goleak"
)

const (
	realm      = "myrealm"
	joe        = "joe_average"
	joePass    = "1234"
	bofh       = "bofh"
	bofhPass   = "B3yt&4_+"
	pythonPath = "/usr/bin/python3" // Debian's, with python3-autobahn and python3-argon2

	// patience bounds every wait. It is long because an argon2id check can
	// take seconds on a machine busy with other tests; nothing here asserts
	// on speed.
	patience = 60 * time.Second
)

// bins holds the binaries TestMain builds: tollgate, backend, client.
var bins string

func TestMain(m *testing.M) {
	code, err := buildAndRun(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func buildAndRun(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "dynamic-auth-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	goBin, err := exec.LookPath("go")
	if err != nil {
		return 0, fmt.Errorf("go is not on PATH: %w", err)
	}
	build := exec.Command(goBin, "build", "-o", dir+string(filepath.Separator),
		"./cmd/tollgate", "./examples/dynamic-auth/backend", "./examples/dynamic-auth/client")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building the binaries: %v\n%s", err, out)
	}
	bins = dir
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			return 1, fmt.Errorf("goroutines left behind: %v", err)
		}
	}
	return code, nil
}

// TestDynamicAuth runs the whole scenario once per backend.
func TestDynamicAuth(t *testing.T) {
	backends := []struct {
		name    string
		command func(url string) []string
	}{
		{"go", func(url string) []string {
			return []string{filepath.Join(bins, "backend"), "--url", url}
		}},
		{"python", func(url string) []string {
			return []string{pythonPath, "python/backend.py", "--url", url}
		}},
	}
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			if be.name == "python" {
				requirePython(t)
			}
			e := start(t, be.command)
			t.Run("regular user", e.testRegular)
			t.Run("admin", e.testAdmin)
			t.Run("login failures", e.testLoginFailures)
			t.Run("public port never gives role server", e.testNoServerRole)
			t.Run("cache", e.testCache)
			t.Run("flush", e.testFlush)
			t.Run("backend down and back", e.testBackendDown)
		})
	}
}

// requirePython skips (or, under CI, fails) when Debian's Python lacks the
// backend's packages.
func requirePython(t *testing.T) {
	out, err := exec.Command(pythonPath, "-c", "import autobahn, argon2").CombinedOutput()
	if err == nil {
		return
	}
	msg := fmt.Sprintf("%s cannot import autobahn and argon2 (apt-get install python3-autobahn python3-argon2; ./scripts/test installs them): %v\n%s", pythonPath, err, out)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// env is one router with one backend.
type env struct {
	publicURL, backdoorURL string
	backendCmd             func(url string) []string
	backend                *proc
	// server is a session on the backdoor (role server): it reads the
	// backend's counters, flushes the cache and plays the application.
	server *client.Session
}

func start(t *testing.T, backendCmd func(string) []string) *env {
	cfg, err := os.ReadFile("config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Free ports, and generous timeouts: an argon2id check takes 64 MiB and
	// can take seconds on a machine busy with other tests; the 5s default
	// would then refuse logins. The failure cases below do not wait for it.
	text := string(cfg)
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"port: 8080", "port: 0", 1},
		{"port: 8081", "port: 0", 1},
		{"\n            authenticator: authenticate\n", "\n            authenticator: authenticate\n            timeout: 60000\n", 1},
		{"\n            authorizer: authorize\n", "\n            authorizer: authorize\n            timeout: 60000\n", 2},
	} {
		if got := strings.Count(text, r.old); got != r.n {
			t.Fatalf("config.yaml: %d times %q, want %d", got, r.old, r.n)
		}
		text = strings.ReplaceAll(text, r.old, r.new)
	}
	cfgFile := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}

	router := startProc(t, "router", filepath.Join(bins, "tollgate"), "start", "--config", cfgFile, "--log-format", "json")
	addrs := router.listening(t, "public", "backdoor")
	e := &env{
		publicURL:   "ws://" + addrs["public"] + "/ws",
		backdoorURL: "ws://" + addrs["backdoor"] + "/ws",
		backendCmd:  backendCmd,
	}
	e.startBackend(t)

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	e.server, err = client.Dial(ctx, e.backdoorURL, client.Config{Realm: realm})
	if err != nil {
		t.Fatalf("joining the backdoor: %v", err)
	}
	t.Cleanup(func() { e.server.Close(context.Background()) })
	if role := e.server.Info().AuthRole; role != "server" {
		t.Fatalf("backdoor gave role %q, want server", role)
	}
	e.waitBackend(t)
	return e
}

func (e *env) startBackend(t *testing.T) {
	args := e.backendCmd(e.backdoorURL)
	e.backend = startProc(t, "backend", args[0], args[1:]...)
}

// waitBackend waits until the backend has registered everything, which is
// when backend.stats, registered last, answers.
func (e *env) waitBackend(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		_, err := e.server.Call(ctx, "backend.stats", nil, nil)
		cancel()
		if err == nil {
			return
		}
		if !errors.Is(err, &client.Error{URI: wamp.ErrNoSuchProcedure}) || time.Now().After(deadline) {
			t.Fatalf("backend not ready: %v", err)
		}
		select {
		case <-e.backend.done:
			t.Fatalf("backend exited before registering: %v", e.backend.err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stats returns how often the backend's authorize procedure has run.
func (e *env) authorizeCount(t *testing.T) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	res, err := e.server.Call(ctx, "backend.stats", nil, nil)
	if err != nil {
		t.Fatalf("backend.stats: %v", err)
	}
	d, ok := res.Arg(0).(wamp.Dict)
	if !ok {
		t.Fatalf("backend.stats returned %#v, want a dict", res.Arg(0))
	}
	n, ok := wamp.AsInt(d["authorize"])
	if !ok {
		t.Fatalf("backend.stats returned %#v, want an integer authorize", d)
	}
	return n
}

// login joins the public transport with a ticket; the session is closed
// when the test ends.
func (e *env) login(t *testing.T, authid, password string, mod ...func(*client.Config)) (*client.Session, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	cfg := client.Config{Realm: realm, AuthID: authid, Auth: []client.Authenticator{client.Ticket(password)}}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := client.Dial(ctx, e.publicURL, cfg)
	if err == nil {
		t.Cleanup(func() { s.Close(context.Background()) })
	}
	return s, err
}

func (e *env) mustLogin(t *testing.T, authid, password string) *client.Session {
	t.Helper()
	s, err := e.login(t, authid, password)
	if err != nil {
		t.Fatalf("login %s: %v", authid, err)
	}
	return s
}

// do performs one action and returns the router's answer; publishes are
// acknowledged so that a denial comes back.
func do(s *client.Session, verb string, uri wamp.URI, opts ...client.Option) error {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	switch verb {
	case "call":
		_, err := s.Call(ctx, uri, nil, nil)
		return err
	case "subscribe":
		_, err := s.Subscribe(ctx, uri, func(context.Context, *client.Event) {}, opts...)
		return err
	case "publish":
		return s.Publish(ctx, uri, wamp.List{"x"}, nil, append(opts, client.Acknowledge())...)
	case "register":
		_, err := s.Register(ctx, uri, func() {}, opts...)
		return err
	}
	return fmt.Errorf("unknown verb %q", verb)
}

// wantErr checks that err is a WAMP error with uri ("" = no error).
func wantErr(t *testing.T, what string, err error, uri wamp.URI) {
	t.Helper()
	if uri == "" {
		if err != nil {
			t.Errorf("%s: %v, want success", what, err)
		}
		return
	}
	var we *client.Error
	if !errors.As(err, &we) || we.URI != uri {
		t.Errorf("%s: got %v, want error %s", what, err, uri)
	}
}

// wantAbort checks that err is an ABORT with reason.
func wantAbort(t *testing.T, what string, err error, reason wamp.URI) *client.AbortError {
	t.Helper()
	var ae *client.AbortError
	if !errors.As(err, &ae) || ae.Reason != reason {
		t.Fatalf("%s: got %v, want ABORT %s", what, err, reason)
	}
	return ae
}

// first returns l[0], or nil.
func first(l wamp.List) any {
	if len(l) == 0 {
		return nil
	}
	return l[0]
}

type step struct {
	verb  string
	uri   wamp.URI
	match string
	want  wamp.URI // "" = allowed
}

func (st step) run(t *testing.T, s *client.Session) {
	t.Helper()
	var opts []client.Option
	if st.match != "" {
		opts = append(opts, client.Match(st.match))
	}
	wantErr(t, fmt.Sprintf("%s %s %s", s.Info().AuthID, st.verb, st.uri), do(s, st.verb, st.uri, opts...), st.want)
}

func (e *env) testRegular(t *testing.T) {
	s := e.mustLogin(t, joe, joePass)
	info := s.Info()
	if info.AuthID != joe || info.AuthRole != "regular" || info.AuthMethod != "ticket" || info.AuthProvider != "dynamic" {
		t.Fatalf("WELCOME: authid %q authrole %q authmethod %q authprovider %q, want %s regular ticket dynamic",
			info.AuthID, info.AuthRole, info.AuthMethod, info.AuthProvider, joe)
	}

	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	res, err := s.Call(ctx, "public.hello", nil, nil)
	if err != nil {
		t.Fatalf("call public.hello: %v", err)
	}
	// The backend knows who called: authorize answered disclose: true.
	if got, want := res.Arg(0), "hello joe_average (regular)"; got != want {
		t.Errorf("public.hello returned %#v, want %q", got, want)
	}

	// A subscription under public. receives what an admin publishes there.
	events := make(chan *client.Event, 4)
	if _, err := s.Subscribe(ctx, "public.news", func(_ context.Context, ev *client.Event) { events <- ev }); err != nil {
		t.Fatalf("subscribe public.news: %v", err)
	}
	admin := e.mustLogin(t, bofh, bofhPass)
	if err := admin.Publish(ctx, "public.news", wamp.List{"extra"}, nil, client.Acknowledge()); err != nil {
		t.Fatalf("bofh publish public.news: %v", err)
	}
	select {
	case ev := <-events:
		if first(ev.Args) != "extra" || ev.PublisherAuthID != bofh {
			t.Errorf("event: args %v publisher_authid %q, want [extra] from %s", ev.Args, ev.PublisherAuthID, bofh)
		}
	case <-ctx.Done():
		t.Fatal("joe got no event on public.news")
	}

	for _, st := range []step{
		{verb: "call", uri: "public.hello"},
		{verb: "subscribe", uri: "public.sports"},
		{verb: "subscribe", uri: "public.", match: wamp.MatchPrefix},
		{verb: "call", uri: "public.nothing_here", want: wamp.ErrNoSuchProcedure}, // allowed, then not found
		{verb: "publish", uri: "public.news", want: wamp.ErrNotAuthorized},
		{verb: "register", uri: "public.mine", want: wamp.ErrNotAuthorized},
		{verb: "call", uri: "private.hello", want: wamp.ErrNotAuthorized},
		{verb: "subscribe", uri: "private.news", want: wamp.ErrNotAuthorized},
		{verb: "publish", uri: "private.news", want: wamp.ErrNotAuthorized},
		{verb: "register", uri: "private.mine", want: wamp.ErrNotAuthorized},
		{verb: "call", uri: "publicity.stunt", want: wamp.ErrNotAuthorized}, // "public" is not "public."
		{verb: "subscribe", uri: "public", match: wamp.MatchPrefix, want: wamp.ErrNotAuthorized},
		{verb: "call", uri: "backend.stats", want: wamp.ErrNotAuthorized},
		{verb: "call", uri: "authorize", want: wamp.ErrNotAuthorized},
		{verb: "call", uri: "tollgate.authorizer.flush", want: wamp.ErrNotAuthorized},
	} {
		st.run(t, s)
	}
}

func (e *env) testAdmin(t *testing.T) {
	s := e.mustLogin(t, bofh, bofhPass)
	if role := s.Info().AuthRole; role != "admin" {
		t.Fatalf("bofh got role %q, want admin", role)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	res, err := s.Call(ctx, "private.hello", nil, nil)
	if err != nil {
		t.Fatalf("call private.hello: %v", err)
	}
	if got, want := res.Arg(0), "hello bofh (admin)"; got != want {
		t.Errorf("private.hello returned %#v, want %q", got, want)
	}

	// bofh publishes anywhere, and his subscriptions receive it.
	events := make(chan *client.Event, 4)
	if _, err := s.Subscribe(ctx, "private.news", func(_ context.Context, ev *client.Event) { events <- ev }); err != nil {
		t.Fatalf("subscribe private.news: %v", err)
	}
	if err := s.Publish(ctx, "private.news", wamp.List{"memo"}, nil, client.Acknowledge(), client.ExcludeMe(false)); err != nil {
		t.Fatalf("publish private.news: %v", err)
	}
	select {
	case ev := <-events:
		if first(ev.Args) != "memo" {
			t.Errorf("event args %v, want [memo]", ev.Args)
		}
	case <-ctx.Done():
		t.Fatal("bofh got no event on private.news")
	}

	for _, st := range []step{
		{verb: "call", uri: "public.hello"},
		{verb: "subscribe", uri: "public.news"},
		{verb: "publish", uri: "public.news"},
		{verb: "subscribe", uri: "anything.at.all"},
		{verb: "publish", uri: "anything.at.all"},
		{verb: "subscribe", uri: "", match: wamp.MatchPrefix}, // everything
		{verb: "call", uri: "backend.stats"},
		{verb: "register", uri: "public.mine", want: wamp.ErrNotAuthorized},
		{verb: "register", uri: "private.mine", want: wamp.ErrNotAuthorized},
		{verb: "register", uri: "authenticate", want: wamp.ErrNotAuthorized},
	} {
		st.run(t, s)
	}
}

func (e *env) testLoginFailures(t *testing.T) {
	cases := []struct{ name, authid, password string }{
		{"joe, wrong password", joe, "12345"},
		{"joe, empty password", joe, ""},
		{"joe, bofh's password", joe, bofhPass},
		{"bofh, wrong password", bofh, "b3yt&4_+"},
		{"unknown user", "mallory", joePass},
	}
	var messages []string
	for _, c := range cases {
		s, err := e.login(t, c.authid, c.password)
		if err == nil {
			t.Errorf("%s: joined as %s (%s)", c.name, s.Info().AuthID, s.Info().AuthRole)
			continue
		}
		ae := wantAbort(t, c.name, err, wamp.ErrAuthenticationFailed)
		messages = append(messages, ae.Message)
	}
	// Unknown user and wrong password read the same.
	for _, m := range messages[1:] {
		if m != messages[0] {
			t.Errorf("ABORT messages differ: %q vs %q", messages[0], m)
		}
	}
}

func (e *env) testNoServerRole(t *testing.T) {
	// No credentials: the public transport offers ticket only.
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	s, err := client.Dial(ctx, e.publicURL, client.Config{Realm: realm})
	if err == nil {
		s.Close(context.Background())
		t.Fatalf("anonymous join on the public port got role %q", s.Info().AuthRole)
	}
	wantAbort(t, "anonymous on the public port", err, wamp.ErrNoAuthMethod)

	// Asking for role server in HELLO changes nothing: the authenticator decides.
	s, err = e.login(t, joe, joePass, func(c *client.Config) { c.AuthRole = "server" })
	if err != nil {
		t.Fatalf("joe asking for role server: %v", err)
	}
	if role := s.Info().AuthRole; role != "regular" {
		t.Fatalf("joe asking for role server got role %q, want regular", role)
	}
	wantErr(t, "joe (asked for server) register", do(s, "register", "public.mine"), wamp.ErrNotAuthorized)

	// Nor is there a user called server.
	_, err = e.login(t, "server", "")
	wantAbort(t, "authid server", err, wamp.ErrAuthenticationFailed)
}

func (e *env) testCache(t *testing.T) {
	const n = 20
	call := func(s *client.Session) {
		t.Helper()
		wantErr(t, "call public.hello", do(s, "call", "public.hello"), "")
	}

	a := e.mustLogin(t, joe, joePass)
	before := e.authorizeCount(t)
	for range n {
		call(a)
	}
	if got := e.authorizeCount(t) - before; got != 1 {
		t.Errorf("%d identical calls by one session: authorize ran %d times, want 1", n, got)
	}

	// A new session of the same user asks again, once.
	b := e.mustLogin(t, joe, joePass)
	before = e.authorizeCount(t)
	for range n {
		call(b)
	}
	if got := e.authorizeCount(t) - before; got != 1 {
		t.Errorf("%d identical calls by a second session: authorize ran %d times, want 1", n, got)
	}

	// Concurrent identical questions share one authorizer call.
	c := e.mustLogin(t, joe, joePass)
	before = e.authorizeCount(t)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { call(c) })
	}
	wg.Wait()
	if got := e.authorizeCount(t) - before; got != 1 {
		t.Errorf("%d concurrent identical calls: authorize ran %d times, want 1", n, got)
	}

	// Denials are not cached: each one asks.
	before = e.authorizeCount(t)
	for range 3 {
		wantErr(t, "call private.hello", do(a, "call", "private.hello"), wamp.ErrNotAuthorized)
	}
	if got := e.authorizeCount(t) - before; got != 3 {
		t.Errorf("3 denied calls: authorize ran %d times, want 3", got)
	}
}

func (e *env) testFlush(t *testing.T) {
	a := e.mustLogin(t, joe, joePass)
	b := e.mustLogin(t, bofh, bofhPass)
	for _, s := range []*client.Session{a, b} {
		wantErr(t, "call public.hello", do(s, "call", "public.hello"), "")
	}
	flush := func(kwargs wamp.Dict) int64 {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		res, err := e.server.Call(ctx, "tollgate.authorizer.flush", nil, kwargs)
		if err != nil {
			t.Fatalf("flush %v: %v", kwargs, err)
		}
		n, ok := wamp.AsInt(res.Arg(0))
		if !ok {
			t.Fatalf("flush %v returned %#v, want a count", kwargs, res.Arg(0))
		}
		return n
	}
	asks := func(s *client.Session) int64 {
		t.Helper()
		before := e.authorizeCount(t)
		wantErr(t, "call public.hello", do(s, "call", "public.hello"), "")
		return e.authorizeCount(t) - before
	}
	for _, s := range []*client.Session{a, b} {
		if got := asks(s); got != 0 {
			t.Fatalf("%s: cached call asked the authorizer %d times", s.Info().AuthID, got)
		}
	}

	// Flushing joe's answers: joe asks again, bofh does not.
	if n := flush(wamp.Dict{"authid": joe}); n < 1 {
		t.Errorf("flush authid=%s dropped %d entries, want at least 1", joe, n)
	}
	if got := asks(a); got != 1 {
		t.Errorf("joe after flushing joe: authorize ran %d times, want 1", got)
	}
	if got := asks(b); got != 0 {
		t.Errorf("bofh after flushing joe: authorize ran %d times, want 0", got)
	}

	// Flushing everything: both ask again, then are cached again.
	if n := flush(nil); n < 2 {
		t.Errorf("flush everything dropped %d entries, want at least 2", n)
	}
	for _, s := range []*client.Session{a, b} {
		if got := asks(s); got != 1 {
			t.Errorf("%s after flushing everything: authorize ran %d times, want 1", s.Info().AuthID, got)
		}
		if got := asks(s); got != 0 {
			t.Errorf("%s after asking again: authorize ran %d times, want 0 (cached)", s.Info().AuthID, got)
		}
	}
}

func (e *env) testBackendDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	// The application registers public.clock on the backdoor; it stays up.
	if _, err := e.server.Register(ctx, "public.clock", func() string { return "tick" }); err != nil {
		t.Fatalf("register public.clock: %v", err)
	}
	j := e.mustLogin(t, joe, joePass)
	wantErr(t, "call public.clock", do(j, "call", "public.clock"), "") // now cached

	// The backend dies.
	e.backend.kill(t)
	deadline := time.Now().Add(patience)
	var ae *client.AbortError
	for {
		s, err := e.login(t, joe, joePass)
		if err != nil {
			ae = wantAbort(t, "login without a backend", err, wamp.ErrAuthenticationFailed)
			break
		}
		// The router has not yet noticed the backend is gone.
		s.Close(context.Background())
		if time.Now().After(deadline) {
			t.Fatalf("logins still succeed %s after the backend was killed", patience)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if want := "authenticator authenticate is not registered"; ae.Message != want {
		t.Errorf("login without a backend: ABORT message %q, want %q", ae.Message, want)
	}

	// Cached answers still hold; anything the cache cannot answer fails closed.
	wantErr(t, "cached call public.clock", do(j, "call", "public.clock"), "")
	err := do(j, "subscribe", "public.weather")
	wantErr(t, "uncached subscribe public.weather", err, wamp.ErrAuthorizationFailed)
	var we *client.Error
	if errors.As(err, &we) {
		// Generic: the procedure and the backend's text stay in the log.
		if msg, _ := first(we.Args).(string); msg != "authorization failed: the authorizer is not registered" {
			t.Errorf("uncached subscribe: error message %q, want %q", msg, "authorization failed: the authorizer is not registered")
		}
	}

	// The backend comes back: logins and new questions work again.
	e.startBackend(t)
	e.waitBackend(t)
	j2 := e.mustLogin(t, joe, joePass)
	if role := j2.Info().AuthRole; role != "regular" {
		t.Errorf("login after the backend returned: role %q, want regular", role)
	}
	wantErr(t, "subscribe public.weather after recovery", do(j, "subscribe", "public.weather"), "")
	wantErr(t, "call public.hello after recovery", do(j2, "call", "public.hello"), "")
}

// TestDemoClient runs the demo client as the README shows it and compares
// its output with the README's.
func TestDemoClient(t *testing.T) {
	e := start(t, func(url string) []string { return []string{filepath.Join(bins, "backend"), "--url", url} })
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	runs := demoRuns(string(readme))
	if len(runs) < 2 {
		t.Fatalf("README.md shows %d demo client runs, want at least 2", len(runs))
	}
	for _, r := range runs {
		args := append(r.args, "--url", e.publicURL)
		cmd := exec.Command(filepath.Join(bins, "client"), args...)
		var out bytes.Buffer
		cmd.Stdout = &out
		cmd.Stderr = &out
		err := cmd.Run()
		// "go run" reports a non-zero exit code as a last line of its own.
		want, wantCode := r.want, 0
		if w, ok := strings.CutSuffix(want, "\nexit status 1"); ok {
			want, wantCode = w, 1
		}
		if got := strings.TrimRight(out.String(), "\n"); got != want {
			t.Errorf("client %s:\n got:\n%s\nwant (README.md):\n%s", strings.Join(r.args, " "), got, want)
		}
		if code := cmd.ProcessState.ExitCode(); code != wantCode {
			t.Errorf("client %s: exit code %d (%v), want %d", strings.Join(r.args, " "), code, err, wantCode)
		}
	}
}

type demoRun struct {
	args []string
	want string
}

// demoRuns finds the README's "$ go run ./examples/dynamic-auth/client ..."
// lines and the output shown below each, up to the closing fence.
func demoRuns(readme string) []demoRun {
	const prefix = "$ go run ./examples/dynamic-auth/client"
	var runs []demoRun
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], prefix) {
			continue
		}
		r := demoRun{args: shellWords(strings.TrimPrefix(lines[i], prefix))}
		var out []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			out = append(out, lines[i])
		}
		r.want = strings.Join(out, "\n")
		runs = append(runs, r)
	}
	return runs
}

// shellWords splits s at spaces, honouring single quotes (enough for the
// README's commands).
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
			inWord = true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// TestHashesMatch checks the stored hashes against the documented
// passwords with our verifier (the Python backend checks them with
// argon2-cffi in TestDynamicAuth/python).
func TestHashesMatch(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("backend", "backend.go"))
	if err != nil {
		t.Fatal(err)
	}
	py, err := os.ReadFile(filepath.Join("python", "backend.py"))
	if err != nil {
		t.Fatal(err)
	}
	hashes := argonHashes(string(src))
	if len(hashes) != 3 {
		t.Fatalf("backend.go holds %d argon2id hashes, want 3", len(hashes))
	}
	if got := argonHashes(string(py)); strings.Join(got, "\n") != strings.Join(hashes, "\n") {
		t.Errorf("python/backend.py hashes differ from backend.go:\n%v\n%v", got, hashes)
	}
	for i, pass := range []string{joePass, bofhPass} {
		ok, err := auth.VerifyPassword(hashes[i], pass)
		if err != nil || !ok {
			t.Errorf("hash %d does not verify %q: %v %v", i, pass, ok, err)
		}
	}
}

func argonHashes(src string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(src, func(r rune) bool { return r == '"' }) {
		if strings.HasPrefix(f, "$argon2id$") {
			out = append(out, f)
		}
	}
	return out
}

// proc is a child process whose output is kept for the test log.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done is closed

	mu    sync.Mutex
	lines []string
	added chan struct{} // closed and replaced when lines grow
}

func startProc(t *testing.T, name, path string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(path, args...), done: make(chan struct{}), added: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	r, w := io.Pipe()
	p.cmd.Stdout = w
	p.cmd.Stderr = w
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			close(p.added)
			p.added = make(chan struct{})
			p.mu.Unlock()
		}
		io.Copy(io.Discard, r)
	}()
	go func() {
		p.err = p.cmd.Wait()
		w.Close()
		<-scanned
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			p.mu.Lock()
			t.Logf("%s output:\n%s", name, strings.Join(p.lines, "\n"))
			p.mu.Unlock()
		}
	})
	return p
}

// stop sends SIGTERM and waits, killing after 10s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// kill ends the process at once, as a crash would.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.cmd.Process.Kill()
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s did not exit after SIGKILL", p.name)
	}
}

// listening waits for the router's "listening" log lines (JSON) and returns
// the bound address of each named transport.
func (p *proc) listening(t *testing.T, names ...string) map[string]string {
	t.Helper()
	addrs := map[string]string{}
	timeout := time.After(patience)
	seen := 0
	for {
		p.mu.Lock()
		lines, added := p.lines[seen:], p.added
		seen = len(p.lines)
		p.mu.Unlock()
		for _, l := range lines {
			var rec struct {
				Msg       string `json:"msg"`
				Transport string `json:"transport"`
				Address   string `json:"address"`
			}
			if json.Unmarshal([]byte(l), &rec) == nil && rec.Msg == "listening" {
				addrs[rec.Transport] = rec.Address
			}
		}
		missing := false
		for _, n := range names {
			if addrs[n] == "" {
				missing = true
			}
		}
		if !missing {
			for n, a := range addrs { // "[::]:port" when listening everywhere
				if host, port, ok := strings.Cut(a, "]:"); ok && strings.HasPrefix(host, "[") {
					addrs[n] = "127.0.0.1:" + port
				}
			}
			return addrs
		}
		select {
		case <-added:
		case <-p.done:
			t.Fatalf("%s exited before listening on %v: %v", p.name, names, p.err)
		case <-timeout:
			t.Fatalf("%s: no listening line for each of %v within %s (got %v)", p.name, names, patience, addrs)
		}
	}
}
