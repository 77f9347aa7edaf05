package config

import (
	"strings"
	"testing"
)

const boundsYAML = `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        options: {max_calls_per_caller: 10, max_calls_per_callee: -1, max_subscriptions_per_session: 5, max_registrations_per_session: 0,
                  stored_event_bytes: 1000, retained_bytes: -1, history_bytes: 2000}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`

func TestRealmBounds(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "b.yaml", boundsYAML)
	r := c.Realms[0]
	if r.MaxCallsPerCaller != 10 || r.MaxCallsPerCallee != -1 || r.MaxSubscriptionsPerSession != 5 || r.MaxRegistrationsPerSession != 0 ||
		r.StoredEventBytes != 1000 || r.RetainedBytes != -1 || r.HistoryBytes != 2000 {
		t.Errorf("bounds = %+v", r)
	}
	_, _, err := Parse("bad.yaml", []byte(strings.Replace(boundsYAML, "max_calls_per_caller: 10", "max_calls_per_caller: -2", 1)))
	if err == nil || !strings.Contains(err.Error(), "max_calls_per_caller") {
		t.Errorf("max_calls_per_caller: -2 accepted or error unclear: %v", err)
	}
}
