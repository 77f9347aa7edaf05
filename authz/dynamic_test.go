package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

type callerFunc func(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error)

func (f callerFunc) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	return f(ctx, realm, procedure, args, kwargs)
}

// authorizer is an in-process dynamic authorizer: answer decides, calls
// counts, and while gate is non-nil each call blocks until gate is closed.
type authorizer struct {
	calls   atomic.Int64
	entered chan struct{} // receives one value per call, if non-nil
	mu      sync.Mutex
	gate    chan struct{}
	answer  func(session wamp.Dict, uri, action string) (wamp.List, wamp.Dict, error)
}

func (a *authorizer) hold() {
	a.mu.Lock()
	a.gate = make(chan struct{})
	a.mu.Unlock()
}

func (a *authorizer) release() {
	a.mu.Lock()
	if a.gate != nil {
		close(a.gate)
		a.gate = nil
	}
	a.mu.Unlock()
}

func (a *authorizer) Call(ctx context.Context, realm, procedure wamp.URI, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	a.calls.Add(1)
	a.mu.Lock()
	gate := a.gate
	a.mu.Unlock()
	if a.entered != nil {
		a.entered <- struct{}{}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("test: call to %s: %w", procedure, ctx.Err())
		}
	}
	return a.answer(args[0].(wamp.Dict), args[1].(string), args[2].(string))
}

func answerWith(v any) func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
	return func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) { return wamp.List{v}, nil, nil }
}

// details is a slog.Handler that keeps the "detail" attribute of every
// record at warn level or above.
type details struct {
	mu   sync.Mutex
	list []string
}

func (h *details) Enabled(context.Context, slog.Level) bool { return true }
func (h *details) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *details) WithGroup(string) slog.Handler            { return h }
func (h *details) Handle(_ context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "detail" {
			h.mu.Lock()
			h.list = append(h.list, a.Value.String())
			h.mu.Unlock()
		}
		return true
	})
	return nil
}

func (h *details) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.Join(h.list, "\n")
}

