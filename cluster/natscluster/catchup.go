package natscluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/cluster"
)

// Read-your-writes across nodes. The replica lags the bucket by the watch
// delay, so a CALL that finds nothing here may be one for a registration
// another node has just confirmed. Before such a call is answered
// no_such_procedure, CatchUp asks the stream for its last revision and
// waits (briefly) until the replica has applied it.
//
// The asks are coalesced into rounds: one round runs at a time, and every
// miss that arrives meanwhile waits for the next one, which starts after
// it arrived (so its answer covers every write confirmed before the
// miss). However many clients call unknown URIs, a node has at most one
// request to JetStream in flight for them, and a miss costs one round trip
// to the stream leader.

// catchUpBound bounds one round: the stream's answer and the replica
// applying up to it.
const catchUpBound = 250 * time.Millisecond

// catchUpPause: after the stream did not answer a round (no leader, no
// quorum), misses are answered at once for this long rather than each
// waiting out the bound.
const catchUpPause = time.Second

type catchup struct {
	mu       sync.Mutex
	running  bool
	next     *round // the round after the running one: the misses waiting for it
	failed   error  // the last round's error, from failedAt
	failedAt time.Time
	rounds   atomic.Uint64 // asks sent to the stream
}

type round struct {
	done chan struct{}
	err  error
}

// CatchUp implements cluster.RPC.
func (c *Cluster) CatchUp(ctx context.Context) error {
	r := c.reg
	select {
	case <-r.ready:
	default:
		return fmt.Errorf("%w: registry not watched yet", cluster.ErrUnavailable)
	}
	cu := &r.catchup
	cu.mu.Lock()
	if err := cu.failed; err != nil && time.Since(cu.failedAt) < catchUpPause {
		cu.mu.Unlock()
		return err
	}
	if cu.next == nil {
		cu.next = &round{done: make(chan struct{})}
	}
	rd := cu.next
	if !cu.running {
		cu.running = true
		cu.next = nil
		go r.rounds(rd)
	}
	cu.mu.Unlock()
	select {
	case <-rd.done:
		return rd.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// rounds runs rd and then the rounds asked for meanwhile, until none is.
func (r *registry) rounds(rd *round) {
	cu := &r.catchup
	for rd != nil {
		var asked bool
		asked, rd.err = r.catchUp()
		close(rd.done)
		cu.mu.Lock()
		if cu.failed = nil; !asked {
			cu.failed, cu.failedAt = rd.err, time.Now()
		}
		rd, cu.next = cu.next, nil
		cu.running = rd != nil
		cu.mu.Unlock()
	}
}

// catchUp waits until the replica has the stream's last revision; asked
// reports whether the stream answered.
func (r *registry) catchUp() (asked bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), catchUpBound)
	defer cancel()
	last, err := r.lastSeq(ctx)
	if err != nil {
		return false, err
	}
	r.catchup.rounds.Add(1)
	return true, r.await(ctx, last)
}

// lastSeq asks the stream leader for the registry stream's last sequence
// (a KV revision). Only that is read from STREAM.INFO: the whole
// jetstream.StreamInfo costs some 24 KB per ask.
func (r *registry) lastSeq(ctx context.Context) (uint64, error) {
	msg, err := r.c.nc.RequestWithContext(ctx, "$JS.API.STREAM.INFO.KV_"+r.bucket, nil)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", cluster.ErrUnavailable, err)
	}
	var info struct {
		State *struct {
			LastSeq uint64 `json:"last_seq"`
		} `json:"state"`
	}
	if err := json.Unmarshal(msg.Data, &info); err != nil || info.State == nil {
		return 0, fmt.Errorf("%w: stream info: %.200s", cluster.ErrUnavailable, msg.Data)
	}
	return info.State.LastSeq, nil
}

// CatchUps is the number of times this node asked the stream for its last
// revision after a miss.
func (c *Cluster) CatchUps() uint64 { return c.reg.catchup.rounds.Load() }
