package wamp

import (
	"math/rand/v2"
	"sync/atomic"
)

// ID is a WAMP id: an integer in [1, 2^53].
type ID uint64

// MaxID is the largest valid ID (2^53), exactly representable as a double.
const MaxID ID = 1 << 53

// Valid reports whether id is in [1, 2^53].
func (id ID) Valid() bool { return id >= 1 && id <= MaxID }

// GlobalID returns a random ID in [1, 2^53] for the global scope (session
// and publication ids).
func GlobalID() ID { return ID(rand.Uint64N(uint64(MaxID))) + 1 }

// Sequence hands out session- or router-scope IDs: 1, 2, 3, … wrapping back
// to 1 after 2^53. It is safe for concurrent use; the zero value is ready.
type Sequence struct{ n atomic.Uint64 }

// Last returns the ID Next returned last (0 before the first).
func (s *Sequence) Last() ID { return ID(s.n.Load()) }

// Next returns the next ID.
func (s *Sequence) Next() ID {
	for {
		old := s.n.Load()
		next := old + 1
		if next > uint64(MaxID) {
			next = 1
		}
		if s.n.CompareAndSwap(old, next) {
			return ID(next)
		}
	}
}
