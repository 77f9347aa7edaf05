package broker

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

type testSession struct {
	id     wamp.ID
	authid string
	c      codec.Codec
	frames [][]byte
	n      atomic.Int64
	keep   bool
}

func (s *testSession) ID() wamp.ID        { return s.id }
func (s *testSession) AuthID() string     { return s.authid }
func (s *testSession) AuthRole() string   { return "user" }
func (s *testSession) Codec() codec.Codec { return s.c }
func (s *testSession) SendEvent(f []byte) {
	s.n.Add(1)
	if s.keep {
		s.frames = append(s.frames, f)
	}
}

func TestEncodeOncePerSerializer(t *testing.T) {
	t.Parallel()
	var ids wamp.Sequence
	b := New(&ids)
	var subs []*testSession
	for i, c := range []codec.Codec{codec.JSON, codec.JSON, codec.MsgPack, codec.MsgPack, codec.CBOR} {
		s := &testSession{id: wamp.ID(i + 1), c: c, keep: true}
		subs = append(subs, s)
		subscribe(b, s, "a.b", wamp.MatchExact)
	}
	pub := &testSession{id: 100, c: codec.JSON}
	n := b.Publish(&Publication{ID: 7, Publisher: pub, Topic: "a.b", ExcludeMe: true, Payload: wamp.Payload{Args: wamp.List{"x"}}})
	if n != 5 {
		t.Fatalf("Publish delivered %d, want 5", n)
	}
	// Same serializer, same subscription: the very same bytes.
	if &subs[0].frames[0][0] != &subs[1].frames[0][0] || &subs[2].frames[0][0] != &subs[3].frames[0][0] {
		t.Error("EVENT encoded more than once per serializer")
	}
	if &subs[0].frames[0][0] == &subs[2].frames[0][0] {
		t.Error("JSON and MessagePack subscribers share a frame")
	}
	for _, s := range subs {
		m, err := s.c.Decode(s.frames[0])
		if err != nil {
			t.Fatal(err)
		}
		ev := m.(*wamp.Event)
		if ev.Publication != 7 {
			t.Errorf("publication %d", ev.Publication)
		}
	}
}

func TestUnsubscribeAndRemoveSession(t *testing.T) {
	t.Parallel()
	var ids wamp.Sequence
	b := New(&ids)
	s1 := &testSession{id: 1, c: codec.JSON}
	s2 := &testSession{id: 2, c: codec.JSON}
	id := subscribe(b, s1, "a", wamp.MatchExact)
	if subscribe(b, s2, "a", wamp.MatchExact) != id {
		t.Fatal("second subscriber got another id")
	}
	pid := subscribe(b, s2, "a", wamp.MatchPrefix)
	if pid == id {
		t.Fatal("prefix subscription shares the exact one's id")
	}
	if unsubscribe(b, s1, pid) {
		t.Error("unsubscribed a session from a subscription it does not hold")
	}
	if !unsubscribe(b, s1, id) || unsubscribe(b, s1, id) {
		t.Error("unsubscribe should succeed once")
	}
	b.DetachAll(s2, []wamp.ID{id, pid})
	if b.Count() != 0 {
		t.Errorf("%d subscriptions left", b.Count())
	}
}

// BenchmarkPublishFanout measures one PUBLISH delivered to N subscribers
// sharing one serializer (one encode, N queue operations), or taking
// turns among three (mixed: one encode per serializer).
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		for _, name := range []string{"json", "msgpack", "mixed"} {
			subCodecs := []codec.Codec{codec.JSON, codec.MsgPack, codec.CBOR}
			if name != "mixed" {
				c, _ := codec.ByName(name)
				subCodecs = []codec.Codec{c}
			}
			c := subCodecs[0]
			b.Run(fmt.Sprintf("%s/%d", name, n), func(b *testing.B) {
				var ids wamp.Sequence
				br := New(&ids)
				for i := range n {
					subscribe(br, &testSession{id: wamp.ID(i + 1), c: subCodecs[i%len(subCodecs)]}, "com.example.topic", wamp.MatchExact)
				}
				pub := &testSession{id: wamp.ID(n + 1), c: c}
				raw, _ := c.Encode(nil, &wamp.Publish{Request: 1, Options: wamp.Dict{}, Topic: "com.example.topic", Payload: wamp.Payload{Args: wamp.List{"hello", int64(42)}, Kwargs: wamp.Dict{"k": "v"}}})
				m, _ := c.Decode(raw)
				p := m.(*wamp.Publish)
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					br.Publish(&Publication{ID: 1, Publisher: pub, Topic: p.Topic, ExcludeMe: true, Payload: p.Payload})
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
			})
		}
	}
}

// subscribe attaches s to (topic, policy) and returns the subscription id.
func subscribe(b *Broker, s Session, topic wamp.URI, policy string) wamp.ID {
	id, _, _ := b.Attach(s, topic, policy)
	return id
}

// unsubscribe detaches s from id, reporting whether s was subscribed.
func unsubscribe(b *Broker, s Session, id wamp.ID) bool {
	_, ok := b.Detach(s, id)
	return ok
}

// TestFanoutAllocatesPerPublicationOnly checks that a delivery allocates
// nothing: publishing to 1000 subscribers costs the allocations of
// publishing to one (the EVENT, its details and one frame per serializer).
func TestFanoutAllocatesPerPublicationOnly(t *testing.T) {
	allocs := func(n int) float64 {
		var ids wamp.Sequence
		br := New(&ids)
		for i := range n {
			subscribe(br, &testSession{id: wamp.ID(i + 1), c: codec.MsgPack}, "com.example.topic", wamp.MatchExact)
		}
		pub := &testSession{id: wamp.ID(n + 1), c: codec.MsgPack}
		p := &Publication{ID: 1, Publisher: pub, Topic: "com.example.topic", ExcludeMe: true, Payload: wamp.Payload{Args: wamp.List{"hello"}}}
		return testing.AllocsPerRun(100, func() { br.Publish(p) })
	}
	if one, many := allocs(1), allocs(1000); many != one {
		t.Errorf("publishing to 1000 subscribers allocates %v times, to one %v: deliveries allocate", many, one)
	}
}
