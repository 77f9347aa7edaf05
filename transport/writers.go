package transport

import (
	"time"

	"github.com/tollgate-wamp/tollgate/internal/linger"
)

// A queue's own on-demand writers (Queue.writeOut: connections that cannot
// write without waiting, such as TLS, and queues whose socket is full) run
// on goroutines that linger for a moment after their queue emptied and
// then take the next queue that needs a writer: a fresh goroutine would
// grow its stack to what a write needs (a stack copy) for every burst.
// Only writing connections use them: an idle connection has none, an idle
// process none after 50 ms. The others share writerpool.go's writers.
var writers = linger.New(50 * time.Millisecond)
