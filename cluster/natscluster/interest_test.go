package natscluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestInterestRace: a subscriber on B subscribes while a publisher on A
// publishes (acknowledged, numbered) in a loop. A sends a publication to
// NATS only when its server knows some node's interest, and that interest
// only grows while the subscription lasts; so once one event reached B,
// none of the later ones may be missing (docs/cluster.md, "Interest per
// node"). Each round uses a fresh topic nobody else wants.
func TestInterestRace(t *testing.T) {
	nodes := startNodes(t, 2)
	a, b := nodes[0], nodes[1]
	pub, subSess := dial(t, a), dial(t, b)
	const after = 20 // publications after the first delivered one
	for round := range 20 {
		topic := wamp.URI(fmt.Sprintf("com.race.r%d", round))
		var mu sync.Mutex
		var got []int64
		subscribed := make(chan struct{})
		var sub *client.Subscription
		var subErr error
		go func() {
			defer close(subscribed)
			sub, subErr = subSess.Subscribe(context.Background(), topic, func(_ context.Context, e *client.Event) {
				n, ok := wamp.AsInt(e.Args[0])
				if !ok {
					n = -1
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
			})
		}()
		delivered := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(got)
		}
		// Publish until the first event arrives (bounded), then after more.
		sent, extra := 0, 0
		for extra < after {
			if sent > 1_000_000 {
				t.Fatalf("round %d: no event delivered after %d publications", round, sent)
			}
			publish(t, pub, topic, wamp.List{uint64(sent)})
			sent++
			select {
			case <-subscribed:
				if subErr != nil {
					t.Fatal(subErr)
				}
				if delivered() > 0 {
					extra++
				}
			default:
			}
		}
		waitFor(t, fmt.Sprintf("round %d: the last event (%d) on B", round, sent-1), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) > 0 && got[len(got)-1] == int64(sent-1)
		})
		mu.Lock()
		for i := 1; i < len(got); i++ {
			if got[i] != got[i-1]+1 {
				t.Fatalf("round %d: event %d followed by %d: a publication after the first delivered one was lost or reordered", round, got[i-1], got[i])
			}
		}
		mu.Unlock()
		if err := subSess.Unsubscribe(context.Background(), sub); err != nil {
			t.Fatal(err)
		}
	}
	if st := b.c.Stats(); st.Gaps != 0 || st.Duplicates != 0 {
		t.Errorf("B stats %+v: want no gaps (a skipped publication takes no sequence number) and no duplicates", st)
	}
}

// TestNobodyWantsSendsNothing: publications no node has interest in cost
// no NATS message; once another node subscribes they flow.
func TestNobodyWantsSendsNothing(t *testing.T) {
	nodes := startNodes(t, 3)
	a, c := nodes[0], nodes[2]
	pub := dial(t, a)
	for range 50 {
		publish(t, pub, "com.quiet", wamp.List{1})
	}
	if st := a.c.Stats(); st.Published != 0 {
		t.Fatalf("A sent %d publications nobody wants to NATS, want 0", st.Published)
	}
	r, s := newRecorder(), dial(t, c)
	subscribe(t, s, "com.quiet", r.fn)
	subscribe(t, s, "com.end", r.fn)
	waitInterest(t, a, "com.quiet", 1)
	waitInterest(t, a, "com.end", 1)
	publish(t, pub, "com.quiet", wamp.List{2})
	publish(t, pub, "com.end", nil)
	if evs := r.wait(t, "C"); len(evs) != 1 {
		t.Errorf("C got %d events, want 1", len(evs))
	}
	if st := a.c.Stats(); st.Published != 2 {
		t.Errorf("A sent %d publications to NATS, want 2", st.Published)
	}
}
