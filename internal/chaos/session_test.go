package chaos_test

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/chaos"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

var everything = authz.Actions{Call: true, Register: true, Publish: true, Subscribe: true}

// ticketFront serves a ticket-authenticated transport of kind on srv.
func ticketFront(t *testing.T, srv *routertest.Server, kind string) string {
	m := auth.MethodConfig{Method: "ticket", Type: "static",
		Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"joe": {Ticket: "pw", Role: "anonymous"}}}}
	if kind == chaos.WebSocket {
		return srv.Serve(t, "tcp", router.Transport{WebSocket: map[string]router.WebSocketOptions{"/ws": {Auth: []auth.MethodConfig{m}}}})
	}
	return srv.Serve(t, "tcp", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{m}}})
}

// A login flood is refused by admission control before any authenticator
// runs: ABORT tollgate.error.login_throttled, counted.
func TestLoginFlood(t *testing.T) {
	t.Parallel()
	const burst, flood = 4, 30
	srv := routertest.Start(t, func(o *router.Options) {
		o.HelloRatePerIP = router.Rate{PerSecond: 0.01, Burst: burst}
		o.Realms[0].Roles = []authz.RoleConfig{{Name: "anonymous", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}}}
	})
	// The per-IP bucket is shared: the first kind takes the burst.
	throttled := 0
	for _, kind := range kinds {
		front := ticketFront(t, srv, kind)
		for range flood / 2 {
			p, err := chaos.Dial(ctxT(t, 5*time.Second), front, "json", 0)
			if err != nil {
				t.Fatal(err)
			}
			m, err := p.Hello(ctxT(t, 5*time.Second), routertest.Realm, wamp.Dict{"authmethods": wamp.List{"ticket"}, "authid": "joe"})
			p.Close()
			if err != nil {
				t.Fatal(err)
			}
			switch chaos.Describe(m) {
			case "ABORT " + string(router.ErrLoginThrottled):
				throttled++
			case "CHALLENGE":
			default:
				t.Fatalf("HELLO answered by %s", chaos.Describe(m))
			}
		}
	}
	if throttled != flood-burst {
		t.Errorf("%d logins throttled, want %d", throttled, flood-burst)
	}
	if got := srv.Router().Stats().ThrottledLogins; got != uint64(throttled) {
		t.Errorf("ThrottledLogins = %d, want %d", got, throttled)
	}
	for _, kind := range kinds {
		healthy(t, srv, kind)
	}
}

// A message flood over the session rate gets ERROR wamp.error.rate_limited
// per request, then GOODBYE tollgate.close.rate_limited.
func TestMessageFlood(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].MessageRates = router.MessageRates{Session: router.Rate{PerSecond: 1, Burst: 5}, CloseAfter: 10}
	})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			before := srv.Router().Stats()
			p := joined(t, srv, kind, "json")
			for range 40 {
				if p.Send(ctxT(t, time.Second), &wamp.Publish{Request: p.Next(), Options: wamp.Dict{"acknowledge": true}, Topic: "chaos.flood"}) != nil {
					break // closed already
				}
			}
			limited, published := 0, 0
			for {
				m, err := p.Recv(ctxT(t, 5*time.Second))
				if err != nil {
					t.Fatalf("no GOODBYE: %v", err)
				}
				switch d := chaos.Describe(m); d {
				case "PUBLISHED":
					published++
				case "ERROR " + string(router.ErrRateLimited):
					limited++
				case "GOODBYE " + string(router.CloseRateLimited):
					after := srv.Router().Stats()
					if published > 8 || limited < 10 { // burst 5, 1/s refill while the test runs
						t.Errorf("%d published, %d rate limited", published, limited)
					}
					if after.RateLimitCloses-before.RateLimitCloses != 1 || after.RateLimited-before.RateLimited < 10 {
						t.Errorf("RateLimitCloses +%d, RateLimited +%d", after.RateLimitCloses-before.RateLimitCloses, after.RateLimited-before.RateLimited)
					}
					healthy(t, srv, kind)
					return
				default:
					t.Fatalf("unexpected %s", d)
				}
			}
		})
	}
}

