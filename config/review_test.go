package config

import (
	"strings"
	"testing"
)

// TestSecretsNotEchoed: a ticket or WAMP-CRA secret of the wrong YAML type
// (an unquoted PIN, a date, a bool) is refused without printing its value:
// config errors end up in terminals, CI logs and journald.
func TestSecretsNotEchoed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, principal, value string }{
		{"ticket int", "ticket: {type: static, principals: {alice: {ticket: %s, role: user}}}", "918273645"},
		{"ticket float", "ticket: {type: static, principals: {alice: {ticket: %s, role: user}}}", "3.14159271828"},
		{"ticket bool-like", "ticket: {type: static, principals: {alice: {ticket: %s, role: user}}}", "true"},
		{"wampcra int", "wampcra: {type: static, users: {carol: {secret: %s, role: user}}}", "556677889900"},
		{"ticket list", "ticket: {type: static, principals: {alice: {ticket: [%s], role: user}}}", "hunter2hunter2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text := authHead + `      - type: rawsocket
        endpoint: {type: tcp, port: 0}
        auth:
          ` + strings.Replace(tc.principal, "%s", tc.value, 1) + `
`
			_, _, err := Parse("s.yaml", []byte(text))
			if err == nil {
				t.Fatal("Parse accepted a secret that is not a string")
			}
			if strings.Contains(err.Error(), tc.value) {
				t.Errorf("the error shows the secret %q:\n%v", tc.value, err)
			}
			if !strings.Contains(err.Error(), "must be a string") {
				t.Errorf("the error does not say what is wrong:\n%v", err)
			}
		})
	}
}
