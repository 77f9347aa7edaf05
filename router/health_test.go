package router_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// /readyz waits for the realm's authorizer to be registered; /status counts
// what the realm holds and reports the config file and the last reload.
func TestHealthAndStatus(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
			{Name: "user", Authorizer: "com.example.authorize", Timeout: 5 * time.Second},
		}}}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	base := "http://" + strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{Metrics: []string{"/metrics"}}), "tcp://")
	srv.Router().SetConfigFile("/etc/tollgate.yaml")

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "com.example.authorize is not registered") {
		t.Errorf("/readyz before the authorizer: %d %q", code, body)
	}
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	backend.subscribe("com.example.news", wamp.Dict{})
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}

	srv.Router().NoteReload(errors.New("config: roles[1]: bad"))
	code, body := get(t, base+"/status")
	if code != 200 {
		t.Fatalf("/status: %d %s", code, body)
	}
	var st router.Status
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status: %v\n%s", err, body)
	}
	if st.Version != router.Version || st.ConfigFile != "/etc/tollgate.yaml" || st.UptimeSeconds <= 0 || st.Listeners < 2 {
		t.Errorf("status %+v", st)
	}
	if st.LastReload == nil || st.LastReload.OK || st.LastReload.Error != "config: roles[1]: bad" {
		t.Errorf("last reload %+v", st.LastReload)
	}
	if len(st.Realms) != 1 {
		t.Fatalf("realms %+v", st.Realms)
	}
	rs := st.Realms[0]
	if rs.Name != "realm1" || rs.Sessions != 1 || rs.Registrations != 1 || rs.Subscriptions != 1 || len(rs.Missing) != 0 ||
		rs.AuthzCacheEntries == nil || *rs.AuthzCacheEntries != 0 || rs.AuthzCacheHitRatio == nil || *rs.AuthzCacheHitRatio != 0 {
		t.Errorf("realm status %+v", rs)
	}
}