// Calls to a callee that never answers stop at MaxCallsPerCaller (ERROR
// tollgate.error.too_many_calls); when the callee goes, every pending
// call still gets exactly one answer.
func TestCallsInFlight(t *testing.T) {
	t.Parallel()
	const maxCalls, calls = 5, 12
	srv := routertest.Start(t, func(o *router.Options) { o.Realms[0].MaxCallsPerCaller = maxCalls })
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			proc := wamp.URI("chaos.deaf_" + kind)
			callee := joined(t, srv, kind, "json")
			register(t, callee, proc)
			caller := joined(t, srv, kind, "msgpack")
			before := srv.Router().Stats().BoundRefusals
			for range calls {
				send(t, caller, &wamp.Call{Request: caller.Next(), Options: wamp.Dict{}, Procedure: proc})
			}
			answers := map[wamp.ID]string{}
			for range calls - maxCalls {
				m := recv(t, caller)
				e, _ := m.(*wamp.Error)
				if e == nil || e.Error != "tollgate.error.too_many_calls" {
					t.Fatalf("got %s, want ERROR tollgate.error.too_many_calls", chaos.Describe(m))
				}
				answers[e.Request] = string(e.Error)
			}
			if got := srv.Router().Stats().BoundRefusals - before; got != calls-maxCalls {
				t.Errorf("BoundRefusals +%d, want %d", got, calls-maxCalls)
			}
			callee.Close() // never answered: the router answers for it
			for len(answers) < calls {
				m := recv(t, caller)
				e, _ := m.(*wamp.Error)
				if e == nil || answers[e.Request] != "" {
					t.Fatalf("got %s (second answer?) with %d of %d answered", chaos.Describe(m), len(answers), calls)
				}
				answers[e.Request] = string(e.Error)
			}
			healthy(t, srv, kind)
		})
	}
}

// Results the caller cannot take still answer the CALL: too big for its
// announced limit (payload_size_exceeded), not encodable in its
// serializer (invalid_argument); both counted.
func TestUnanswerableResults(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			proc := wamp.URI("chaos.big_" + kind)
			callee := joined(t, srv, kind, "msgpack")
			register(t, callee, proc)
			small, err := chaos.Dial(ctxT(t, 5*time.Second), srv.URL(kind), "json", 1024)
			if err != nil {
				t.Fatal(err)
			}
			defer small.Close()
			if _, err := small.Join(ctxT(t, 5*time.Second), routertest.Realm); err != nil {
				t.Fatal(err)
			}
			before := srv.Router().Stats()
			for _, c := range []struct {
				result any
				want   wamp.URI
			}{{strings.Repeat("x", 4096), wamp.ErrPayloadSizeExceeded}, {math.NaN(), wamp.ErrInvalidArgument}} {
				if kind == chaos.WebSocket && c.want == wamp.ErrPayloadSizeExceeded {
					continue // WebSocket announces no limit to the router
				}
				req := small.Next()
				send(t, small, &wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc})
				inv, ok := recv(t, callee).(*wamp.Invocation)
				if !ok {
					t.Fatal("no INVOCATION")
				}
				send(t, callee, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{c.result}}})
				expectError(t, small, req, c.want)
			}
			after := srv.Router().Stats()
			if after.Unencodable == before.Unencodable || kind == chaos.RawSocket && after.Oversize == before.Oversize {
				t.Errorf("Unencodable +%d, Oversize +%d", after.Unencodable-before.Unencodable, after.Oversize-before.Oversize)
			}
			healthy(t, srv, kind)
		})
	}
}

// A YIELD for an invocation the router never issued is a protocol
// violation: ABORT, counted.
func TestYieldNeverIssued(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			before := srv.Router().Stats().ProtocolViolations
			p := joined(t, srv, kind, "cbor")
			send(t, p, &wamp.Yield{Request: 4242, Options: wamp.Dict{}})
			expectClosed(t, p, "ABORT "+string(wamp.ErrProtocolViolation))
			if got := srv.Router().Stats().ProtocolViolations - before; got != 1 {
				t.Errorf("ProtocolViolations +%d, want 1", got)
			}
			healthy(t, srv, kind)
		})
	}
}

