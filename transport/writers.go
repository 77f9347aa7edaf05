package transport

import "time"

// On-demand writers (Queue.Start) run on goroutines that linger for a
// moment after their queue emptied and then take the next queue that
// needs a writer. A fresh goroutine would grow its stack to what a write
// needs (2 KiB to 4 KiB and more: a stack copy) for every burst; a
// lingering one has grown already. Only writing connections use them: an
// idle connection has none, and an idle process none after writerLinger.
const writerLinger = 50 * time.Millisecond

// idleWriters hands a queue to a lingering writer; unbuffered, so a send
// succeeds only if one is waiting.
var idleWriters = make(chan *Queue)

// startWriter runs q.writeOut on a lingering writer, or a new one.
func startWriter(q *Queue) {
	select {
	case idleWriters <- q:
	default:
		go writer(q)
	}
}

func writer(q *Queue) {
	t := time.NewTimer(writerLinger)
	defer t.Stop()
	for {
		q.writeOut()
		t.Reset(writerLinger)
		select {
		case q = <-idleWriters:
		case <-t.C:
			return
		}
	}
}
