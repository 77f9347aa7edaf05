package load

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
)

// TestStormScenario: -hold logins at once against a dynamic ticket
// authenticator the tool plays, with a latency per call; the router's
// guard keeps the backend at its max-in-flight, and every login is
// answered.
func TestStormScenario(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.HelloRatePerIP, o.HelloRatePerAuthID = router.Rate{PerSecond: -1}, router.Rate{PerSecond: -1}
		o.MaxPendingLogins = -1
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "user", Permissions: []authz.Permission{{URI: "loadtest.", Match: "prefix", Allow: authz.Actions{Call: true}}}},
			{Name: "backend", Permissions: []authz.Permission{{URI: "loadtest.", Match: "prefix", Allow: authz.Actions{Register: true}}}},
		}}}
	})
	front := srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "loadtest.authenticate", MaxInFlight: 8, MaxQueued: 1000}},
	}}})
	backdoor := srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{
		{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "backend"}},
	}}})
	cfg, _, err := ParseArgs([]string{"storm", "-hold", "300", "-serializer", "msgpack", "-authid", "joe", "-ticket", "secret",
		"-authenticator", backdoor, "-auth-latency", "2ms", front})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := res.Storm
	if s == nil || s.Accepted != 300 || s.UnansweredCount != 0 || s.BackendCalls != 300 || s.BackendPeak > 8 || s.BackendPeak < 1 || res.Failed() != "" {
		t.Fatalf("storm %+v, failed %q", s, res.Failed())
	}
	checkLatency(t, "login", s.Latency, 300)
	if s.Latency.Min < 2*time.Millisecond {
		t.Errorf("a login took %v, less than one authenticator call", s.Latency.Min)
	}
	var out bytes.Buffer
	res.WriteText(&out)
	for _, want := range []string{"storm       300 sessions at once: 300 accepted, 0 refused, 0 unanswered", "backend     300 authenticator calls, at most "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
