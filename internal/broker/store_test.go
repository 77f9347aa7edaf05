package broker

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func decodeEvents(t *testing.T, s *testSession) []*wamp.Event {
	t.Helper()
	var out []*wamp.Event
	for _, f := range s.frames {
		m, err := s.c.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m.(*wamp.Event))
	}
	s.frames = nil
	return out
}

func TestRetentionLRUAndPatterns(t *testing.T) {
	t.Parallel()
	var ids wamp.Sequence
	b := New(&ids)
	b.SetRetention(2)
	pub := &testSession{id: 100, authid: "pub", c: codec.JSON}
	publish := func(topic wamp.URI, retain bool, arg string) {
		b.Publish(&Publication{ID: wamp.GlobalID(), Publisher: pub, Topic: topic, ExcludeMe: true, Retain: retain, Payload: wamp.Payload{Args: wamp.List{arg}}})
	}
	publish("a.x", true, "x1")
	publish("a.x", true, "x2") // replaces x1
	publish("a.y", false, "y-not-retained")
	publish("a.y", true, "y1")
	publish("a.z", true, "z1") // evicts a.x, the least recently retained
	if n := b.RetainedCount(); n != 2 {
		t.Fatalf("RetainedCount = %d, want 2", n)
	}

	s := &testSession{id: 1, authid: "sub", c: codec.MsgPack, keep: true}
	exact := subscribe(b, s, "a.y", wamp.MatchExact)
	if n := b.SendRetained(s, exact); n != 1 {
		t.Fatalf("SendRetained(exact) = %d, want 1", n)
	}
	ev := decodeEvents(t, s)[0]
	args, _, _ := ev.Values()
	if ev.Subscription != exact || ev.Details["retained"] != true || args[0] != "y1" || ev.Details["topic"] != nil {
		t.Errorf("retained event %+v args %v", ev, args)
	}
	prefix := subscribe(b, s, "a", wamp.MatchPrefix)
	if n := b.SendRetained(s, prefix); n != 2 {
		t.Fatalf("SendRetained(prefix) = %d, want 2 (a.x was evicted)", n)
	}
	var topics []string
	for _, ev := range decodeEvents(t, s) {
		topics = append(topics, fmt.Sprint(ev.Details["topic"]))
	}
	if strings.Join(topics, ",") != "a.z,a.y" {
		t.Errorf("prefix retained topics %v, want most recent first a.z,a.y", topics)
	}
	// MayReceive filters pattern subscriptions only.
	b.MayReceive = func(_ Session, topic wamp.URI) bool { return topic != "a.z" }
	if n := b.SendRetained(s, prefix); n != 1 {
		t.Errorf("SendRetained with MayReceive = %d, want 1", n)
	}
	decodeEvents(t, s)
	// The publisher excluded itself when it published.
	pid := subscribe(b, pub, "a.y", wamp.MatchExact)
	if n := b.SendRetained(pub, pid); n != 0 {
		t.Errorf("publisher got its own retained event (exclude_me)")
	}
	if n := b.SendRetained(s, 424242); n != 0 {
		t.Errorf("SendRetained for an unknown subscription = %d", n)
	}
	off := New(&ids)
	off.Publish(&Publication{ID: 1, Publisher: pub, Topic: "a.x", Retain: true})
	if off.RetainedCount() != 0 {
		t.Errorf("retention stored without SetRetention")
	}
}

func TestHistory(t *testing.T) {
	t.Parallel()
	var ids wamp.Sequence
	b := New(&ids)
	err := b.SetHistory([]HistoryConfig{
		{Topic: "com.news", Match: wamp.MatchPrefix, Limit: 3},
		{Topic: "com.chat", Limit: 10},
	})
	if err != nil {
		t.Fatal(err)
	}
	pub := &testSession{id: 100, authid: "pub", c: codec.JSON}
	var pubIDs []wamp.ID
	publish := func(p *Publication) {
		p.ID = wamp.GlobalID()
		p.Publisher = pub
		pubIDs = append(pubIDs, p.ID)
		b.Publish(p)
	}
	for i := range 5 {
		publish(&Publication{Topic: wamp.URI(fmt.Sprintf("com.news.t%d", i%2)), Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
	}
	publish(&Publication{Topic: "com.news.t0", Eligible: []wamp.ID{1}})            // session list: not stored
	publish(&Publication{Topic: "com.news.t0", ExcludeAuthRole: []string{"user"}}) // stored, hidden from role user
	publish(&Publication{Topic: "com.chat", Disclose: true, Extra: wamp.Dict{"ppt_scheme": "x_test"}})

	reader := &testSession{id: 1, authid: "r", c: codec.JSON}
	pre := subscribe(b, reader, "com.news", wamp.MatchPrefix)
	_, evs, err := b.History(pre, reader)
	if err != nil {
		t.Fatal(err)
	}
	// Ring of 3: events 3, 4 and the exclude_authrole one, which role "user" may not see.
	if len(evs) != 2 || evs[0].Publication != pubIDs[3] || evs[1].Publication != pubIDs[4] {
		t.Fatalf("prefix history = %+v, want publications 3 and 4", evs)
	}
	if evs[0].Details["topic"] != wamp.URI("com.news.t1") || evs[0].Time.IsZero() {
		t.Errorf("event details %v time %v", evs[0].Details, evs[0].Time)
	}
	// An exact subscription without its own store reads the prefix store, filtered.
	ex := subscribe(b, reader, "com.news.t0", wamp.MatchExact)
	if _, evs, err = b.History(ex, reader); err != nil || len(evs) != 1 || evs[0].Publication != pubIDs[4] {
		t.Errorf("exact history via prefix store = %+v, %v; want publication 4 only", evs, err)
	}
	chat := subscribe(b, reader, "com.chat", wamp.MatchExact)
	if _, evs, err = b.History(chat, reader); err != nil || len(evs) != 1 || evs[0].Details["publisher"] != pub.id || evs[0].Details["ppt_scheme"] != "x_test" {
		t.Errorf("chat history = %+v, %v", evs, err)
	}
	other := subscribe(b, reader, "org", wamp.MatchPrefix)
	if _, _, err = b.History(other, reader); !errors.Is(err, ErrNoHistory) {
		t.Errorf("History without a store: %v, want ErrNoHistory", err)
	}
	if _, _, err = b.History(999999, reader); !errors.Is(err, ErrNoSuchSubscription) {
		t.Errorf("History of an unknown subscription: %v", err)
	}
	for _, bad := range [][]HistoryConfig{
		{{Topic: "a", Limit: 0}},
		{{Topic: "a", Match: "regex", Limit: 1}},
		{{Topic: "a", Limit: 1}, {Topic: "a", Match: "exact", Limit: 2}},
	} {
		if err := New(&ids).SetHistory(bad); err == nil {
			t.Errorf("SetHistory(%+v) accepted", bad)
		}
	}
}
