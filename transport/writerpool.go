package transport

import (
	"runtime"
	"sync"
	"time"
)

// Shared writers. Queues whose Conn can write without waiting (TryWriter)
// are written by a few goroutines shared by all of them, fed by a list of
// queues that have frames: a fan-out burst that makes a thousand queues
// non-empty wakes one goroutine (none when one is awake), which then
// writes each queue's whole batch with one non-blocking write. Starting
// or waking a goroutine per queue instead costs more than the write on
// one core: the burst's loop runs before any writer, so each Send found no
// parked goroutine and started one.
//
// A queue whose socket does not take its batch is handed to a goroutine
// of its own (Queue.writeOut, on writers), which writes blocking until the
// queue is empty; a peer that does not read never holds a shared writer.

// poolLinger is how long a shared writer waits for work before it exits,
// so that an idle process keeps none.
const poolLinger = 50 * time.Millisecond

// backlogPerWriter is how many ready queues per awake writer make Send
// wake or start another one (up to maxWriters).
const backlogPerWriter = 64

// writerPool is the list of queues waiting for a shared writer, and the
// writers' counts.
type writerPool struct {
	mu     sync.Mutex
	ready  []*Queue      // the next round
	spare  []*Queue      // an empty round's slice, for reuse
	awake  int           // writers running or signalled
	parked int           // writers waiting on wake, not signalled
	wake   chan struct{} // a token per signalled parked writer
}

var shared = newWriterPool()

func newWriterPool() *writerPool {
	return &writerPool{wake: make(chan struct{}, maxWriters())}
}

// maxWriters bounds the shared writers: their writes never wait, so more
// than there are Ps to run them only adds switches.
func maxWriters() int { return runtime.GOMAXPROCS(0) }

// push adds q, which has frames and no writer, to the ready list, and
// makes sure a writer will take it.
func (p *writerPool) push(q *Queue) {
	p.mu.Lock()
	p.ready = append(p.ready, q)
	if p.awake == 0 || (len(p.ready) > backlogPerWriter*p.awake && p.awake < cap(p.wake)) {
		p.rouseLocked()
	}
	p.mu.Unlock()
}

// rouseLocked wakes a parked writer or starts one; p.mu must be held.
// The token is sent under p.mu, so a writer giving up waiting (work) sees
// it or is still counted as parked.
func (p *writerPool) rouseLocked() {
	p.awake++
	if p.parked > 0 {
		p.parked--
		p.wake <- struct{}{} // never blocks: fewer tokens than parked writers
		return
	}
	go p.work()
}

// work is a shared writer: it writes ready queues until there are none
// for poolLinger. It takes the ready list a round at a time and writes a
// round last pushed first: in a burst, the last queue made ready is the
// one whose peer waits to send more (PUBLISHED after the events, a RESULT
// to a caller), and writing it first lets the next burst come sooner and
// coalesce more (a fresh goroutine per queue got the same order from the
// scheduler, which runs the last one readied first). Queues pushed during
// a round wait for the next one, so none waits for more than a round.
func (p *writerPool) work() {
	t := time.NewTimer(poolLinger)
	defer t.Stop()
	p.mu.Lock()
	for {
		if round := p.ready; len(round) > 0 {
			p.ready, p.spare = p.spare[:0], nil
			p.mu.Unlock()
			for i := len(round) - 1; i >= 0; i-- {
				q := round[i]
				round[i] = nil
				q.writeShared()
			}
			p.mu.Lock()
			if cap(round) > cap(p.spare) {
				p.spare = round[:0]
			}
			continue
		}
		p.awake--
		p.parked++
		p.mu.Unlock()
		t.Reset(poolLinger)
		select {
		case <-p.wake:
			p.mu.Lock()
			continue
		case <-t.C:
		}
		p.mu.Lock()
		select {
		case <-p.wake: // signalled as the timer fired
			continue
		default:
		}
		p.parked--
		p.mu.Unlock()
		return
	}
}
