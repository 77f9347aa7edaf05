package broker

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func ids(infos []SubscriptionInfo) []wamp.ID {
	out := []wamp.ID{}
	for _, i := range infos {
		out = append(out, i.ID)
	}
	return out
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	var seq wamp.Sequence
	b := New(&seq)
	s1 := &testSession{id: 1, c: codec.JSON}
	s2 := &testSession{id: 2, c: codec.JSON}
	before := time.Now()

	id, created, added := b.Attach(s1, "a.b", wamp.MatchExact)
	if !created || !added {
		t.Fatalf("first Attach: created=%v added=%v", created, added)
	}
	if id2, created, added := b.Attach(s1, "a.b", wamp.MatchExact); id2 != id || created || added {
		t.Fatalf("repeated Attach = %d %v %v", id2, created, added)
	}
	if id2, created, added := b.Attach(s2, "a.b", wamp.MatchExact); id2 != id || created || !added {
		t.Fatalf("second subscriber Attach = %d %v %v", id2, created, added)
	}
	pre := subscribe(b, s2, "a", wamp.MatchPrefix)
	wild := subscribe(b, s2, "a.", wamp.MatchWildcard)

	if !b.Matches("a.b.c") || !b.Matches("a.b") || b.Matches("b") {
		t.Error("Matches disagrees with the subscriptions")
	}
	info, ok := b.Get(id)
	if !ok || info.Topic != "a.b" || info.Match != wamp.MatchExact || info.Created.Before(before) || info.Created.After(time.Now()) {
		t.Fatalf("Get = %+v, %v", info, ok)
	}
	if _, ok := b.Get(9999); ok {
		t.Error("Get of an unknown id succeeded")
	}
	if got := ids(b.List()); !reflect.DeepEqual(got, []wamp.ID{id, pre, wild}) {
		t.Errorf("List = %v", got)
	}
	if got := ids(b.Match("a.b")); !reflect.DeepEqual(got, []wamp.ID{id, pre, wild}) {
		t.Errorf("Match(a.b) = %v", got)
	}
	if got := ids(b.Match("a.c.d")); !reflect.DeepEqual(got, []wamp.ID{pre}) {
		t.Errorf("Match(a.c.d) = %v", got)
	}
	if got := ids(b.Match("x")); len(got) != 0 {
		t.Errorf("Match(x) = %v", got)
	}
	if l, ok := b.Lookup("a", wamp.MatchPrefix); !ok || l.ID != pre {
		t.Errorf("Lookup(a, prefix) = %+v %v", l, ok)
	}
	if _, ok := b.Lookup("a", wamp.MatchExact); ok {
		t.Error("Lookup(a, exact) found something")
	}
	subs, ok := b.Subscribers(id)
	if !ok || len(subs) != 2 || subs[0] != Session(s1) || subs[1] != Session(s2) {
		t.Errorf("Subscribers = %v %v", subs, ok)
	}
	if _, ok := b.Subscribers(9999); ok {
		t.Error("Subscribers of an unknown id succeeded")
	}

	// Revocation.
	if _, _, ok := b.RemoveSubscriber(id, 77); ok {
		t.Error("removed a session that is not subscribed")
	}
	if _, _, ok := b.RemoveSubscriber(9999, 1); ok {
		t.Error("removed from an unknown subscription")
	}
	s, d, ok := b.RemoveSubscriber(id, 1)
	if !ok || s != Session(s1) || d.Deleted || d.ID != id || d.Topic != "a.b" {
		t.Fatalf("RemoveSubscriber = %v %+v %v", s, d, ok)
	}
	if _, ok := b.Detach(s1, id); ok {
		t.Error("Detach after revocation succeeded")
	}
	// DetachAll skips what is already gone and reports deletions.
	got := b.DetachAll(s2, []wamp.ID{id, pre, 9999})
	want := []Detached{{ID: id, Topic: "a.b", Deleted: true}, {ID: pre, Topic: "a", Deleted: true}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DetachAll = %+v, want %+v", got, want)
	}
	if d, ok := b.Detach(s2, wild); !ok || !d.Deleted {
		t.Errorf("Detach last = %+v %v", d, ok)
	}
	if b.Count() != 0 || len(b.List()) != 0 {
		t.Errorf("subscriptions left: %v", b.List())
	}
}

// Introspection runs concurrently with subscribe/publish churn (for -race).
func TestIntrospectionConcurrent(t *testing.T) {
	t.Parallel()
	var seq wamp.Sequence
	b := New(&seq)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &testSession{id: wamp.ID(i + 1), c: codec.JSON}
			for range 200 {
				id := subscribe(b, s, "a.b", wamp.MatchExact)
				b.Publish(&Publication{ID: 1, Publisher: s, Topic: "a.b"})
				b.RemoveSubscriber(id, s.id)
			}
		}()
	}
	for range 200 {
		for _, info := range b.List() {
			b.Subscribers(info.ID)
		}
		b.Match("a.b")
	}
	wg.Wait()
	if b.Count() != 0 {
		t.Errorf("%d subscriptions left", b.Count())
	}
}
