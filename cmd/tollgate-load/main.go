// Command tollgate-load drives a WAMP router on this machine (loopback
// only) with RPC or pub/sub traffic and reports throughput and latency.
// See docs/load.md and `tollgate-load -h`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/tollgate-wamp/tollgate/internal/load"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := load.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
