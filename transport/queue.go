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

// idleCapLimit is the batch capacity an on-demand writer leaves behind
// when it exits: an idle connection keeps no burst-sized slices. Bigger
// ones go to a pool (batches), so that a queue whose writer restarts at
// every burst (each subscriber of a busy fan-out) does not regrow them.
const idleCapLimit = 4

// batches holds empty batch slices writers left behind, each in a
// *batchBox; boxes holds the emptied boxes, so that pooling a slice
// allocates nothing once both pools are warm.
var batches, boxes sync.Pool

type batchBox struct{ s [][]byte }

// getBatch returns an empty pooled batch slice, or nil.
func getBatch() [][]byte {
	b, ok := batches.Get().(*batchBox)
	if !ok {
		return nil
	}
	s := b.s
	b.s = nil
	boxes.Put(b)
	return s
}

// release returns what an exiting writer should keep of s: s itself if it
// is small, else nil, after pooling s when it is worth reusing.
func release(s [][]byte) [][]byte {
	if cap(s) <= idleCapLimit {
		return s
	}
	if cap(s) <= spareCapLimit {
		b, _ := boxes.Get().(*batchBox)
		if b == nil {
			b = new(batchBox)
		}
		b.s = s[:0]
		batches.Put(b)
	}
	return nil
}

// Queue is a bounded outbound queue of encoded frames in front of a Conn,
// with a single writer at a time that is the only writer of the Conn:
// either a loop (Run) for the queue's life, or, after Start, a writer
// that runs only while frames are waiting (an idle connection has none):
// a shared goroutine or one of the queue's own (Start).
//
// Send never blocks: it fails with ErrQueueFull when a bound would be
// exceeded (the caller applies its slow-consumer policy) and with ErrClosed
// once the queue stopped accepting. The writer takes all queued frames at
// once and hands them to one Conn.Write (or TryWrite), so a burst costs
// one flush.
//
// Frames are shared and immutable: the queue never modifies, retains after
// writing, or pools them, so one encoded frame may sit in many queues.
//
// Concurrency: Send, Len, Drain, Close and Wait are safe from any
// goroutine; Run or Start must be called once, from one goroutine.
type Queue struct {
	c        Conn
	maxBytes int
	maxMsgs  int

	mu      sync.Mutex
	state   int
	frames  [][]byte // queued, not yet taken by the writer
	spare   [][]byte // empty slice kept for the next swap
	msgs    int      // queued + in flight
	bytes   int      // queued + in flight
	err     error    // why the writer stopped
	stopped bool     // the writer stopped for good (Run returned, a write failed)
	drained bool     // a Drain's frames were all written
	settled bool     // settle is closed
	settle  chan struct{}
	// Run's channels, made when it starts.
	wake chan struct{} // 1-slot: "there is something to do"
	done chan struct{} // closed by Close

	// On-demand writer (Start).
	auto    bool
	ctx     context.Context
	onErr   func(error)
	writeFn func() // starts q.writeOut, made once (unless try)
	writing bool   // a writer is running or the queue is on the ready list
	try     bool   // writers are the shared ones (c is a TryWriter that can)
	writers sync.WaitGroup
}

// NewQueue returns a Queue writing to c. Start its writer with Run or Start.
func NewQueue(c Conn, o QueueOptions) *Queue {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultQueueMaxBytes
	}
	if o.MaxMessages <= 0 {
		o.MaxMessages = DefaultQueueMaxMessages
	}
	return &Queue{c: c, maxBytes: o.MaxBytes, maxMsgs: o.MaxMessages}
}

// Send queues frame for writing. It never blocks. It returns ErrQueueFull
// if the frame would exceed a bound, and ErrClosed after Close, Drain, or
// after the writer stopped (write error or ctx end). The queue keeps a
// reference to frame until it is written; the caller must not modify it.
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
	if q.frames == nil {
		q.frames = getBatch()
	}
	q.frames = append(q.frames, frame)
	q.msgs++
	q.bytes += n
	start := q.auto && !q.writing
	if start {
		q.writing = true
		q.writers.Add(1)
	}
	wake := q.wake
	q.mu.Unlock()
	if start {
		q.startWriter()
	} else if first {
		notify(wake)
	}
	return nil
}

