package router

import (
	"sync"

	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// realm is one routing domain: its sessions, broker and dealer.
type realm struct {
	name   wamp.URI
	strict bool // strict URI check
	broker *broker.Broker
	dealer *dealer.Dealer

	// internal is the router's own trusted session on this realm.
	internal *internalSession

	mu       sync.RWMutex
	sessions map[wamp.ID]*session
}

func newRealm(o RealmOptions, ids *wamp.Sequence) *realm {
	rm := &realm{
		name:     o.Name,
		strict:   o.URICheck != "loose",
		broker:   broker.New(ids),
		dealer:   dealer.New(ids),
		sessions: map[wamp.ID]*session{},
	}
	rm.internal = newInternalSession(rm)
	return rm
}

// join adds s, drawing a session id that is unique in the realm.
func (rm *realm) join(s *session) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for {
		id := wamp.GlobalID()
		if _, taken := rm.sessions[id]; !taken {
			s.id = id
			rm.sessions[id] = s
			return
		}
	}
}

func (rm *realm) leave(s *session) {
	rm.mu.Lock()
	delete(rm.sessions, s.id)
	rm.mu.Unlock()
}

func (rm *realm) count() int {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return len(rm.sessions)
}

// validURI applies the realm's URI check.
func (rm *realm) validURI(u wamp.URI, match string) bool {
	return wamp.ValidURI(u, rm.strict, match)
}
