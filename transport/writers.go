package transport

import (
	"time"

	"github.com/tollgate-wamp/tollgate/internal/linger"
)

// On-demand writers (Queue.Start) run on goroutines that linger for a
// moment after their queue emptied and then take the next queue that
// needs a writer: a fresh goroutine would grow its stack to what a write
// needs (a stack copy) for every burst. Only writing connections use
// them: an idle connection has none, an idle process none after 50 ms.
var writers = linger.New(50 * time.Millisecond)