// startWriter gets the queue written: by the shared writers if its Conn
// can write without waiting, else by a writer of its own. q.writing was
// set by the caller.
func (q *Queue) startWriter() {
	if q.try {
		shared.push(q)
	} else {
		writers.Go(q.writeFn)
	}
}

// notify wakes Run, if it is waiting on wake (nil: no Run).
func notify(wake chan struct{}) {
	if wake == nil {
		return
	}
	select {
	case wake <- struct{}{}:
	default:
	}
}

// Len reports the frames and bytes queued or being written.
func (q *Queue) Len() (msgs, bytes int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.msgs, q.bytes
}

// takeLocked returns the queued frames for one write, or nil when there are none
// or the queue is closed; q.mu must be held.
func (q *Queue) takeLocked() [][]byte {
	if q.state == queueClosed || len(q.frames) == 0 {
		return nil
	}
	batch := q.frames
	q.frames = q.spare[:0]
	q.spare = nil
	return batch
}

// write writes batch with one Conn.Write and accounts for it.
func (q *Queue) write(ctx context.Context, batch [][]byte) error {
	err := q.c.Write(ctx, batch)
	q.wrote(batch)
	return err
}

// wrote accounts for batch, which has been written (or failed).
func (q *Queue) wrote(batch [][]byte) {
	var size int
	for _, f := range batch {
		size += len(f)
	}
	clear(batch) // drop references so written frames can be collected
	q.mu.Lock()
	q.msgs -= len(batch)
	q.bytes -= size
	if cap(batch) <= spareCapLimit {
		q.spare = batch[:0]
	}
	q.mu.Unlock()
}

