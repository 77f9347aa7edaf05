package router_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Message counts live in each connection and are folded into the router's
// totals when it closes: a scrape after the connection left still counts
// its messages, once. Errors are counted by URI, unknown ones as "other".
func TestMetricsClosedConnectionsAndErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	url := "http://" + strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{Metrics: []string{"/metrics"}}), "tcp://") + "/metrics"

	callee := dialPeer(t, srv, "tcp", "json")
	callee.join()
	callee.register("com.example.fail", wamp.Dict{})
	caller := dialPeer(t, srv, "ws", "msgpack")
	caller.join()
	m := scrape(t, url)
	if got := m.get(t, "tollgate_sessions_by_kind", "realm", string(routertest.Realm), "transport", "websocket",
		"serializer", "msgpack", "authmethod", "anonymous"); got != 1 {
		t.Errorf("sessions_by_kind websocket/msgpack = %v, want 1", got)
	}
	if got := m.get(t, "tollgate_sessions_by_kind", "realm", string(routertest.Realm), "transport", "rawsocket",
		"serializer", "json", "authmethod", "anonymous"); got != 1 {
		t.Errorf("sessions_by_kind rawsocket/json = %v, want 1", got)
	}

	req := caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.nothing"})
	caller.expectError(wamp.TypeCall, req, wamp.ErrNoSuchProcedure)
	req = caller.next()
	caller.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "com.example.fail"})
	inv := expect[*wamp.Invocation](callee)
	if got := scrape(t, url).get(t, "tollgate_calls_in_flight", "realm", string(routertest.Realm)); got != 1 {
		t.Errorf("calls in flight while the callee works = %v, want 1", got)
	}
	callee.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Details: wamp.Dict{}, Error: "com.example.oops"})
	caller.expectError(wamp.TypeCall, req, "com.example.oops")
	waitMetric(t, url, 0, "tollgate_calls_in_flight", "realm", string(routertest.Realm))

	caller.tc.Close()
	waitMetric(t, url, 1, "tollgate_connections")
	m = scrape(t, url)
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"tollgate_messages_received_total", []string{"type", "call"}, 2},
		{"tollgate_messages_received_total", []string{"type", "hello"}, 2},
		{"tollgate_messages_received_total", []string{"type", "error"}, 1},
		{"tollgate_messages_sent_total", []string{"type", "error"}, 2},
		{"tollgate_messages_sent_total", []string{"type", "invocation"}, 1},
		{"tollgate_errors_sent_total", []string{"uri", "wamp.error.no_such_procedure"}, 1},
		{"tollgate_errors_sent_total", []string{"uri", "other"}, 1},
		{"tollgate_errors_sent_total", []string{"uri", "wamp.error.not_authorized"}, 0},
		// Only the call that reached a callee is timed (the other was
		// refused before); the caller has left, its histogram stays.
		{"tollgate_call_duration_seconds_count", nil, 1},
		{"tollgate_call_duration_seconds_bucket", []string{"le", "+Inf"}, 1},
	} {
		if got := m.get(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if in, out := m.get(t, "tollgate_received_bytes_total"), m.get(t, "tollgate_sent_bytes_total"); in < 50 || out < 50 {
		t.Errorf("bytes received %v, sent %v: too few for two sessions' traffic", in, out)
	}
	if sum, fast := m.get(t, "tollgate_call_duration_seconds_sum"), m.get(t, "tollgate_call_duration_seconds_bucket", "le", "0.0001"); sum <= 0 || sum > 10 || fast > 1 {
		t.Errorf("call duration sum %v, le=0.0001 bucket %v", sum, fast)
	}
	// The Go runtime and process collectors are registered.
	m.get(t, "go_goroutines")
	m.get(t, "process_start_time_seconds")
}

// A scraper asking for OpenMetrics gets it.
func TestMetricsOpenMetrics(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	url := "http://" + strings.TrimPrefix(srv.Serve(t, "tcp", router.Transport{Metrics: []string{"/metrics"}}), "tcp://") + "/metrics"
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q", ct)
	}
	if !strings.HasSuffix(string(body), "# EOF\n") || !strings.Contains(string(body), "\ntollgate_messages_received_total{type=\"hello\"} 0.0\n") {
		t.Errorf("not OpenMetrics with our counters:\n%s", body)
	}
}
