package broker

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// TestNewID: a NewID hook gives new subscriptions their ids (the same one
// again after the subscription was deleted); an id already in use falls
// back to the sequence, so two subscriptions never share one.
func TestNewID(t *testing.T) {
	t.Parallel()
	var ids wamp.Sequence
	b := New(&ids)
	b.NewID = func(topic wamp.URI, policy string) wamp.ID {
		if topic == "a" || topic == "collides" {
			return 1000
		}
		return 2000
	}
	s := &testSession{id: 1, c: codec.JSON}
	if id := subscribe(b, s, "a", wamp.MatchExact); id != 1000 {
		t.Errorf("a: id %d, want 1000 from NewID", id)
	}
	if id := subscribe(b, s, "b", wamp.MatchExact); id != 2000 {
		t.Errorf("b: id %d, want 2000 from NewID", id)
	}
	id := subscribe(b, s, "collides", wamp.MatchExact)
	if id == 1000 || !id.Valid() {
		t.Errorf("collides: id %d, want one from the sequence (1000 is a's)", id)
	}
	if !unsubscribe(b, s, 1000) {
		t.Fatal("unsubscribe a")
	}
	if id := subscribe(b, s, "a", wamp.MatchExact); id != 1000 {
		t.Errorf("a again: id %d, want 1000", id)
	}
}
