package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/router"
)

const storeYAML = `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        options: {retained_events: 42}
        store:
          type: memory
          event-history:
            - {uri: com.example.a}
            - {uri: com.example, match: prefix, limit: 7}
      - name: realm2
        options: {uri_check: loose, retained_events: -1}
        store:
          type: memory
          limit: 1000
          event-history:
            - {uri: com.Example.Topic}
            - {uri: "com..Topic", match: wildcard}
            - {uri: com.Example.Topic, match: prefix, limit: 3}
      - name: realm3
        options: {retained_events: 0}
        store: {type: memory}
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`

const storeJSON = `{
	"version": 2,
	"workers": [{
		"type": "router",
		"realms": [
			{"name": "realm1", "options": {"retained_events": 42},
			 "store": {"type": "memory", "event-history": [
				{"uri": "com.example.a"},
				{"uri": "com.example", "match": "prefix", "limit": 7}]}},
			{"name": "realm2", "options": {"uri_check": "loose", "retained_events": -1},
			 "store": {"type": "memory", "limit": 1000, "event-history": [
				{"uri": "com.Example.Topic"},
				{"uri": "com..Topic", "match": "wildcard"},
				{"uri": "com.Example.Topic", "match": "prefix", "limit": 3}]}},
			{"name": "realm3", "options": {"retained_events": 0}, "store": {"type": "memory"}}
		],
		"transports": [{"type": "rawsocket", "endpoint": {"type": "tcp", "port": 0}}]
	}]
}`

// TestStore: the store section becomes RealmOptions.EventHistory with
// every limit explicit (entry, else store, else 100), retained_events
// becomes RealmOptions.RetainedEvents, JSON reads like YAML, and router.New
// accepts the result (a loose realm's history may use loose URIs).
func TestStore(t *testing.T) {
	t.Parallel()
	yc, _ := mustParse(t, "s.yaml", storeYAML)
	jc, _ := mustParse(t, "s.json", storeJSON)
	want := []struct {
		retained int
		history  []router.HistoryConfig
	}{
		{42, []router.HistoryConfig{
			{URI: "com.example.a", Match: "exact", Limit: 100},
			{URI: "com.example", Match: "prefix", Limit: 7},
		}},
		{-1, []router.HistoryConfig{
			{URI: "com.Example.Topic", Match: "exact", Limit: 1000},
			{URI: "com..Topic", Match: "wildcard", Limit: 1000},
			{URI: "com.Example.Topic", Match: "prefix", Limit: 3},
		}},
		{0, nil},
	}
	for name, c := range map[string]*Config{"yaml": yc, "json": jc} {
		if len(c.Realms) != len(want) {
			t.Fatalf("%s: %d realms, want %d", name, len(c.Realms), len(want))
		}
		for i, w := range want {
			r := c.Realms[i]
			if r.RetainedEvents != w.retained {
				t.Errorf("%s: realms[%d].RetainedEvents = %d, want %d", name, i, r.RetainedEvents, w.retained)
			}
			if !reflect.DeepEqual(r.EventHistory, w.history) {
				t.Errorf("%s: realms[%d].EventHistory = %+v, want %+v", name, i, r.EventHistory, w.history)
			}
		}
		if _, err := router.New(c.RouterOptions()); err != nil {
			t.Errorf("%s: router.New rejects the parsed options: %v", name, err)
		}
	}
	jc.File = yc.File
	if !reflect.DeepEqual(yc, jc) {
		t.Errorf("YAML and JSON differ:\nyaml: %+v\njson: %+v", yc, jc)
	}

	// RouterOptions shares no history list with the config.
	o := yc.RouterOptions()
	o.Realms[0].EventHistory[0].Limit = 1
	if yc.Realms[0].EventHistory[0].Limit != 100 {
		t.Error("RouterOptions aliases the config's event history")
	}
}

