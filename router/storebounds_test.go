package router_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// getRetained subscribes sub to topic with get_retained and returns the
// retained EVENT's publication id, or 0 when there is none. The session's
// requests are handled in order, so its retained events are queued before
// the answer to the SUBSCRIBE that follows.
func getRetained(t *testing.T, sub *peer, topic wamp.URI) wamp.ID {
	t.Helper()
	req := sub.next()
	sub.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{"get_retained": true}, Topic: topic})
	expect[*wamp.Subscribed](sub)
	sync := sub.next()
	sub.send(&wamp.Subscribe{Request: sync, Options: wamp.Dict{}, Topic: "com.sync"})
	var got wamp.ID
	for {
		switch m := sub.recv().(type) {
		case *wamp.Subscribed:
			if m.Request != sync {
				t.Fatalf("SUBSCRIBED for %d, want %d", m.Request, sync)
			}
			return got
		case *wamp.Event:
			if m.Details["retained"] != true || got != 0 {
				t.Fatalf("unexpected EVENT %+v", m)
			}
			got = m.Publication
		default:
			t.Fatalf("unexpected %v", m.MessageType())
		}
	}
}

func TestStoredEventsAreBoundedInBytes(t *testing.T) {
	t.Parallel()
	const retainedBound, historyBound = 256 << 10, 64 << 10
	srv := routertest.Start(t, func(o *router.Options) {
		o.Realms[0].StoredEventBytes = 64 << 10
		o.Realms[0].RetainedBytes = retainedBound
		o.Realms[0].HistoryBytes = historyBound
		o.Realms[0].EventHistory = []router.HistoryConfig{{URI: "com.hist", Match: "prefix", Limit: 1000}}
	})
	pub := dialPeer(t, srv, "tcp", "msgpack")
	pub.join()
	chunk := strings.Repeat("r", 20<<10)
	var first, last wamp.ID
	for i := range 40 {
		id := pub.publishAck(wamp.URI(fmt.Sprintf("com.ret.t%d", i)), wamp.Dict{"retain": true}, chunk)
		if i == 0 {
			first = id
		}
		last = id
	}
	st := srv.Router().Stats()
	if st.RetainedBytes > retainedBound || st.RetainedBytes < retainedBound/2 {
		t.Errorf("RetainedBytes = %d, want at most %d and most of it used", st.RetainedBytes, retainedBound)
	}
	if st.StoredEvicted == 0 {
		t.Error("nothing evicted")
	}
	sub := dialPeer(t, srv, "ws", "json")
	sub.join()
	if got := getRetained(t, sub, "com.ret.t0"); got != 0 {
		t.Errorf("oldest topic still retained (%d, first %d)", got, first)
	}
	if got := getRetained(t, sub, "com.ret.t39"); got != last {
		t.Errorf("newest retained = %d, want %d", got, last)
	}

	// A retained event over StoredEventBytes is delivered but not stored,
	// and the topic's older retained event goes (it is no longer the latest).
	before := srv.Router().Stats().StoredTooLarge
	pub.publishAck("com.ret.t39", wamp.Dict{"retain": true}, strings.Repeat("h", 100<<10))
	expect[*wamp.Event](sub) // live: sub is subscribed since getRetained
	if got := srv.Router().Stats().StoredTooLarge; got != before+1 {
		t.Errorf("StoredTooLarge = %d, want %d", got, before+1)
	}
	if got := getRetained(t, sub, "com.ret.t39"); got != 0 {
		t.Errorf("stale retained event %d still served", got)
	}

	// History: the newest events that fit in historyBound.
	hsub := sub.subscribe("com.hist", wamp.Dict{"match": "prefix"})
	var pubs []wamp.ID
	for i := range 20 {
		pubs = append(pubs, pub.publishAck(wamp.URI(fmt.Sprintf("com.hist.t%d", i%3)), nil, strings.Repeat("e", 10<<10)))
	}
	for range pubs {
		expect[*wamp.Event](sub)
	}
	if hb := srv.Router().Stats().HistoryBytes; hb > historyBound || hb < historyBound/2 {
		t.Errorf("HistoryBytes = %d, want at most %d and most of it used", hb, historyBound)
	}
	got := pubIDs(t, getEvents(t, sub, wamp.List{hsub}, nil))
	if len(got) == 0 || len(got) > 6 || !equalIDs(got, pubs[len(pubs)-len(got):]) {
		t.Errorf("history %v, want the newest ≤ 6 of %v", got, pubs)
	}
}