func dynRealm(t testing.TB, a *authorizer, o Options, roles ...RoleConfig) *Realm {
	t.Helper()
	o.Caller = a
	if o.TTLJitter == 0 {
		o.TTLJitter = -1 // exact lifetimes; TestTTLJitter covers the spread
	}
	if len(roles) == 0 {
		roles = []RoleConfig{{Name: "user", Authorizer: "com.auth"}}
	}
	r, err := NewRealm("realm1", roles, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sess(id wamp.ID, authid, role string) *Session {
	return &Session{ID: id, Realm: "realm1", AuthID: authid, AuthRole: role}
}

func TestDynamicCallArguments(t *testing.T) {
	t.Parallel()
	var got struct {
		realm, proc wamp.URI
		args        wamp.List
	}
	c := callerFunc(func(_ context.Context, realm, proc wamp.URI, args wamp.List, _ wamp.Dict) (wamp.List, wamp.Dict, error) {
		got.realm, got.proc, got.args = realm, proc, args
		return wamp.List{true}, nil, nil
	})
	r, err := NewRealm("realm1", []RoleConfig{{Name: "user", Authorizer: "com.auth", AuthorizerRealm: "authrealm"}}, Options{Caller: c})
	if err != nil {
		t.Fatal(err)
	}
	s := &Session{ID: 42, Realm: "realm1", AuthID: "alice", AuthRole: "user", AuthMethod: "ticket", AuthProvider: "static",
		AuthExtra: wamp.Dict{"x": "y"}, Transport: wamp.Dict{"type": "websocket"}}
	d := r.Authorize(context.Background(), s, "com.app.f", ActionCall, wamp.Dict{"timeout": int64(5)})
	if !d.Allow {
		t.Fatalf("denied: %+v", d)
	}
	if got.realm != "authrealm" || got.proc != "com.auth" || len(got.args) != 4 {
		t.Fatalf("call = %s %s %v", got.realm, got.proc, got.args)
	}
	sd := got.args[0].(wamp.Dict)
	want := map[string]any{"session": uint64(42), "realm": "realm1", "authid": "alice", "authrole": "user",
		"authmethod": "ticket", "authprovider": "static"}
	for k, v := range want {
		if sd[k] != v {
			t.Errorf("session[%s] = %v, want %v", k, sd[k], v)
		}
	}
	if sd["authextra"].(wamp.Dict)["x"] != "y" || sd["transport"].(wamp.Dict)["type"] != "websocket" {
		t.Errorf("session dict = %v", sd)
	}
	if got.args[1] != "com.app.f" || got.args[2] != "call" || got.args[3].(wamp.Dict)["timeout"] != int64(5) {
		t.Errorf("args = %v", got.args)
	}
	// Nil extra/transport/options become empty dicts, never null.
	r.Authorize(context.Background(), sess(43, "bob", "user"), "com.app.f", ActionSubscribe, nil)
	if sd := got.args[0].(wamp.Dict); sd["authextra"] == nil || sd["transport"] == nil || got.args[3] == nil {
		t.Errorf("nil dicts passed: %v", got.args)
	}
}

func TestDynamicAnswers(t *testing.T) {
	t.Parallel()
	type res struct {
		args   wamp.List
		kwargs wamp.Dict
	}
	one := func(v any) res { return res{args: wamp.List{v}} }
	for _, c := range []struct {
		name         string
		answer       res
		action       Action
		allow, discl bool
		failed       string // message substring when Failed
	}{
		{"true", one(true), ActionCall, true, false, ""},
		{"false", one(false), ActionCall, false, false, ""},
		{"dict allow", one(wamp.Dict{"allow": true}), ActionCall, true, false, ""},
		{"dict deny", one(wamp.Dict{"allow": false}), ActionCall, false, false, ""},
		{"disclose call", one(wamp.Dict{"allow": true, "disclose": true}), ActionCall, true, true, ""},
		{"disclose publish", one(wamp.Dict{"allow": true, "disclose": true}), ActionPublish, true, true, ""},
		{"disclose register ignored", one(wamp.Dict{"allow": true, "disclose": true}), ActionRegister, true, false, ""},
		{"disclose on deny", one(wamp.Dict{"allow": false, "disclose": true}), ActionCall, false, false, ""},
		{"missing disclose on publish", one(wamp.Dict{"allow": true, "cache": false}), ActionPublish, true, false, ""},
		{"validate ignored", one(wamp.Dict{"allow": true, "validate": wamp.Dict{"call": "x"}}), ActionCall, true, false, ""},
		{"unknown key tolerated", one(wamp.Dict{"allow": true, "color": "blue"}), ActionCall, true, false, ""},
		{"null disclose", one(wamp.Dict{"allow": true, "disclose": nil}), ActionCall, true, false, ""},
		{"cache dict", one(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole", "ttl": 1.5}}), ActionCall, true, false, ""},
		{"ttl int", one(wamp.Dict{"allow": true, "cache": true, "ttl": uint64(3)}), ActionCall, true, false, ""},
		{"kwargs answer", res{kwargs: wamp.Dict{"allow": true}}, ActionCall, true, false, ""},
		{"no allow", one(wamp.Dict{"disclose": true}), ActionCall, false, false, "a dict without allow"},
		{"allow string", one(wamp.Dict{"allow": "yes"}), ActionCall, false, false, `allow of type a string "yes", want a bool`},
		{"disclose int", one(wamp.Dict{"allow": true, "disclose": int64(1)}), ActionCall, false, false, "disclose of type an integer 1"},
		{"string", one("yes"), ActionCall, false, false, `a string "yes", want a bool or a dict`},
		{"null", one(nil), ActionCall, false, false, "null"},
		{"list", one(wamp.List{true}), ActionCall, false, false, "a list"},
		{"number", one(1.0), ActionCall, false, false, "a number 1"},
		{"two results", res{args: wamp.List{true, true}}, ActionCall, false, false, "2 results"},
		{"nothing", res{}, ActionCall, false, false, "no result"},
		{"bad cache", one(wamp.Dict{"allow": true, "cache": "x"}), ActionCall, false, false, "cache of type a string"},
		{"bad scope", one(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "world"}}), ActionCall, false, false, `cache.scope a string "world"`},
		{"negative ttl (not cached)", one(wamp.Dict{"allow": true, "ttl": -1.0}), ActionCall, true, false, ""},
		{"NaN ttl", one(wamp.Dict{"allow": true, "ttl": math.NaN()}), ActionCall, false, false, "ttl NaN, want a number of seconds"},
		{"string ttl", one(wamp.Dict{"allow": true, "ttl": "5"}), ActionCall, false, false, "ttl of type a string"},
		{"bad cache ttl", one(wamp.Dict{"allow": true, "cache": wamp.Dict{"ttl": false}}), ActionCall, false, false, "cache.ttl of type a bool"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) {
				return c.answer.args, c.answer.kwargs, nil
			}}
			log := &details{}
			r := dynRealm(t, a, Options{Logger: slog.New(log)})
			d := r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", c.action, nil)
			if c.failed != "" {
				if d.Allow || !d.Failed || d.Message != msgMalformed {
					t.Fatalf("got %+v, want failure %q", d, msgMalformed)
				}
				if want := "authorizer com.auth returned " + c.failed; !strings.Contains(log.String(), want) {
					t.Fatalf("log details %q lack %q", log.String(), want)
				}
				return
			}
			if d.Allow != c.allow || d.Disclose != c.discl || d.Failed {
				t.Fatalf("got %+v, want allow=%v disclose=%v", d, c.allow, c.discl)
			}
		})
	}
}

