package transport

import (
	"context"
	"sync"
)

// Queue defaults.
const (
	DefaultQueueMaxBytes    = 4 << 20
	DefaultQueueMaxMessages = 65536
)

// QueueOptions bounds a Queue. The zero value of each field means its default.
type QueueOptions struct {
	// MaxBytes bounds the bytes queued or being written. Default 4 MiB.
	// A single frame larger than MaxBytes is still accepted when no other
	// frame is waiting, so that one big message can always get through.
	MaxBytes int
	// MaxMessages bounds the frames queued or being written. Default 65536.
	MaxMessages int
}

// queue states
const (
	queueOpen = iota
	queueDraining
	queueClosed
)

// spareCapLimit caps the batch slice we keep for reuse, so that one burst
// does not pin a large slice of frame headers for the life of the session.
const spareCapLimit = 1024

// Queue is a bounded outbound queue of encoded frames in front of a Conn,
// with a single writer loop (Run) that is the only writer of the Conn.
//
// Send never blocks: it fails with ErrQueueFull when a bound would be
// exceeded (the caller applies its slow-consumer policy) and with ErrClosed
// once the queue stopped accepting. Run takes all queued frames at once and
// hands them to one Conn.Write, so a burst costs one flush.
//
// Frames are shared and immutable: the queue never modifies, retains after
// writing, or pools them, so one encoded frame may sit in many queues.
//
// Concurrency: Send, Len, Drain and Close are safe from any goroutine;
// Run must be called once, from one goroutine.
type Queue struct {
	c        Conn
	maxBytes int
	maxMsgs  int

	wake chan struct{} // 1-slot: "there is something to do"
	done chan struct{} // closed by Close
	exit chan struct{} // closed when Run returns
	idle chan struct{} // closed by Run once a Drain has written everything

	mu       sync.Mutex
	state    int
	frames   [][]byte // queued, not yet taken by Run
	spare    [][]byte // empty slice kept for the next swap
	msgs     int      // queued + in flight
	bytes    int      // queued + in flight
	runErr   error    // why Run returned
	closeOne sync.Once
}

// NewQueue returns a Queue writing to c. Start its writer with Run.
func NewQueue(c Conn, o QueueOptions) *Queue {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultQueueMaxBytes
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = DefaultQueueMaxMessages
	}
	return &Queue{
		c:        c,
		maxBytes: o.MaxBytes,
		maxMsgs:  o.MaxMessages,
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		exit:     make(chan struct{}),
		idle:     make(chan struct{}),
	}
}

// Send queues frame for writing. It never blocks. It returns ErrQueueFull
// if the frame would exceed a bound, and ErrClosed after Close, Drain, or
// after Run returned (write error or ctx end). The queue keeps a reference
// to frame until it is written; the caller must not modify it.
func (q *Queue) Send(frame []byte) error {
	q.mu.Lock()
	if q.state != queueOpen {
		q.mu.Unlock()
		return ErrClosed
	}
	n := len(frame)
	if q.msgs+1 > q.maxMsgs || (q.bytes+n > q.maxBytes && len(q.frames) > 0) {
		q.mu.Unlock()
		return ErrQueueFull
	}
	// Only the frame that makes the queue non-empty wakes the writer: it
	// takes every frame queued until it runs, so the rest need no wake.
	first := len(q.frames) == 0
	q.frames = append(q.frames, frame)
	q.msgs++
	q.bytes += n
	q.mu.Unlock()
	if first {
		q.notify()
	}
	return nil
}

func (q *Queue) notify() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Len reports the frames and bytes queued or being written.
func (q *Queue) Len() (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs, q.bytes
}

// Run is the writer loop. It waits for frames, takes all queued frames at
// once and writes them with one Conn.Write. It returns nil after Close or
// after a Drain wrote everything, ctx.Err() when ctx ends, or the Conn's
// write error. Once Run returned the queue accepts no more frames.
func (q *Queue) Run(ctx context.Context) (err error) {
	defer func() {
		q.mu.Lock()
		q.state = queueClosed
		q.discardLocked()
		q.runErr = err
		q.mu.Unlock()
		close(q.exit)
	}()
	for {
		q.mu.Lock()
		if q.state == queueClosed {
			q.mu.Unlock()
			return nil
		}
		batch := q.frames
		if len(batch) == 0 {
			if q.state == queueDraining {
				q.mu.Unlock()
				close(q.idle)
				return nil
			}
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-q.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		q.frames = q.spare[:0]
		q.spare = nil
		q.mu.Unlock()

		var size int
		for _, f := range batch {
			size += len(f)
		}
		werr := q.c.Write(ctx, batch)
		clear(batch) // drop references so written frames can be collected

		q.mu.Lock()
		q.msgs -= len(batch)
		q.bytes -= size
		if cap(batch) <= spareCapLimit {
			q.spare = batch[:0]
		}
		q.mu.Unlock()
		if werr != nil {
			return werr
		}
	}
}

// Drain stops accepting frames and waits until Run has written every
// queued frame (nil), Run failed (its error), or ctx ended (ctx.Err()).
// Run returns once the queue is drained. Drain does not close the Conn.
func (q *Queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	if q.state == queueOpen {
		q.state = queueDraining
	}
	q.mu.Unlock()
	q.notify()
	select {
	case <-q.idle:
		return nil
	case <-q.exit:
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.runErr != nil {
			return q.runErr
		}
		select {
		case <-q.idle:
			return nil
		default:
		}
		return ErrClosed // closed before everything was written
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting frames, discards those not yet written and makes
// Run return. A Write already in progress is not interrupted: close the
// Conn as well to abort it. Close is idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	q.state = queueClosed
	q.discardLocked()
	q.mu.Unlock()
	q.closeOne.Do(func() { close(q.done) })
}

// discardLocked drops the queued frames; q.mu must be held. Frames in
// flight stay counted until their Write returns.
func (q *Queue) discardLocked() {
	for _, f := range q.frames {
		q.bytes -= len(f)
	}
	q.msgs -= len(q.frames)
	clear(q.frames)
	q.frames = q.frames[:0]
}
