package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
)

func TestEdgeLimits(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "l.yaml", limitsConfig(`{max_connections_per_ip: 20, max_connections_per_listener: 5000, max_pending_logins: 8, hello_rate_per_ip: {rate: 5, burst: 10}, hello_rate_per_authid: {rate: 0}}`, ""))
	want := Limits{MaxConnectionsPerIP: 20, MaxConnectionsPerListener: 5000, MaxPendingLogins: 8,
		HelloRatePerIP: router.Rate{PerSecond: 5, Burst: 10}, HelloRatePerAuthID: router.Rate{PerSecond: -1}}
	if c.Limits != want {
		t.Errorf("Limits = %+v, want %+v", c.Limits, want)
	}
	o := c.RouterOptions()
	if o.MaxConnectionsPerIP != 20 || o.MaxConnectionsPerListener != 5000 || o.MaxPendingLogins != 8 ||
		o.HelloRatePerIP != want.HelloRatePerIP || o.HelloRatePerAuthID != want.HelloRatePerAuthID {
		t.Errorf("RouterOptions: %+v", o)
	}
}

func TestRealmEdgeOptions(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(limitsConfig("", ""), "      - name: realm1\n", `      - name: realm1
        options:
          max_sessions: 1000
          message_rate: {session: {rate: 100, burst: 200}, authid: {rate: 500}, close_after: 50, close_window: "30s"}
          message_rate_per_role: {anonymous: {role: {rate: 1000, burst: 2000}}}
`, 1)
	c, _ := mustParse(t, "r.yaml", cfg)
	r := c.Realms[0]
	if r.MaxSessions != 1000 {
		t.Errorf("MaxSessions = %d", r.MaxSessions)
	}
	want := router.MessageRates{Session: router.Rate{PerSecond: 100, Burst: 200}, AuthID: router.Rate{PerSecond: 500}, CloseAfter: 50, CloseWindow: 30 * time.Second}
	if r.MessageRates != want {
		t.Errorf("MessageRates = %+v, want %+v", r.MessageRates, want)
	}
	if !reflect.DeepEqual(r.RoleMessageRates, map[string]router.MessageRates{"anonymous": {Role: router.Rate{PerSecond: 1000, Burst: 2000}}}) {
		t.Errorf("RoleMessageRates = %+v", r.RoleMessageRates)
	}
}

func TestPreJoinSizeKey(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(limitsConfig("", ""), "        endpoint:", "        options: {max_message_size_before_join: 131072}\n        endpoint:", 1)
	c, _ := mustParse(t, "p.yaml", cfg)
	if got := c.Transports[0].RawSocket.PreJoinMaxMessageSize; got != 131072 {
		t.Errorf("PreJoinMaxMessageSize = %d, want 131072", got)
	}
}

func TestEdgeLimitsErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ options, want string }{
		{"{max_connections_per_ip: 0}", "max_connections_per_ip: must be a positive integer"},
		{"{hello_rate_per_ip: {rate: -1}}", "hello_rate_per_ip.rate: must be a number of messages per second >= 0"},
		{"{hello_rate_per_ip: {burst: 5}}", "hello_rate_per_ip"},
		{"{hello_rate_per_ip: {rate: 1, bust: 5}}", `unknown key "bust"`},
	} {
		_, _, err := Parse("e.yaml", []byte(limitsConfig(tc.options, "")))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.options, err, tc.want)
		}
	}
}