func TestDynamicWampURIsDisclose(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	r := dynRealm(t, a, Options{})
	for range 2 { // miss, then hit
		if d := r.Authorize(context.Background(), sess(1, "alice", "user"), "wamp.session.get", ActionCall, nil); !d.Allow || !d.Disclose {
			t.Fatalf("got %+v, want allowed and disclosed", d)
		}
	}
}

func TestDynamicErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		err     error
		timeout time.Duration
		realm   wamp.URI
		msg     string // what the client may read
		detail  string // what the log says
	}{
		{"not registered", &wamp.CallError{URI: wamp.ErrNoSuchProcedure}, 0, "", msgNotRegistered, "authorizer com.auth is not registered"},
		{"not registered elsewhere", &wamp.CallError{URI: wamp.ErrNoSuchProcedure}, 0, "authrealm", msgNotRegistered, "authorizer com.auth is not registered on realm authrealm"},
		{"application error", &wamp.CallError{URI: "com.app.boom", Args: wamp.List{"bad day"}}, 0, "", msgError, "authorizer com.auth failed: com.app.boom: bad day"},
		{"go error", errors.New("connection lost"), 0, "", msgError, "authorizer com.auth failed: connection lost"},
		{"timeout", nil, 50 * time.Millisecond, "", msgTimeout, "authorizer com.auth timed out after 50ms"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &authorizer{answer: func(wamp.Dict, string, string) (wamp.List, wamp.Dict, error) { return nil, nil, c.err }}
			if c.err == nil {
				a.hold() // never released: the call times out
			}
			log := &details{}
			r := dynRealm(t, a, Options{Logger: slog.New(log)}, RoleConfig{Name: "user", Authorizer: "com.auth", AuthorizerRealm: c.realm, Timeout: c.timeout})
			d := r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
			if d.Allow || !d.Failed || d.Message != c.msg {
				t.Fatalf("got %+v, want failure %q", d, c.msg)
			}
			if !strings.Contains(log.String(), c.detail) {
				t.Errorf("log details %q lack %q", log.String(), c.detail)
			}
			// Failures are never cached.
			r.Authorize(context.Background(), sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
			if n := a.calls.Load(); n != 2 {
				t.Errorf("authorizer called %d times, want 2", n)
			}
			if st := r.CacheStats(); st.Failures != 2 || st.AuthorizerCalls != 2 || st.Entries != 0 {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestDynamicCanceled(t *testing.T) {
	t.Parallel()
	a := &authorizer{answer: answerWith(true)}
	a.hold()
	r := dynRealm(t, a, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := r.Authorize(ctx, sess(1, "alice", "user"), "com.app.x", ActionCall, nil)
	if d.Allow || !d.Failed || !strings.Contains(d.Message, "canceled") {
		t.Fatalf("got %+v", d)
	}
}
