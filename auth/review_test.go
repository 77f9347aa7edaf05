package auth

import (
	"context"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestTicketVerifyHonoursContext: an AUTHENTICATE waiting for an argon2id
// slot gives up when its handshake context ends. Otherwise every
// connection an attacker abandons still costs a full argon2id run later,
// long after the handshake timeout closed it, and its goroutine lives on.
func TestTicketVerifyHonoursContext(t *testing.T) {
	// Not parallel: it holds every hash slot of the test binary.
	hash, err := HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewTicket(TicketConfig{Principals: map[string]TicketPrincipal{"alice": {Ticket: hash, Role: "user"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, authid := range []string{"alice", "nobody"} { // the decoy path too
		t.Run(authid, func(t *testing.T) {
			for range cap(hashSlots) {
				hashSlots <- struct{}{}
			}
			released := false
			release := func() {
				if !released {
					released = true
					for range cap(hashSlots) {
						<-hashSlots
					}
				}
			}
			defer release()
			_, _, p, err := a.Hello(context.Background(), &Request{Realm: "realm1", AuthID: authid})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // the handshake already timed out
			type result struct {
				id  *Identity
				err error
			}
			done := make(chan result, 1)
			go func() {
				id, err := p.Authenticate(ctx, &wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
				done <- result{id, err}
			}()
			select {
			case r := <-done:
				if r.id != nil || r.err == nil {
					t.Fatalf("Authenticate with an ended context = %+v, %v; want a refusal", r.id, r.err)
				}
			case <-time.After(10 * time.Second):
				release() // let the stuck goroutine finish
				<-done
				t.Fatal("Authenticate waited for a hash slot although its context had ended")
			}
		})
	}
}
