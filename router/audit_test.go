package router_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// lockedBuffer collects audit lines written by the router's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records parses the JSON lines written so far.
func (l *lockedBuffer) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// An audited realm records accepted and refused joins (without the
// ticket) and authorizer failures; a realm without audit records nothing.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	srv := routertest.Start(t, func(o *router.Options) {
		o.AuditLog = slog.New(slog.NewJSONHandler(&buf, nil))
		o.Realms = []router.RealmOptions{
			{Name: "realm1", Audit: true, Roles: []authz.RoleConfig{
				{Name: "user", Authorizer: "com.example.authorize", Timeout: time.Second},
			}},
			{Name: "quiet"},
		}
	})
	ws := srv.Serve(t, "tcp", router.Transport{
		WebSocket: map[string]router.WebSocketOptions{"/ws": {Auth: []auth.MethodConfig{{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
			Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}},
		}}}}},
	})
	joe := loginTicket(t, ws, "joe")
	bad := dialURL(t, ws, "json")
	bad.hello(wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
	expect[*wamp.Challenge](bad)
	bad.send(&wamp.Authenticate{Signature: "wrong-pw-xyzzy", Extra: wamp.Dict{}})
	expectAbort(bad, wamp.ErrAuthenticationFailed)
	// Nobody registered the authorizer: the decision fails (closed).
	req := joe.next()
	joe.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.news"})
	joe.expectError(wamp.TypePublish, req, wamp.ErrAuthorizationFailed)
	quiet := dialPeer(t, srv, "tcp", "json")
	quiet.send(&wamp.Hello{Realm: "quiet", Details: wamp.Dict{"roles": clientRoles}})
	quiet.welcomed()

	recs := buf.records(t)
	if len(recs) != 3 {
		t.Fatalf("%d audit records, want 3: %v", len(recs), recs)
	}
	want := []map[string]any{
		{"event": "join", "accepted": true, "realm": "realm1", "authid": "joe", "authrole": "user", "authmethod": "ticket", "authprovider": "static", "transport": "websocket"},
		{"event": "join", "accepted": false, "realm": "realm1", "authid": "joe", "reason": "wamp.error.authentication_failed", "transport": "websocket"},
		{"event": "authorization", "realm": "realm1", "authid": "joe", "authrole": "user", "uri": "com.example.news", "action": "publish", "allow": false, "source": "authorizer_failure"},
	}
	// joe's join record may follow bad's refusal (it is written after WELCOME).
	for _, w := range want {
		found := false
		for _, r := range recs {
			match := true
			for k, v := range w {
				match = match && r[k] == v
			}
			if match {
				found = true
				if r["event"] == "join" && r["peer"] == nil {
					t.Errorf("join record without peer address: %v", r)
				}
			}
		}
		if !found {
			t.Errorf("no audit record like %v in %v", w, recs)
		}
	}
	buf.mu.Lock()
	all := buf.b.String()
	buf.mu.Unlock()
	if strings.Contains(all, "xyzzy") || strings.Contains(all, `"pw"`) {
		t.Errorf("a ticket reached the audit log:\n%s", all)
	}
}

// TestAuditDecisions: every authorization decision that is not a cache hit
// is audited with its source — a static rule (named by URI and match), the
// default deny, the authorizer's answer — and a cache hit is not.
func TestAuditDecisions(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	srv := routertest.Start(t, func(o *router.Options) {
		o.AuditLog = slog.New(slog.NewJSONHandler(&buf, nil))
		o.Realms = []router.RealmOptions{{Name: "realm1", Audit: true, Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
			{Name: "guest", Permissions: []authz.Permission{{URI: "public.*", Allow: authz.Actions{Subscribe: true}}}},
			{Name: "user", Authorizer: "com.example.authorize", Timeout: 5 * time.Second},
		}}}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}, "gus": {Ticket: "pw", Role: "guest"}},
	}}))
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})

	gus := loginTicket(t, front, "gus")
	gus.subscribe("public.news", wamp.Dict{})
	req := gus.next()
	gus.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "private.news"})
	gus.expectError(wamp.TypeSubscribe, req, wamp.ErrNotAuthorized)

	joe := loginTicket(t, front, "joe")
	for i := range 2 { // the second is answered from the cache: not audited
		joe.send(&wamp.Subscribe{Request: joe.next(), Options: wamp.Dict{}, Topic: "com.example.news"})
		if i == 0 {
			authorizeNext(t, backend, wamp.Dict{"allow": true, "cache": true})
		}
		expect[*wamp.Subscribed](joe)
	}

	var decisions []map[string]any
	for _, r := range buf.records(t) {
		if r["event"] == "authorization" && r["authrole"] != "backend" {
			decisions = append(decisions, r)
		}
	}
	want := []map[string]any{
		{"authid": "gus", "uri": "public.news", "action": "subscribe", "allow": true, "source": "static", "rule_uri": "public", "rule_match": "prefix"},
		{"authid": "gus", "uri": "private.news", "action": "subscribe", "allow": false, "source": "static"},
		{"authid": "joe", "uri": "com.example.news", "action": "subscribe", "allow": true, "source": "authorizer"},
	}
	if len(decisions) != len(want) {
		t.Fatalf("%d authorization records, want %d (a cache hit is not audited): %v", len(decisions), len(want), decisions)
	}
	for i, w := range want {
		for k, v := range w {
			if decisions[i][k] != v {
				t.Errorf("record %d: %s = %v, want %v (%v)", i, k, decisions[i][k], v, decisions[i])
			}
		}
		if _, ok := decisions[i]["latency_ms"]; !ok {
			t.Errorf("record %d has no latency: %v", i, decisions[i])
		}
	}
	if _, ok := decisions[1]["rule_uri"]; ok {
		t.Errorf("the default deny names a rule: %v", decisions[1])
	}
}
