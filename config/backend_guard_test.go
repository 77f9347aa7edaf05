package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBackendGuardKeys: the in-flight, queue and breaker keys of a role's
// authorizer and of a dynamic authenticator reach authz and auth, 0 meaning
// "none" in the file; bad values are errors at their line:col, keys on a
// role without an authorizer warnings.
func TestBackendGuardKeys(t *testing.T) {
	t.Parallel()
	c, warns := mustParse(t, "g.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: user
            authorizer: com.example.authorize
            authorizer-max-in-flight: 32
            authorizer-max-queued: 0
            authorizer-breaker: {threshold: 20, cooldown: "5s"}
          - name: open
            authorizer: com.example.authorize
            authorizer-max-in-flight: 0
          - name: static
            authorizer-max-in-flight: 8
            permissions: []
    transports:
      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket:
            type: dynamic
            authenticator: com.example.authenticate
            authenticator-max-in-flight: 16
            authenticator-max-queued: 1000
            authenticator-breaker: {threshold: 5}
`)
	roles := c.RouterOptions().Realms[0].Roles
	if r := roles[0]; r.MaxInFlight != 32 || r.MaxQueued != -1 || r.BreakerThreshold != 20 || r.BreakerCooldown != 5*time.Second {
		t.Errorf("user: %+v", r)
	}
	if r := roles[1]; r.MaxInFlight != -1 || r.MaxQueued != 0 || r.BreakerThreshold != 0 {
		t.Errorf("open: %+v", r)
	}
	d := c.Transports[0].RouterTransport().RawSocket.Auth[0].Dynamic
	if d.MaxInFlight != 16 || d.MaxQueued != 1000 || d.BreakerThreshold != 5 || d.BreakerCooldown != 0 {
		t.Errorf("authenticator: %+v", d)
	}
	wantWarns := []string{`g.yaml:16:13: workers[0].realms[0].roles[2].authorizer-max-in-flight: ignored: authorizer-max-in-flight only applies to a role with an authorizer`}
	if got := warnStrings(warns); !slices.Equal(got, wantWarns) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantWarns, "\n"))
	}

	_, _, err := Parse("g.yaml", []byte(`version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: user
            authorizer: com.example.authorize
            authorizer-max-in-flight: -1
            authorizer-breaker: {cooldown: 100}
    transports:
      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ticket:
            type: dynamic
            authenticator: com.example.authenticate
            authenticator-max-queued: many
            authenticator-breaker: {threshold: 0, cooldown: -5, half-open: true}
`))
	got := errLines(t, err)
	want := []string{
		`g.yaml:9:39: workers[0].realms[0].roles[0].authorizer-max-in-flight: must be an integer 0-1000000, got -1`,
		`g.yaml:10:33: workers[0].realms[0].roles[0].authorizer-breaker: missing required key "threshold"`,
		`g.yaml:18:39: workers[0].transports[0].auth.ticket.authenticator-max-queued: must be an integer 0-1000000, got string "many"`,
		`g.yaml:19:48: workers[0].transports[0].auth.ticket.authenticator-breaker.threshold: must be an integer 1-1000000, got 0`,
		`g.yaml:19:61: workers[0].transports[0].auth.ticket.authenticator-breaker.cooldown: must be a positive integer (milliseconds), got -5`,
		`g.yaml:19:65: workers[0].transports[0].auth.ticket.authenticator-breaker: unknown key "half-open"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
