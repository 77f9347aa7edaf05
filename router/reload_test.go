package router_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// publishAck publishes topic with acknowledge and returns the answer.
func publishAck(p *peer, topic wamp.URI) wamp.Message {
	req := p.next()
	p.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: topic})
	return p.recv()
}

func wantPublished(t *testing.T, who string, m wamp.Message) {
	t.Helper()
	if _, ok := m.(*wamp.Published); !ok {
		t.Fatalf("%s: got %v, want PUBLISHED", who, m)
	}
}

func wantDenied(t *testing.T, who string, m wamp.Message) {
	t.Helper()
	if e, ok := m.(*wamp.Error); !ok || e.Error != wamp.ErrNotAuthorized {
		t.Fatalf("%s: got %v, want ERROR not_authorized", who, m)
	}
}

// Reload over live sessions: a bad config changes nothing; a good one
// grants at once, revokes an allow the authorizer cache held, and closes
// the sessions of a removed role; other sessions keep working.
func TestReloadRoles(t *testing.T) {
	t.Parallel()
	srv, backdoor, front := authzRouter(t)
	r := srv.Router()
	metricsURL := "http://" + strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{Metrics: []string{"/metrics"}}), "tcp://") + "/metrics"
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	joe := loginTicket(t, front, "joe") // user: dynamic authorizer
	gus := loginTicket(t, front, "gus") // guest: call and subscribe public.*

	wantDenied(t, "gus before reload", publishAck(gus, "public.news"))
	req := joe.next()
	joe.send(&wamp.Publish{Request: req, Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.c"})
	authorizeNext(t, backend, wamp.Dict{"allow": true, "cache": true})
	wantPublished(t, "joe asking", joe.recv())
	// From the cache: the authorizer is not asked (it would not answer).
	wantPublished(t, "joe cached", publishAck(joe, "com.example.c"))

	realm := func(roles ...authz.RoleConfig) router.Options {
		return router.Options{Realms: []router.RealmOptions{{Name: "realm1", Roles: roles}}}
	}
	backendRole := authz.RoleConfig{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}}
	guestPublishes := authz.RoleConfig{Name: "guest", Permissions: []authz.Permission{{URI: "public.*", Allow: authz.Actions{Call: true, Subscribe: true, Publish: true}}}}
	userStatic := authz.RoleConfig{Name: "user", Permissions: []authz.Permission{{URI: "com.example.other", Allow: authz.Actions{Publish: true}}}}

	// Refused whole: one bad role, and a new realm.
	bad := realm(backendRole, guestPublishes, userStatic, guestPublishes)
	bad.Realms = append(bad.Realms, router.RealmOptions{Name: "realm2"})
	err := r.Reload(bad)
	if err == nil || !strings.Contains(err.Error(), "guest") || !strings.Contains(err.Error(), `realm "realm2" is new`) {
		t.Fatalf("bad reload: %v", err)
	}
	wantDenied(t, "gus after the refused reload", publishAck(gus, "public.news"))
	wantPublished(t, "joe after the refused reload", publishAck(joe, "com.example.c"))

	if err := r.Reload(realm(backendRole, guestPublishes, userStatic)); err != nil {
		t.Fatal(err)
	}
	wantPublished(t, "gus granted", publishAck(gus, "public.news"))
	wantDenied(t, "joe's cached allow revoked", publishAck(joe, "com.example.c"))
	wantPublished(t, "joe's new permission", publishAck(joe, "com.example.other"))
	if cs, _ := r.AuthzCacheStats("realm1"); cs.Hits < 2 || cs.AuthorizerCalls != 1 { // carried over the swap
		t.Errorf("cache counters after the swap %+v: the old authorizer's counts must stay", cs)
	}

	// guest removed: gus is asked to leave with a clear reason.
	if err := r.Reload(realm(backendRole, userStatic)); err != nil {
		t.Fatal(err)
	}
	g := expect[*wamp.Goodbye](gus)
	if g.Reason != router.CloseRoleRemoved {
		t.Errorf("GOODBYE %s, want %s", g.Reason, router.CloseRoleRemoved)
	}
	if msg, _ := wamp.OptString(g.Details, "message"); !strings.Contains(msg, `role "guest" was removed`) {
		t.Errorf("GOODBYE message %q", msg)
	}
	gus.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseGoodbyeAndOut})
	wantPublished(t, "backend untouched", publishAck(backend, "public.news"))
	if got := scrape(t, metricsURL).get(t, "tollgate_authz_cache_flushes_total", "realm", "realm1"); got != 2 {
		t.Errorf("flushes after two reloads = %v, want 2 (the refused one does not count)", got)
	}
	joe.expectNothing(50 * time.Millisecond)
}
