package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

const authHeadersConfig = `version: 2
workers:
  - type: router
    options:
      auth_headers: [X-Forwarded-For]
    realms:
      - name: realm1
        roles:
          - {name: anonymous, allow-by-default: true}
    transports:
      - type: websocket
        endpoint: {type: tcp, port: 0}
        auth_headers: [user-agent, Cookie, "*"]
      - type: web
        endpoint: {type: tcp, port: 0}
        paths:
          ws: {type: websocket}
          none: {type: websocket, auth_headers: []}
`

// auth_headers on a websocket item and, as the default for the others,
// in the router worker's options; nil (inherit) and [] (none) differ.
func TestAuthHeadersKey(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "h.yaml", authHeadersConfig)
	if got := c.RouterOptions().AuthHeaders; !slices.Equal(got, []string{"X-Forwarded-For"}) {
		t.Errorf("router default %q", got)
	}
	ws := c.Transports[0].RouterTransport().WebSocket[""]
	if !slices.Equal(ws.AuthHeaders, []string{"user-agent", "Cookie", "*"}) {
		t.Errorf("websocket transport %q", ws.AuthHeaders)
	}
	web := c.Transports[1].RouterTransport().WebSocket
	if web["/ws"].AuthHeaders != nil {
		t.Errorf("path without a list: %q, want nil (the router default)", web["/ws"].AuthHeaders)
	}
	if none := web["/none"].AuthHeaders; none == nil || len(none) != 0 {
		t.Errorf("auth_headers: [] gave %#v, want an empty non-nil list", none)
	}
}

func TestAuthHeadersErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		item string // the websocket transport's auth_headers value
		want []string
	}{
		{`[user-agent, 5]`, []string{`h.yaml:13:36: workers[0].transports[0].auth_headers[1]: must be a string, got integer 5 (quote it)`}},
		{`[user-agent, "x forwarded"]`, []string{`h.yaml:13:36: workers[0].transports[0].auth_headers[1]: header name "x forwarded": character ' ' is not allowed in an HTTP header name`}},
		{`[user-agent, "x:y"]`, []string{`h.yaml:13:36: workers[0].transports[0].auth_headers[1]: header name "x:y": character ':' is not allowed in an HTTP header name`}},
		{`[user-agent, User-Agent]`, []string{`h.yaml:13:36: workers[0].transports[0].auth_headers[1]: header "User-Agent" listed twice (names are case-insensitive)`}},
		{`[""]`, []string{`h.yaml:13:24: workers[0].transports[0].auth_headers[0]: empty header name`}},
		{`user-agent`, []string{`h.yaml:13:23: workers[0].transports[0].auth_headers: must be a list, got string "user-agent"`}},
	} {
		cfg := strings.Replace(authHeadersConfig, `[user-agent, Cookie, "*"]`, tc.item, 1)
		_, _, err := Parse("h.yaml", []byte(cfg))
		if got := errLines(t, err); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.item, got, tc.want)
		}
	}
	// The worker default is checked the same way.
	cfg := strings.Replace(authHeadersConfig, `auth_headers: [X-Forwarded-For]`, `auth_headers: [X-Forwarded-For, {a: b}]`, 1)
	_, _, err := Parse("h.yaml", []byte(cfg))
	want := []string{`h.yaml:5:39: workers[0].options.auth_headers[1]: must be a string, got a mapping`}
	if got := errLines(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("worker default:\n got %q\nwant %q", got, want)
	}
}