// Run is the writer loop. It waits for frames, takes all queued frames at
// once and writes them with one Conn.Write. It returns nil after Close or
// after a Drain wrote everything, ctx.Err() when ctx ends, or the Conn's
// write error. Once Run returned the queue accepts no more frames.
func (q *Queue) Run(ctx context.Context) (err error) {
	q.mu.Lock()
	q.wake, q.done = make(chan struct{}, 1), make(chan struct{})
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.stopLocked(err)
		q.mu.Unlock()
	}()
	for {
		q.mu.Lock()
		if q.state == queueClosed {
			q.mu.Unlock()
			return nil
		}
		batch := q.takeLocked()
		if batch == nil {
			if q.state == queueDraining {
				q.drainedLocked()
				q.mu.Unlock()
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
		q.mu.Unlock()
		if err := q.write(ctx, batch); err != nil {
			return err
		}
	}
}

// Start makes the queue write on demand instead of from Run: Send gets a
// writer when none is running, and it leaves as soon as the queue is empty,
// so a quiet connection costs no goroutine (nor its stack). If the Conn
// can write without waiting (TryWriter), writers are a few goroutines
// shared by all queues (writerpool.go), and a queue gets one of its own
// only while its socket does not take its frames; otherwise its writer is
// a goroutine of its own from the start, from a set that lingers briefly
// (writers.go). Writes run under ctx. If one fails, the queue closes as
// when Run returns an error, and onErr is called with the error, once,
// from the writer.
func (q *Queue) Start(ctx context.Context, onErr func(error)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.auto, q.ctx, q.onErr = true, ctx, onErr
	if tw, ok := q.c.(TryWriter); ok {
		q.try = tw.CanTryWrite()
	}
	if !q.try {
		q.writeFn = func() { q.writeOut(nil, nil) }
	}
	if len(q.frames) > 0 && q.state != queueClosed {
		q.writing = true
		q.writers.Add(1)
		q.startWriter() // pushing under q.mu is fine: writers lock q.mu after the list
	}
}

// writeShared is the turn of a shared writer (writerpool.go): it writes
// the queued frames without waiting, then puts the queue back on the
// ready list if more came meanwhile. If the socket does not take them, a
// writer of the queue's own takes over.
func (q *Queue) writeShared() {
	q.mu.Lock()
	batch := q.takeLocked()
	if batch == nil {
		q.idleLocked()
		q.mu.Unlock()
		q.writers.Done()
		return
	}
	q.mu.Unlock()
	var finish func(context.Context) error
	err := ErrWouldBlock // with ctx ended, let Write report it, as without shared writers
	if q.ctx.Err() == nil {
		finish, err = q.c.(TryWriter).TryWrite(batch)
	}
	if finish != nil || err == ErrWouldBlock {
		writers.Go(func() { q.writeOut(batch, finish) })
		return
	}
	q.wrote(batch)
	if err != nil {
		q.failed(err)
		q.writers.Done()
		return
	}
	q.mu.Lock()
	if len(q.frames) == 0 || q.state == queueClosed {
		q.idleLocked()
		q.mu.Unlock()
		q.writers.Done()
		return
	}
	q.mu.Unlock()
	shared.push(q)
}

// writeOut is an on-demand writer of the queue's own: it writes, waiting
// for the socket, until the queue is empty. A shared writer hands it the
// batch the socket did not take (with finish if it took part of it).
func (q *Queue) writeOut(batch [][]byte, finish func(context.Context) error) {
	defer q.writers.Done()
	if batch != nil {
		var err error
		if finish != nil {
			err = finish(q.ctx)
			q.wrote(batch)
		} else {
			err = q.write(q.ctx, batch)
		}
		if err != nil {
			q.failed(err)
			return
		}
	}
	for {
		q.mu.Lock()
		batch := q.takeLocked()
		if batch == nil {
			q.idleLocked()
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		if err := q.write(q.ctx, batch); err != nil {
			q.failed(err)
			return
		}
	}
}

// idleLocked records that the on-demand writer leaves an empty (or
// closed) queue; q.mu must be held.
func (q *Queue) idleLocked() {
	q.writing = false
	switch q.state {
	case queueDraining:
		q.drainedLocked()
	case queueClosed:
		q.stopped = true
		q.settleLocked()
	}
	q.frames, q.spare = release(q.frames), release(q.spare)
}

// failed stops the queue after the on-demand writer's write failed.
func (q *Queue) failed(err error) {
	q.mu.Lock()
	q.writing = false
	q.stopLocked(err)
	q.mu.Unlock()
	q.onErr(err)
}

// Wait waits until no on-demand writer is running; after Close none starts
// again. A Write in progress is not interrupted: close the Conn to end it.
func (q *Queue) Wait() { q.writers.Wait() }

// stopLocked records that the writer stopped for good; q.mu must be held.
func (q *Queue) stopLocked(err error) {
	q.state = queueClosed
	q.discardLocked()
	q.err = err
	q.stopped = true
	q.settleLocked()
}

// drainedLocked records that a Drain's frames are all written.
func (q *Queue) drainedLocked() {
	q.drained = true
	q.settleLocked()
}

func (q *Queue) settleLocked() {
	if q.settle != nil && !q.settled {
		close(q.settle)
	}
	q.settled = true
}

// Drain stops accepting frames and waits until the writer has written
// every queued frame (nil), the writer failed (its error), or ctx ended
// (ctx.Err()). Run returns once the queue is drained. Drain does not close
// the Conn.
func (q *Queue) Drain(ctx context.Context) error {
	q.mu.Lock()
	if q.state == queueOpen {
		q.state = queueDraining
	}
	if q.auto && !q.writing && !q.stopped {
		q.drainedLocked() // nothing queued: an on-demand writer runs while there is
	}
	if q.settle == nil {
		q.settle = make(chan struct{})
		if q.settled {
			close(q.settle)
		}
	}
	settle, wake := q.settle, q.wake
	q.mu.Unlock()
	notify(wake)
	select {
	case <-settle:
	case <-ctx.Done():
		return ctx.Err()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.drained:
		return nil
	case q.err != nil:
		return q.err
	}
	return ErrClosed // closed before everything was written
}

// Close stops accepting frames, discards those not yet written and makes
// the writer stop. A Write already in progress is not interrupted: close
// the Conn as well to abort it. Close is idempotent.
func (q *Queue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.state = queueClosed
	q.discardLocked()
	if q.done != nil && !q.stopped {
		select {
		case <-q.done:
		default:
			close(q.done)
		}
	}
	if q.auto && !q.writing {
		q.stopped = true
		q.settleLocked()
	}
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