// TestStoreErrors: bad store sections and retained_events are reported at
// the offending value, with the router's own rules for URIs and duplicates.
func TestStoreErrors(t *testing.T) {
	t.Parallel()
	head := "version: 2\nworkers:\n  - type: router\n    transports: [{type: rawsocket, endpoint: {type: tcp, port: 0}}]\n    realms:\n      - name: realm1\n        roles: []\n"
	// Line 8 is the first line of each case's text, indented 8 spaces.
	const at = "workers[0].realms[0]."
	tests := []struct {
		name, text string
		want       []string
	}{
		{"type not memory", "store: {type: cfxdb}", []string{
			`c.yaml:8:23: ` + at + `store.type: store type "cfxdb" is not supported: Tollgate keeps event history in memory only (use "memory")`,
		}},
		{"type missing", "store: {limit: 5, event-history: []}", []string{
			`c.yaml:8:16: ` + at + `store: missing required key "type"`,
		}},
		{"type not a string", "store: {type: [memory]}", []string{
			`c.yaml:8:23: ` + at + `store.type: must be a string, got a list`,
		}},
		{"store not a mapping", "store: memory", []string{
			`c.yaml:8:16: ` + at + `store: must be a mapping, got string "memory"`,
		}},
		{"unknown store key", "store: {type: memory, calls-queue: []}", []string{
			`c.yaml:8:31: ` + at + `store: unknown key "calls-queue"`,
		}},
		{"store limit zero", "store: {type: memory, limit: 0}", []string{
			`c.yaml:8:38: ` + at + `store.limit: must be an integer >= 1, got 0`,
		}},
		{"history not a list", "store: {type: memory, event-history: {uri: a}}", []string{
			`c.yaml:8:46: ` + at + `store.event-history: must be a list, got a mapping`,
		}},
		{"entry problems", `store:
          type: memory
          event-history:
            - {uri: com.example.a, match: fuzzy}
            - {uri: com.example.b, limit: -3}
            - {uri: com.example.c, lmit: 3}
            - {match: prefix}
            - com.example.d
            - {uri: 7}`, []string{
			`c.yaml:11:43: ` + at + `store.event-history[0].match: must be one of "exact", "prefix" or "wildcard", got "fuzzy"`,
			`c.yaml:12:43: ` + at + `store.event-history[1].limit: must be an integer >= 1, got -3`,
			`c.yaml:13:36: ` + at + `store.event-history[2]: unknown key "lmit"`,
			`c.yaml:14:15: ` + at + `store.event-history[3]: missing required key "uri"`,
			`c.yaml:15:15: ` + at + `store.event-history[4]: must be a mapping, got string "com.example.d"`,
			`c.yaml:16:21: ` + at + `store.event-history[5].uri: must be a string, got integer 7 (quote it)`,
		}},
		{"router rules", `store:
          type: memory
          event-history:
            - {uri: com.Example}
            - {uri: com.example.a, limit: 0}
            - {uri: "com.example.", match: prefix}
            - {uri: com..x, match: exact}
            - {uri: com.example.a, match: exact}
            - {uri: com.example.a}`, []string{
			`c.yaml:11:21: ` + at + `store.event-history[0].uri: invalid topic URI "com.Example" for match "exact"`,
			`c.yaml:12:43: ` + at + `store.event-history[1].limit: must be an integer >= 1, got 0`,
			`c.yaml:14:21: ` + at + `store.event-history[3].uri: invalid topic URI "com..x" for match "exact"`,
			`c.yaml:16:15: ` + at + `store.event-history[5]: com.example.a (match exact) configured twice (first at event-history[4])`,
		}},
		{"retained_events not an integer", "options: {retained_events: lots}", []string{
			`c.yaml:8:36: ` + at + `options.retained_events: must be an integer (topics with a retained event; 0: default 10000, negative: no retention), got string "lots"`,
		}},
		{"retained_events too large", "options: {retained_events: 99999999999}", []string{
			`c.yaml:8:36: ` + at + `options.retained_events: must be an integer (topics with a retained event; 0: default 10000, negative: no retention), got integer 99999999999`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := Parse("c.yaml", []byte(head+"        "+tt.text+"\n"))
			if err == nil {
				t.Fatal("Parse accepted the config")
			}
			got := errLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
