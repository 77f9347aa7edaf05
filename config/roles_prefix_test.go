package config

import (
	"strings"
	"testing"
)

// TestPrefixPermissionCrossbarWarning: a prefix permission whose URI does
// not end in "." matches whole components in Tollgate but characters in
// Crossbar; check warns at the uri. "", "x." and starred URIs match alike
// and do not warn.
func TestPrefixPermissionCrossbarWarning(t *testing.T) {
	t.Parallel()
	_, warns := mustParse(t, "p.yaml", minimalHead[:strings.Index(minimalHead, "    transports:")]+
		`              - {uri: "com.example", match: prefix, allow: {call: true}}
              - {uri: "com.dot.", match: prefix, allow: {call: true}}
              - {uri: "com.star.*", allow: {call: true}}
              - {uri: "com.exact", match: exact, allow: {call: true}}
    transports:
      - type: rawsocket
        endpoint: {type: tcp, port: 9124}
`)
	if len(warns) != 1 {
		t.Fatalf("warnings %v, want one for com.example", warns)
	}
	w := warns[0]
	if w.Path != "workers[0].realms[0].roles[0].permissions[1].uri" || w.Line != 10 ||
		!strings.Contains(w.Msg, `prefix "com.example" matches whole components here but characters in Crossbar`) {
		t.Errorf("warning %s", w)
	}
}
