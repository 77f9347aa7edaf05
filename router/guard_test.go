package router_test

import (
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestAuthorizerBreaker: over real sockets, an authorizer that keeps
// failing opens its breaker after authorizer-breaker.threshold failures;
// then actions fail at once with "unavailable" without a call to the
// backend, and the metrics show the open breaker, the opening and the
// refusal.
func TestAuthorizerBreaker(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{Name: "realm1", Roles: []authz.RoleConfig{
			{Name: "backend", Permissions: []authz.Permission{{URI: "*", Allow: everything}}},
			{Name: "user", Authorizer: "com.example.authorize", BreakerThreshold: 2, BreakerCooldown: time.Hour},
		}}}
	})
	backdoor := srv.Serve(t, "unix", anonymousTransport("backend"))
	front := srv.Serve(t, "tcp", rawTransport(auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{
		Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "user"}},
	}}))
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	joe := loginTicket(t, front, "joe")

	for range 2 {
		req := joe.next()
		joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "public.echo"})
		inv := expect[*wamp.Invocation](backend)
		backend.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.db_down"})
		joe.expectError(wamp.TypeCall, req, wamp.ErrAuthorizationFailed)
	}
	req := joe.next()
	joe.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "public.echo"})
	e := joe.expectError(wamp.TypeCall, req, wamp.ErrAuthorizationFailed)
	if msg := argsOf(t, &e.Payload); len(msg) == 0 || msg[0] != "authorization failed: the authorizer is unavailable" {
		t.Errorf("open breaker: %v", msg)
	}
	backend.expectNothing(50 * time.Millisecond) // no call while open

	got := map[string]float64{}
	mfs, err := srv.Router().Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["kind"] != "authorizer" || l["realm"] != "realm1" || l["procedure"] != "com.example.authorize" {
				continue
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			got[mf.GetName()+"/"+l["reason"]] = v
		}
	}
	want := map[string]float64{
		"tollgate_backend_in_flight/": 0, "tollgate_backend_queued/": 0,
		"tollgate_backend_rejected_total/queue_full": 0, "tollgate_backend_rejected_total/wait_timeout": 0,
		"tollgate_backend_rejected_total/circuit_open": 1,
		"tollgate_backend_breaker_open/":               1, "tollgate_backend_breaker_openings_total/": 1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}
