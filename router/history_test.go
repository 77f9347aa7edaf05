package router_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// historyRouter keeps the last 3 events under com.news and 10 of com.chat.
// Roles: backend (everything); reader (subscribe under com., except
// com.news.secret; may call get_events); outsider (may call get_events
// only).
func historyRouter(t *testing.T) (backend, reader, outsider *peer) {
	getEvents := authz.Permission{URI: "wamp.subscription.get_events", Match: "exact", Allow: authz.Actions{Call: true}}
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms = []router.RealmOptions{{
			Name: "realm1",
			EventHistory: []router.HistoryConfig{
				{URI: "com.news", Match: "prefix", Limit: 3},
				{URI: "com.chat", Limit: 10},
			},
			Roles: []authz.RoleConfig{
				{Name: "backend", Permissions: []authz.Permission{{URI: "", Match: "prefix", Allow: everything}}},
				{Name: "reader", Permissions: []authz.Permission{getEvents,
					{URI: "com.", Match: "prefix", Allow: authz.Actions{Subscribe: true}},
					{URI: "com.news.secret", Match: "exact", Allow: authz.Actions{}},
				}},
				{Name: "outsider", Permissions: []authz.Permission{getEvents}},
			},
		}}
	})
	backend = joinWith(t, roleURL(t, srv, "backend"), "msgpack", clientRoles)
	reader = joinWith(t, roleURL(t, srv, "reader"), "json", clientRoles)
	outsider = joinWith(t, roleURL(t, srv, "outsider"), "cbor", clientRoles)
	return backend, reader, outsider
}

// getEvents calls wamp.subscription.get_events and returns the events.
func getEvents(t *testing.T, p *peer, args wamp.List, kwargs wamp.Dict) []wamp.Dict {
	t.Helper()
	req := p.next()
	p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
	m := p.recv()
	r, ok := m.(*wamp.Result)
	if !ok {
		t.Fatalf("get_events%v %v: %v %+v", args, kwargs, m.MessageType(), m)
	}
	a := argsOf(t, &r.Payload)
	if len(a) != 1 {
		t.Fatalf("get_events result %v, want one list", a)
	}
	l, _ := a[0].(wamp.List)
	out := make([]wamp.Dict, len(l))
	for i, e := range l {
		out[i] = e.(wamp.Dict)
	}
	return out
}

func pubIDs(t *testing.T, evs []wamp.Dict) []wamp.ID {
	t.Helper()
	out := make([]wamp.ID, len(evs))
	for i, e := range evs {
		out[i] = asPubID(t, e["publication"])
	}
	return out
}

func asPubID(t *testing.T, v any) wamp.ID {
	t.Helper()
	n, ok := wamp.AsInt(v)
	if !ok {
		t.Fatalf("publication %v (%T)", v, v)
	}
	return wamp.ID(n)
}

func getEventsErr(t *testing.T, p *peer, args wamp.List, kwargs wamp.Dict, uri wamp.URI) {
	t.Helper()
	req := p.next()
	p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
	p.expectError(wamp.TypeCall, req, uri)
}

