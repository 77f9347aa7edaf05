package load

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// echoMain runs the loopback ceiling's two halves:
//
//	tollgate-load echo-serve [-per-frame] tcp|ws 127.0.0.1:PORT
//	tollgate-load echo [-c 1] [-window 64] [-size 64] [-d 5s] [-router-pid PID] tcp|ws 127.0.0.1:PORT
func echoMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	perFrame := fs.Bool("per-frame", false, "echo-serve: one write(2) per frame instead of coalesced")
	conns := fs.Int("c", 1, "echo: connections")
	window := fs.Int("window", 64, "echo: frames in flight per connection")
	size := fs.Int("size", 64, "echo: payload bytes (≤ 125)")
	d := fs.Duration("d", 5*time.Second, "echo: duration")
	pid := fs.Int("router-pid", 0, "echo: the echo server's pid (its CPU is read)")
	jsonOut := fs.Bool("json", false, "echo: print the result as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() != 2 || (fs.Arg(0) != "tcp" && fs.Arg(0) != "ws") || *size < 0 || *size > 125 || *conns < 1 || *window < 1 {
		fmt.Fprintf(stderr, "usage: tollgate-load %s [flags] tcp|ws 127.0.0.1:PORT (size ≤ 125)\n", args[0])
		return 2
	}
	f, addr := EchoFraming(fs.Arg(0)), fs.Arg(1)
	if err := CheckLoopback(ctx, "tcp://"+addr); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if args[0] == "echo-serve" {
		return serveUntilDone(ctx, addr, stderr, func(ln net.Listener) error { return ServeEcho(ln, f, *perFrame) })
	}
	res, err := RunEcho(ctx, addr, f, *conns, *window, *size, *d, *pid)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *jsonOut {
		json.NewEncoder(stdout).Encode(res)
		return 0
	}
	fmt.Fprintf(stdout, "echo        %s %s: %d frames in %v (%.0f/s)\n", f, addr, res.Frames, res.Elapsed.Round(time.Millisecond), rate(res.Frames, res.Elapsed))
	if c := res.CPU; c != nil && c.RouterPID > 0 {
		fmt.Fprintf(stdout, "cpu         load %.2fs  server %.2fs, %.0f per server CPU-second\n", c.Load.Seconds(), c.Router.Seconds(), c.PerRouterCPUSecond)
	}
	return 0
}

// serveUntilDone listens on addr and runs serve until ctx ends, which
// closes the listener; it returns the command's exit code.
func serveUntilDone(ctx context.Context, addr string, stderr io.Writer, serve func(net.Listener) error) int {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	go func() { <-ctx.Done(); ln.Close() }()
	serve(ln) // returns once ln is closed
	return 0
}
