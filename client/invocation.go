package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// invState is one running invocation.
type invState struct {
	lk     *link
	id     wamp.ID
	ctx    context.Context
	cancel context.CancelFunc
	// timeout reports whether ctx carries a router-forwarded call timeout.
	timeout bool

	// chunks carries the further INVOCATIONs of a progressive call
	// invocation (nil for ordinary calls). The reader sends; it alone
	// reads and writes inputOpen. fail cancels ctx with a cause (chunk
	// overflow).
	chunks    chan *wamp.Invocation
	inputOpen bool
	fail      context.CancelCauseFunc

	mu        sync.Mutex
	done      bool
	inputDone bool // the handler took the last chunk
}

// maxChunks bounds the unread input chunks of one invocation.
const maxChunks = 256

// errChunkOverflow is the cause of an invocation's end when its handler
// left more than maxChunks input chunks unread.
var errChunkOverflow = fmt.Errorf("client: the handler left more than %d input chunks unread", maxChunks)

// endedRingSize is how many ended progressive-input invocations are
// remembered, so a chunk the router sent before it saw our answer is
// dropped instead of being taken for a new invocation.
const endedRingSize = 64

// endedRing holds the ids of recently ended progressive-input
// invocations. Guarded by link.mu.
type endedRing struct {
	ids  [endedRingSize]wamp.ID
	next int
}

func (r *endedRing) add(id wamp.ID) {
	r.ids[r.next] = id
	r.next = (r.next + 1) % endedRingSize
}

func (r *endedRing) contains(id wamp.ID) bool {
	for _, v := range r.ids {
		if v == id && id != 0 {
			return true
		}
	}
	return false
}

func (st *invState) nextChunk(ctx context.Context) (*Chunk, error) {
	st.mu.Lock()
	over := st.inputDone
	st.mu.Unlock()
	if over {
		return nil, io.EOF
	}
	var m *wamp.Invocation
	select {
	case m = <-st.chunks:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-st.ctx.Done():
		return nil, fmt.Errorf("client: invocation interrupted: %w", context.Cause(st.ctx))
	}
	progress, _ := wamp.OptBool(m.Details, "progress")
	if !progress {
		st.mu.Lock()
		st.inputDone = true
		st.mu.Unlock()
	}
	args, kwargs, err := m.Values()
	if err != nil {
		return nil, fmt.Errorf("client: undecodable chunk payload: %w", err)
	}
	return &Chunk{Args: args, Kwargs: kwargs, Details: m.Details, Last: !progress}, nil
}

// continueInvocation hands a further chunk of a progressive call
// invocation to its handler (on the reader). It never waits: a chunk
// that finds the buffer full ends the invocation (its ctx is canceled
// with errChunkOverflow, and the caller gets wamp.error.canceled unless
// the handler answers otherwise); chunks of an ended or interrupted
// invocation are dropped.
func (lk *link) continueInvocation(st *invState, m *wamp.Invocation) {
	if st.chunks == nil || !st.inputOpen {
		lk.s.cfg.Logger.Warn("client: INVOCATION reuses the id of a running invocation that takes no more input; dropped",
			"request", m.Request)
		return
	}
	if progress, _ := wamp.OptBool(m.Details, "progress"); !progress {
		st.inputOpen = false
	}
	if st.ctx.Err() != nil {
		return
	}
	select {
	case st.chunks <- m:
	default:
		st.fail(errChunkOverflow)
	}
}

func (st *invState) progress(ctx context.Context, args wamp.List, kwargs wamp.Dict) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	args, kwargs, err := normalizePayload(args, kwargs)
	if err != nil {
		return err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return errors.New("client: invocation already answered")
	}
	if st.ctx.Err() != nil {
		return fmt.Errorf("client: invocation interrupted: %w", context.Cause(st.ctx))
	}
	return st.lk.send(&wamp.Yield{Request: st.id, Options: wamp.Dict{"progress": true},
		Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
}
