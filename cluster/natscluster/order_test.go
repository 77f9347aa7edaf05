package natscluster_test

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

var orderEvents = flag.Int("order-events", 5000, "publications of TestOrderAndDuplicates (§8 row 10: 200000)")

// ordSub is one WAMP subscription of TestOrderAndDuplicates and what it saw.
type ordSub struct {
	uri   wamp.URI
	match string
	name  string

	mu                   sync.Mutex
	seen                 []bool // by publication sequence
	last                 int64
	n, dups, reorders    int
	foreign, badTopicSeq int // events it must not get
}

// matches is the test's own oracle of WAMP matching (not the router's).
func (s *ordSub) matches(topic wamp.URI) bool {
	switch s.match {
	case wamp.MatchPrefix:
		return strings.HasPrefix(string(topic), string(s.uri))
	case wamp.MatchWildcard:
		pc, tc := strings.Split(string(s.uri), "."), strings.Split(string(topic), ".")
		if len(pc) != len(tc) {
			return false
		}
		for i := range pc {
			if pc[i] != "" && pc[i] != tc[i] {
				return false
			}
		}
		return true
	}
	return s.uri == topic
}

func (s *ordSub) record(e *client.Event, total *atomic.Int64) {
	seq := int64(-1)
	if len(e.Args) == 1 {
		seq, _ = wamp.AsInt(e.Args[0])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.matches(e.Topic) || seq < 0 || seq >= int64(len(s.seen)):
		s.foreign++
	case e.Topic != ordTopic(seq):
		s.badTopicSeq++
	case s.seen[seq]:
		s.dups++
	case seq < s.last:
		s.reorders++
	}
	if seq >= 0 && seq < int64(len(s.seen)) {
		s.seen[seq] = true
		s.last = max(s.last, seq)
	}
	s.n++
	total.Add(1)
}

// ordEnd is outside every subscription's topics, so only its own gets it.
const ordEnd = "org.ord.end"

func ordTopic(seq int64) wamp.URI { return wamp.URI(fmt.Sprintf("com.ord.t%d", seq%4)) }

// TestOrderAndDuplicates (cluster-design.md §8 row 10): A publishes
// round-robin across 4 topics, each publication carrying its sequence
// number; sessions on B and C hold overlapping exact, prefix and wildcard
// subscriptions (several in one session, and NATS subjects overlapping on
// one node, so NATS hands a node several copies). Every subscription gets
// exactly one EVENT per matching publication, in publication order: 0
// reordered, 0 duplicated, none missing. -args -order-events 200000 runs
// the row's size.
func TestOrderAndDuplicates(t *testing.T) {
	n := *orderEvents
	nodes := startNodes(t, 3)
	a, b, c := nodes[0], nodes[1], nodes[2]
	type session struct {
		nd   *node
		subs []*ordSub
	}
	sub := func(uri wamp.URI, match string) *ordSub {
		return &ordSub{uri: uri, match: match, last: -1, seen: make([]bool, n)}
	}
	sessions := []session{
		{b, []*ordSub{sub("com.ord.t1", wamp.MatchExact), sub("com.ord.", wamp.MatchPrefix), sub("com.ord.", wamp.MatchWildcard)}},
		{b, []*ordSub{sub("com.ord.t1", wamp.MatchExact), sub("com..t2", wamp.MatchWildcard)}},
		{c, []*ordSub{sub("com.ord.t", wamp.MatchPrefix), sub("com.ord.t0", wamp.MatchExact), sub("com.ord.t3", wamp.MatchExact)}},
		{c, []*ordSub{sub("com.", wamp.MatchPrefix), sub("com.ord.", wamp.MatchWildcard)}},
	}
	var total atomic.Int64
	var clients []*client.Session
	for i, ss := range sessions {
		s := dial(t, ss.nd)
		for _, sb := range ss.subs {
			sb.name = fmt.Sprintf("%s session %d %s %q", ss.nd.c.Node(), i, sb.match, sb.uri)
			subscribe(t, s, sb.uri, func(_ context.Context, e *client.Event) { sb.record(e, &total) }, client.Match(sb.match))
		}
		clients = append(clients, s)
	}
	// The end markers are every node's last subscriptions: a node's NATS
	// subscriptions reach A in order over one route, so once A has both
	// nodes' marker interest it has all the rest. (InterestCount of a
	// topic that several of a node's subjects match counts only some.)
	ends := make([]chan struct{}, len(clients))
	for i, s := range clients {
		end := make(chan struct{})
		// The marker comes after every event to this session (one
		// ordered path per node, one queue per session).
		subscribe(t, s, ordEnd, func(context.Context, *client.Event) { close(end) })
		ends[i] = end
	}
	waitInterest(t, a, ordEnd, 2)

	// Acknowledged, with a bounded number in flight so that no
	// subscriber's queue overflows (that would be loss, not reordering).
	pub := dial(t, a)
	perTopic := [4]int64{}
	for _, ss := range sessions {
		for _, sb := range ss.subs {
			for i := range int64(4) {
				if sb.matches(ordTopic(i)) {
					perTopic[i]++
				}
			}
		}
	}
	const batch = 1000
	expected := int64(0)
	for seq := range int64(n) {
		publish(t, pub, ordTopic(seq), wamp.List{seq})
		expected += perTopic[seq%4]
		if (seq+1)%batch == 0 {
			waitFor(t, fmt.Sprintf("events of the first %d publications", seq+1), func() bool { return total.Load() >= expected })
		}
	}
	publish(t, pub, ordEnd, nil)
	for i, end := range ends {
		select {
		case <-end:
		case <-time.After(15 * time.Second):
			t.Fatalf("session %d: end marker not received", i)
		}
	}

	for _, ss := range sessions {
		for _, sb := range ss.subs {
			sb.mu.Lock()
			want := 0
			for seq := range int64(n) {
				if sb.matches(ordTopic(seq)) {
					want++
				}
			}
			missing := 0
			for seq, got := range sb.seen {
				if !got && sb.matches(ordTopic(int64(seq))) {
					missing++
				}
			}
			if sb.n != want || sb.dups != 0 || sb.reorders != 0 || missing != 0 || sb.foreign != 0 || sb.badTopicSeq != 0 {
				t.Errorf("%s: %d events, want %d: %d duplicated, %d reordered, %d missing, %d not matching, %d on the wrong topic",
					sb.name, sb.n, want, sb.dups, sb.reorders, missing, sb.foreign, sb.badTopicSeq)
			}
			sb.mu.Unlock()
		}
	}
	if got := total.Load(); got != expected {
		t.Errorf("%d events in all, want %d", got, expected)
	}
	for _, nd := range []*node{b, c} {
		st := nd.c.Stats()
		if st.Duplicates == 0 || st.Invalid != 0 || st.Dropped != 0 {
			t.Errorf("%s stats %+v: want duplicate NATS copies dropped (overlapping subjects), none invalid or dropped", nd.c.Node(), st)
		}
	}
	t.Logf("%d publications, %d events; B %+v, C %+v", n, expected, b.c.Stats(), c.c.Stats())
}
