package cli

import (
	"strings"
	"testing"
)

const authzConfig = `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: frontend
            permissions:
              - {uri: "com.example.*", allow: {call: true, subscribe: true}}
              - {uri: com.example.admin., match: prefix, allow: {}}
              - {uri: com..updated, match: wildcard, allow: {subscribe: true}}
              - {uri: com.example.jobs., match: prefix, allow: {register: true}}
          - name: user
            authorizer: com.example.authorize
    transports:
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
`

func TestAuthzCheck(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "roles.yaml", authzConfig)
	base := []string{"authz", "check", "--config", file, "--realm", "realm1"}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"--role", "frontend", "--uri", "com.example.orders.get", "--action", "call"}, 0, `allow	frontend	call	com.example.orders.get	static rule 0: prefix "com.example"`},
		{[]string{"--role", "frontend", "--uri", "com.example.admin.drop", "--action", "call"}, 1, `deny	frontend	call	com.example.admin.drop	static rule 1: prefix "com.example.admin"`},
		{[]string{"--role", "frontend", "--uri", "org.x", "--action", "call"}, 1, "no permission matches"},
		{[]string{"--role", "frontend", "--uri", "com.x.updated", "--action", "subscribe"}, 0, `static rule 2: wildcard "com..updated"`},
		// A prefix registration needs a prefix permission, as in the router.
		{[]string{"--role", "frontend", "--uri", "com.example.jobs", "--action", "register", "--match", "prefix"}, 0, "allow"},
		{[]string{"--role", "frontend", "--uri", "com.example.orders", "--action", "register", "--match", "prefix"}, 1, "deny"},
		{[]string{"--role", "user", "--uri", "com.example.orders", "--action", "call"}, 1, "com.example.authorize would be asked"},
		{[]string{"--role", "nobody", "--uri", "com.example.orders", "--action", "call"}, 1, "not defined"},
	} {
		code, out, errOut := run(t, append(base, c.args...)...)
		if code != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d and %q", c.args, code, out, errOut, c.code, c.out)
		}
	}

	table := "# role action uri expect\nfrontend call com.example.orders.get\n\nfrontend call com.example.admin.drop deny\n"
	if code, out, errOut := runIn(t, table, base...); code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("table: exit %d, out %q, err %q", code, out, errOut)
	}
	if code, out, _ := runIn(t, table+"frontend publish com.example.news\n", base...); code != 1 || !strings.Contains(out, "(expected allow)") {
		t.Errorf("table with a deny: exit %d, out %q", code, out)
	}

	for _, c := range []struct {
		input string
		args  []string
		code  int
		err   string
	}{
		{"", []string{"authz"}, 2, "usage"},
		{"", []string{"authz", "check", "--config", file}, 2, "usage"},
		{"", append(base, "--role", "frontend"), 2, "usage"},
		{"", append(base, "--role", "frontend", "--uri", "a", "--action", "delete"), 2, `"delete"`},
		{"frontend call\n", base, 2, "line 1: want ROLE ACTION URI"},
		{"frontend call a maybe\n", base, 2, `"maybe"`},
		{"# nothing\n", base, 2, "no questions"},
		{"", []string{"authz", "check", "--config", file, "--realm", "nope", "--role", "a", "--uri", "a", "--action", "call"}, 1, `no realm "nope"`},
	} {
		code, _, errOut := runIn(t, c.input, c.args...)
		if code != c.code || !strings.Contains(errOut, c.err) {
			t.Errorf("%v <%q: exit %d, err %q; want %d and %q", c.args, c.input, code, errOut, c.code, c.err)
		}
	}
}