func TestEventHistory(t *testing.T) {
	t.Parallel()
	backend, reader, outsider := historyRouter(t)
	start := time.Now()
	var pubs []wamp.ID
	for i, topic := range []wamp.URI{"com.news.t0", "com.news.t1", "com.news.t0", "com.news.t1", "com.news.t0"} {
		pubs = append(pubs, backend.publishAck(topic, nil, int64(i)))
	}
	backend.publishAck("com.news.t0", wamp.Dict{"eligible": wamp.List{uint64(reader.id)}}, "not stored") // session lists are never stored
	sid := reader.subscribe("com.news", wamp.Dict{"match": "prefix"})

	// The spec's form: oldest first; the ring keeps the last 3.
	evs := getEvents(t, reader, wamp.List{sid}, nil)
	deepEqual(t, "history", pubIDs(t, evs), pubs[2:])
	e := evs[0]
	ts, err := time.Parse(time.RFC3339Nano, e["timestamp"].(string))
	if err != nil || ts.Before(start.Add(-time.Second)) || ts.After(time.Now().Add(time.Second)) {
		t.Errorf("timestamp %v (%v)", e["timestamp"], err)
	}
	if asPubID(t, e["subscription"]) != sid || e["topic"] != "com.news.t0" {
		t.Errorf("event %v", e)
	}
	deepEqual(t, "event args", e["args"], wamp.List{int64(2)})
	deepEqual(t, "event details", e["details"], wamp.Dict{"topic": "com.news.t0"})

	// Filters.
	cases := []struct {
		name   string
		args   wamp.List
		kwargs wamp.Dict
		want   []wamp.ID
	}{
		{"reverse", wamp.List{sid}, wamp.Dict{"reverse": true}, []wamp.ID{pubs[4], pubs[3], pubs[2]}},
		{"limit keeps the newest", wamp.List{sid}, wamp.Dict{"limit": 2}, pubs[3:]},
		{"topic", wamp.List{sid}, wamp.Dict{"topic": "com.news.t1"}, pubs[3:4]},
		{"after_publication", wamp.List{sid}, wamp.Dict{"after_publication": uint64(pubs[2])}, pubs[3:]},
		{"from_publication", wamp.List{sid}, wamp.Dict{"from_publication": uint64(pubs[3])}, pubs[3:]},
		{"before_publication", wamp.List{sid}, wamp.Dict{"before_publication": uint64(pubs[4])}, pubs[2:4]},
		{"until_publication", wamp.List{sid}, wamp.Dict{"until_publication": uint64(pubs[3])}, pubs[2:4]},
		{"from_time in the future", wamp.List{sid}, wamp.Dict{"from_time": time.Now().Add(time.Hour).Format(time.RFC3339)}, []wamp.ID{}},
		{"until_time now", wamp.List{sid}, wamp.Dict{"until_time": time.Now().Add(time.Second).Format(time.RFC3339Nano)}, pubs[2:]},
		{"after_time past", wamp.List{sid}, wamp.Dict{"after_time": start.Add(-time.Minute).Format(time.RFC3339)}, pubs[2:]},
		{"before_time past", wamp.List{sid}, wamp.Dict{"before_time": start.Add(-time.Minute).Format(time.RFC3339)}, []wamp.ID{}},
		{"Crossbar's positional limit: newest first", wamp.List{sid, 2}, nil, []wamp.ID{pubs[4], pubs[3]}},
	}
	for _, c := range cases {
		if got := pubIDs(t, getEvents(t, reader, c.args, c.kwargs)); len(got) != len(c.want) || len(got) > 0 && !equalIDs(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	// An exact subscription is served from the prefix store, its topic only.
	exact := reader.subscribe("com.news.t1", wamp.Dict{})
	deepEqual(t, "exact subscription history", pubIDs(t, getEvents(t, reader, wamp.List{exact}, nil)), pubs[3:4])

	// A stored event the reader may not subscribe to is not shown (the
	// pattern rule); it still takes its place in the ring.
	backend.publishAck("com.news.secret", nil, "classified")
	deepEqual(t, "history without the secret", pubIDs(t, getEvents(t, reader, wamp.List{sid}, nil)), pubs[3:])

	// Errors.
	getEventsErr(t, reader, wamp.List{uint64(123456789)}, nil, wamp.ErrNoSuchSubscription)
	getEventsErr(t, reader, nil, nil, wamp.ErrInvalidArgument)
	getEventsErr(t, reader, wamp.List{"one"}, nil, wamp.ErrInvalidArgument)
	getEventsErr(t, reader, wamp.List{sid, 0}, nil, wamp.ErrInvalidArgument)
	getEventsErr(t, reader, wamp.List{sid}, wamp.Dict{"limits": 3}, wamp.ErrInvalidArgument)
	getEventsErr(t, reader, wamp.List{sid}, wamp.Dict{"from_time": "yesterday"}, wamp.ErrInvalidArgument)
	getEventsErr(t, reader, wamp.List{sid}, wamp.Dict{"after_publication": uint64(pubs[0])}, wamp.ErrInvalidArgument) // evicted
	other := reader.subscribe("com.weather", wamp.Dict{})
	getEventsErr(t, reader, wamp.List{other}, nil, wamp.ErrInvalidArgument) // no history kept
	// Reading a history is seeing its events: subscribe permission needed,
	// and a refusal reads like an unknown id (history_test.go's
	// TestGetEventsRevealsNothing).
	getEventsErr(t, outsider, wamp.List{sid}, nil, wamp.ErrNoSuchSubscription)
	// Authid/authrole lists are applied per reader.
	chat := reader.subscribe("com.chat", wamp.Dict{})
	backend.publishAck("com.chat", wamp.Dict{"exclude_authrole": wamp.List{"reader"}}, "not for readers")
	visible := backend.publishAck("com.chat", nil, "for all")
	expect[*wamp.Event](reader) // live
	deepEqual(t, "chat history", pubIDs(t, getEvents(t, reader, wamp.List{chat}, nil)), []wamp.ID{visible})
}

func equalIDs(a, b []wamp.ID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEventHistoryConfigErrors(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		h []router.HistoryConfig
		// want is the one error ValidateEventHistory reports.
		want router.HistoryError
	}{
		"negative limit": {[]router.HistoryConfig{{URI: "com.a", Limit: -1}}, router.HistoryError{Index: 0, Topic: "com.a", Field: "limit", First: -1}},
		"bad match":      {[]router.HistoryConfig{{URI: "com.a", Match: "regex", Limit: 1}}, router.HistoryError{Index: 0, Topic: "com.a", Field: "match", First: -1}},
		"bad URI":        {[]router.HistoryConfig{{URI: "com..a", Limit: 1}}, router.HistoryError{Index: 0, Topic: "com..a", Field: "uri", First: -1}},
		"duplicate":      {[]router.HistoryConfig{{URI: "com.a", Limit: 1}, {URI: "com.a", Match: "exact", Limit: 5}}, router.HistoryError{Index: 1, Topic: "com.a", First: 0}},
		"prefix empty":   {[]router.HistoryConfig{{URI: "com.a.b..", Match: "prefix", Limit: 1}}, router.HistoryError{Index: 0, Topic: "com.a.b..", Field: "uri", First: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ro := router.RealmOptions{Name: "realm1", EventHistory: tt.h}
			_, err := router.New(router.Options{Realms: []router.RealmOptions{ro}})
			if err == nil {
				t.Fatalf("router.New accepted event history %+v", tt.h)
			}
			var he *router.HistoryError
			if !errors.As(err, &he) {
				t.Fatalf("router.New: %v is not a *router.HistoryError", err)
			}
			err = router.ValidateEventHistory(ro)
			if !errors.As(err, &he) {
				t.Fatalf("ValidateEventHistory: %v is not a *router.HistoryError", err)
			}
			got := *he
			got.Msg = ""
			if got != tt.want || he.Msg == "" {
				t.Errorf("ValidateEventHistory = %+v, want %+v and a message", *he, tt.want)
			}
		})
	}
	if err := router.ValidateEventHistory(router.RealmOptions{Name: "realm1", EventHistory: []router.HistoryConfig{{URI: "com.a"}, {URI: "com", Match: "prefix"}}}); err != nil {
		t.Errorf("ValidateEventHistory refused a good history: %v", err)
	}
}

// TestGetEventsRevealsNothing: a subscription the caller may not read, or
// one on a meta topic, is answered exactly like an id nobody holds.
func TestGetEventsRevealsNothing(t *testing.T) {
	t.Parallel()
	backend, reader, outsider := historyRouter(t)
	sid := reader.subscribe("com.news", wamp.Dict{"match": "prefix"})
	secret := backend.subscribe("com.news.secret", wamp.Dict{})
	// a meta topic nothing in this test fires (on_join of the others may
	// still be on its way after their WELCOME)
	meta := backend.subscribe("wamp.registration.on_create", wamp.Dict{})
	unknown := wamp.ID(987654321)
	answer := func(p *peer, id wamp.ID) (wamp.URI, string) {
		req := p.next()
		p.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "wamp.subscription.get_events", Payload: wamp.Payload{Args: wamp.List{id}}})
		e := expect[*wamp.Error](p)
		return e.Error, strings.ReplaceAll(errorMessage(t, e), fmt.Sprint(id), "N")
	}
	wantURI, wantMsg := answer(outsider, unknown)
	if wantURI != wamp.ErrNoSuchSubscription {
		t.Fatalf("unknown id: %s", wantURI)
	}
	for _, c := range []struct {
		name string
		p    *peer
		id   wamp.ID
	}{
		{"not allowed", outsider, sid},
		{"denied topic", reader, secret},
		{"meta topic, allowed but not trusted", backend, meta},
	} {
		if uri, msg := answer(c.p, c.id); uri != wantURI || msg != wantMsg {
			t.Errorf("%s: %s %q, want %s %q", c.name, uri, msg, wantURI, wantMsg)
		}
	}
}
