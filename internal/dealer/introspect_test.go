package dealer

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

type testSession struct {
	id wamp.ID
	mu sync.Mutex
	in []wamp.Message
}

func (s *testSession) ID() wamp.ID      { return s.id }
func (s *testSession) AuthID() string   { return "a" }
func (s *testSession) AuthRole() string { return "r" }
func (s *testSession) Send(m wamp.Message) error {
	s.mu.Lock()
	s.in = append(s.in, m)
	s.mu.Unlock()
	return nil
}

func TestIntrospection(t *testing.T) {
	t.Parallel()
	var seq wamp.Sequence
	d := New(&seq)
	s1, s2 := &testSession{id: 1}, &testSession{id: 2}
	p1, p2 := NewPeer(s1), NewPeer(s2)
	before := time.Now()

	id, created, errURI := d.Attach(p1, "a.b", RegisterOptions{Invoke: InvokeRoundRobin})
	if !created || errURI != "" {
		t.Fatalf("first Attach: %v %q", created, errURI)
	}
	if id2, created, errURI := d.Attach(p2, "a.b", RegisterOptions{Invoke: InvokeRoundRobin}); id2 != id || created || errURI != "" {
		t.Fatalf("shared Attach = %d %v %q", id2, created, errURI)
	}
	if _, _, errURI := d.Attach(p2, "a.b", RegisterOptions{Invoke: InvokeRoundRobin}); errURI != wamp.ErrProcedureAlreadyExists {
		t.Fatalf("repeated Attach = %q", errURI)
	}
	pre, _ := d.Register(p2, "a", RegisterOptions{Match: wamp.MatchPrefix})

	info, ok := d.Get(id)
	want := RegistrationInfo{ID: id, Procedure: "a.b", Match: wamp.MatchExact, Invoke: InvokeRoundRobin, Created: info.Created}
	if !ok || info != want || info.Created.Before(before) {
		t.Fatalf("Get = %+v %v", info, ok)
	}
	if _, ok := d.Get(9999); ok {
		t.Error("Get of unknown id succeeded")
	}
	var got []wamp.ID
	for _, i := range d.List() {
		got = append(got, i.ID)
	}
	if !reflect.DeepEqual(got, []wamp.ID{id, pre}) {
		t.Errorf("List = %v", got)
	}
	if m, ok := d.Match("a.b"); !ok || m.ID != id {
		t.Errorf("Match(a.b) = %+v %v", m, ok)
	}
	if m, ok := d.Match("a.c"); !ok || m.ID != pre {
		t.Errorf("Match(a.c) = %+v %v", m, ok)
	}
	if _, ok := d.Match("b"); ok {
		t.Error("Match(b) found something")
	}
	if l, ok := d.Lookup("a", wamp.MatchPrefix); !ok || l.ID != pre {
		t.Errorf("Lookup = %+v %v", l, ok)
	}
	if _, ok := d.Lookup("a.b", wamp.MatchPrefix); ok {
		t.Error("Lookup(a.b, prefix) found something")
	}
	cs, ok := d.Callees(id)
	if !ok || len(cs) != 2 || cs[0] != Session(s1) || cs[1] != Session(s2) {
		t.Errorf("Callees = %v %v", cs, ok)
	}

	// Revocation keeps the peer's own list in step.
	if _, _, ok := d.RemoveCallee(id, 3); ok {
		t.Error("removed a session that is not a callee")
	}
	if _, _, ok := d.RemoveCallee(9999, 1); ok {
		t.Error("removed from an unknown registration")
	}
	s, x, ok := d.RemoveCallee(id, 1)
	if !ok || s != Session(s1) || x != (Detached{ID: id, Procedure: "a.b"}) {
		t.Fatalf("RemoveCallee = %v %+v %v", s, x, ok)
	}
	if len(p1.Registrations()) != 0 {
		t.Errorf("p1 still lists %v", p1.Registrations())
	}
	if _, ok := d.Detach(p1, id); ok {
		t.Error("Detach after revocation succeeded")
	}
	all := d.DetachAll(p2)
	wantAll := []Detached{{ID: id, Procedure: "a.b", Deleted: true}, {ID: pre, Procedure: "a", Deleted: true}}
	if !reflect.DeepEqual(all, wantAll) {
		t.Errorf("DetachAll = %+v, want %+v", all, wantAll)
	}
	if d.Count() != 0 || len(p2.Registrations()) != 0 {
		t.Errorf("left: %d registrations, p2 lists %v", d.Count(), p2.Registrations())
	}
	// A call now finds nothing.
	if _, ok := d.Pick("a.b"); ok {
		t.Error("Pick after removal found a callee")
	}
}

func TestIntrospectionConcurrent(t *testing.T) {
	t.Parallel()
	var seq wamp.Sequence
	d := New(&seq)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewPeer(&testSession{id: wamp.ID(i + 1)})
			for range 200 {
				id, _, _ := d.Attach(p, "a.b", RegisterOptions{Invoke: InvokeFirst})
				d.RemoveCallee(id, wamp.ID(i+1))
			}
			d.Leave(p)
		}()
	}
	for range 200 {
		for _, info := range d.List() {
			d.Callees(info.ID)
		}
		d.Match("a.b")
	}
	wg.Wait()
	if d.Count() != 0 {
		t.Errorf("%d registrations left", d.Count())
	}
}