// Retained events flooding many topics stay within RetainedBytes (oldest
// evicted); one over StoredEventBytes is delivered but not stored.
func TestRetainedFlood(t *testing.T) {
	t.Parallel()
	const budget = 32 << 10
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].RetainedBytes = budget
		o.Realms[0].StoredEventBytes = 4 << 10
	})
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p := joined(t, srv, kind, "json")
			before := srv.Router().Stats()
			blob := strings.Repeat("r", 2<<10)
			var ms []wamp.Message
			for i := range 64 {
				ms = append(ms, &wamp.Publish{Request: p.Next(), Options: wamp.Dict{"retain": true}, Topic: wamp.URI(fmt.Sprintf("chaos.retained_%s.t%d", kind, i)), Payload: wamp.Payload{Args: wamp.List{blob}}})
			}
			ms = append(ms, &wamp.Publish{Request: p.Next(), Options: wamp.Dict{"retain": true, "acknowledge": true}, Topic: "chaos.retained.huge", Payload: wamp.Payload{Args: wamp.List{strings.Repeat("h", 8<<10)}}})
			send(t, p, ms...)
			if m := recv(t, p); m.MessageType() != wamp.TypePublished {
				t.Fatalf("got %s, want PUBLISHED", chaos.Describe(m))
			}
			after := srv.Router().Stats()
			if after.RetainedBytes > budget || after.StoredEvicted == before.StoredEvicted || after.StoredTooLarge != before.StoredTooLarge+1 {
				t.Errorf("RetainedBytes %d (bound %d), StoredEvicted +%d, StoredTooLarge +%d", after.RetainedBytes, budget,
					after.StoredEvicted-before.StoredEvicted, after.StoredTooLarge-before.StoredTooLarge)
			}
			healthy(t, srv, kind)
		})
	}
}

// get_events on subscription ids the caller does not hold (unknown, or
// another session's on a topic it may not subscribe to) gives the same
// wamp.error.no_such_subscription and no events.
func TestGetEventsProbe(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].EventHistory = []router.HistoryConfig{{URI: "chaos.secret", Match: "prefix"}}
		o.Realms[0].Roles = []authz.RoleConfig{
			{Name: "anonymous", Permissions: []authz.Permission{{URI: "chaos.", Match: "prefix", Allow: authz.Actions{Call: true, Publish: true, Subscribe: true, Register: true}},
				{URI: "chaos.secret", Match: "prefix", Allow: authz.Actions{Publish: true}},
				{URI: "wamp.subscription.get_events", Allow: authz.Actions{Call: true}}}},
			{Name: "owner", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
		}
	})
	owner := srv.Serve(t, "unix", router.Transport{RawSocket: &router.RawSocketOptions{Auth: []auth.MethodConfig{{Method: "anonymous", Type: "static", Anonymous: auth.AnonymousConfig{Role: "owner"}}}}})
	o, err := chaos.Dial(ctxT(t, 5*time.Second), owner, "json", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if _, err := o.Join(ctxT(t, 5*time.Second), routertest.Realm); err != nil {
		t.Fatal(err)
	}
	send(t, o, &wamp.Subscribe{Request: o.Next(), Options: wamp.Dict{}, Topic: "chaos.secret.a"})
	sub, ok := recv(t, o).(*wamp.Subscribed)
	if !ok {
		t.Fatal("owner not subscribed")
	}
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			p := joined(t, srv, kind, "json")
			for _, id := range []wamp.ID{sub.Subscription, sub.Subscription + 1, 1, wamp.MaxID} {
				req := p.Next()
				send(t, p, &wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Payload: wamp.Payload{Args: wamp.List{id}}})
				expectError(t, p, req, wamp.ErrNoSuchSubscription)
			}
			healthy(t, srv, kind)
		})
	}
}
