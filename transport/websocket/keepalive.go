package websocket

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
)

// keepAlive sends a ping every interval from a timer (no goroutine per
// connection while idle); a pong missing at the next tick fails the
// connection.
type keepAlive struct {
	c        *Conn
	interval time.Duration
	sent     atomic.Uint64 // sequence number of the last ping, written by tick
	acked    atomic.Uint64 // sequence number of the last matching pong

	mu      sync.Mutex // held by a running tick, so stop waits for it
	t       *time.Timer
	stopped bool
}

var errNoPong = errors.New("no pong within the ping interval")

func (c *Conn) startPing(interval time.Duration) {
	ka := &keepAlive{c: c, interval: interval}
	c.ka = ka
	ka.mu.Lock()
	ka.t = time.AfterFunc(interval, ka.tick)
	ka.mu.Unlock()
}

func (ka *keepAlive) tick() {
	ka.mu.Lock()
	defer ka.mu.Unlock()
	if ka.stopped {
		return
	}
	c := ka.c
	err := errNoPong
	if seq := ka.sent.Load(); ka.acked.Load() == seq {
		ka.sent.Store(seq + 1)
		var p [8]byte
		binary.BigEndian.PutUint64(p[:], seq+1)
		ctx, cancel := context.WithTimeout(context.Background(), ka.interval)
		err = c.writeFrames(ctx, func(w *frameWriter) {
			w.header(true, opPing, len(p))
			w.payload(p[:])
		})
		cancel()
	}
	if err != nil {
		if !c.isClosed() && !errors.Is(err, transport.ErrClosed) { // not after our close frame
			err = fmt.Errorf("ping %d: %w", ka.sent.Load(), err)
			c.kaErr.Store(&err)
			c.shutdown()
		}
		ka.stopped = true
		return
	}
	ka.t.Reset(ka.interval)
}

// pong records a pong; unsolicited or stale ones are ignored.
func (ka *keepAlive) pong(p []byte) {
	if len(p) == 8 && binary.BigEndian.Uint64(p) == ka.sent.Load() {
		ka.acked.Store(ka.sent.Load())
	}
}

// stop ends the pings, waiting for a tick in progress.
func (ka *keepAlive) stop() {
	ka.mu.Lock()
	ka.stopped = true
	if ka.t != nil {
		ka.t.Stop()
	}
	ka.mu.Unlock()
}
