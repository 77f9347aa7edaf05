package config

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// docRow is one row of docs/migrating-from-crossbar.md's key table.
type docRow struct {
	line                int
	where, key, example string
	status              string // supported, warned, refused, extension, different
}

var docRowPattern = regexp.MustCompile("^\\| ([a-z ]+) \\| `([^`]+)` \\| `([^`]+)` \\| (supported|warned|refused|extension|different) \\|")

func readDocRows(t *testing.T) []docRow {
	t.Helper()
	b, err := os.ReadFile("../docs/migrating-from-crossbar.md")
	if err != nil {
		t.Fatal(err)
	}
	var rows []docRow
	for i, line := range strings.Split(string(b), "\n") {
		if m := docRowPattern.FindStringSubmatch(line); m != nil {
			rows = append(rows, docRow{i + 1, m[1], m[2], m[3], m[4]})
		}
	}
	if len(rows) < 100 {
		t.Fatalf("only %d rows parsed from the key table", len(rows))
	}
	return rows
}

// docBase is the config each row's example is put into.
const docBase = `version: 2
workers:
  - type: router
    options: {}
    realms:
      - name: realm1
        options: {}
        roles:
          - name: anonymous
            permissions:
              - {uri: com.example.y, match: exact, allow: {call: true}}
    transports:
      - type: websocket
        endpoint: {type: tcp, port: 0}
        options: {}
`

// docConfig returns docBase with row's example placed where the row says.
func docConfig(t *testing.T, row docRow) []byte {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal([]byte(docBase), &root); err != nil {
		t.Fatal(err)
	}
	var ex any
	if err := yaml.Unmarshal([]byte(row.example), &ex); err != nil {
		t.Fatalf("line %d: example %q: %v", row.line, row.example, err)
	}
	exMap := func() map[string]any {
		m, ok := ex.(map[string]any)
		if !ok {
			t.Fatalf("line %d: example must be a mapping for %s", row.line, row.where)
		}
		return m
	}
	worker := root["workers"].([]any)[0].(map[string]any)
	realm := worker["realms"].([]any)[0].(map[string]any)
	role := realm["roles"].([]any)[0].(map[string]any)
	perm := role["permissions"].([]any)[0].(map[string]any)
	ws := worker["transports"].([]any)[0].(map[string]any)
	addTransport := func(m map[string]any) {
		worker["transports"] = append(worker["transports"].([]any), m)
	}
	endpoint := func() map[string]any { return map[string]any{"type": "tcp", "port": 0} }
	switch row.where {
	case "top":
		root[row.key] = ex
	case "worker":
		m := exMap()
		m["type"] = row.key
		if row.key == "router" {
			root["workers"] = []any{worker}
			break
		}
		root["workers"] = append(root["workers"].([]any), m)
	case "router worker":
		worker[row.key] = ex
	case "router worker options":
		worker["options"].(map[string]any)[row.key] = ex
	case "realm":
		realm[row.key] = ex
	case "realm options":
		realm["options"].(map[string]any)[row.key] = ex
	case "role":
		extra := map[string]any{"name": "extra", row.key: ex}
		realm["roles"] = append(realm["roles"].([]any), extra)
	case "permission":
		perm[row.key] = ex
		if row.key == "match" {
			perm["uri"] = "com.example"
		}
	case "transport type":
		m := exMap()
		m["type"], m["endpoint"] = row.key, endpoint()
		addTransport(m)
	case "websocket":
		ws[row.key] = ex
	case "websocket options":
		ws["options"].(map[string]any)[row.key] = ex
	case "rawsocket":
		addTransport(map[string]any{"type": "rawsocket", "endpoint": endpoint(), row.key: ex})
	case "rawsocket options":
		addTransport(map[string]any{"type": "rawsocket", "endpoint": endpoint(), "options": map[string]any{row.key: ex}})
	case "web options":
		addTransport(map[string]any{"type": "web", "endpoint": endpoint(),
			"paths": map[string]any{"ws": map[string]any{"type": "websocket"}}, "options": map[string]any{row.key: ex}})
	case "web path service":
		m := exMap()
		m["type"] = row.key
		addTransport(map[string]any{"type": "web", "endpoint": endpoint(), "paths": map[string]any{"svc": m}})
	case "endpoint":
		ws["endpoint"].(map[string]any)[row.key] = ex
		if row.key == "tls" {
			// Client certificates, so that the tls auth row's endpoint has them.
			ex.(map[string]any)["ca_certificates"] = []any{"ca.pem"}
		}
	case "auth method":
		ws["auth"] = map[string]any{row.key: ex}
		if row.key == "tls" {
			ws["endpoint"].(map[string]any)["tls"] = map[string]any{"key": "k.pem", "certificate": "c.pem", "ca_certificates": []any{"ca.pem"}}
		}
	default:
		t.Fatalf("line %d: no template for %q", row.line, row.where)
	}
	out, err := yaml.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigratingDocMatchesParser: every row of the migration guide's key
// table gives the outcome it states when its example is put into a config.
func TestMigratingDocMatchesParser(t *testing.T) {
	t.Parallel()
	mentions := func(s, key string) bool { return strings.Contains(s, key) }
	for _, row := range readDocRows(t) {
		text := docConfig(t, row)
		_, warns, err := Parse("doc.yaml", text)
		var errs []string
		if err != nil {
			errs = strings.Split(err.Error(), "\n")
		}
		warned := false
		for _, w := range warns {
			s := w.String()
			if mentions(s, row.key) && (strings.Contains(s, "ignored") || strings.Contains(s, "skipped") || strings.Contains(s, "not run") || strings.Contains(s, "not supported")) {
				warned = true
			}
		}
		refused := false
		for _, e := range errs {
			if mentions(e, row.key) {
				refused = true
			}
		}
		ok := false
		switch row.status {
		case "supported", "extension", "different":
			ok = err == nil && !warned
		case "warned":
			ok = err == nil && warned
		case "refused":
			ok = refused
		}
		if !ok {
			t.Errorf("docs/migrating-from-crossbar.md:%d: %s `%s` is %s, but the parser gave errors %q, warnings %q for:\n%s",
				row.line, row.where, row.key, row.status, errs, warnStrings(warns), text)
		}
	}
}

// TestMigratingDocListsEveryNamedKey: every key the parser skips, ignores
// or refuses by name has its row in the guide.
func TestMigratingDocListsEveryNamedKey(t *testing.T) {
	t.Parallel()
	have := map[string]string{} // where + key → status
	for _, row := range readDocRows(t) {
		have[row.where+" "+row.key] = row.status
	}
	want := map[string]string{}
	for _, o := range ignoredWebSocketOptions {
		want["websocket options "+o.key] = "warned"
	}
	for _, o := range crossbarWorkerOptions {
		want["router worker options "+o.key] = "warned"
	}
	for k := range skippedWebServices {
		want["web path service "+k] = "warned"
	}
	for k := range refusedWebServices {
		want["web path service "+k] = "refused"
	}
	for k := range skippedWorkers {
		want["worker "+k] = "warned"
	}
	for k, status := range want {
		if have[k] != status {
			t.Errorf("docs/migrating-from-crossbar.md: %s: row says %q, parser table says %q", k, have[k], status)
		}
	}
}
