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

// floorMain runs the session ceiling's server and the latency floor's two
// halves (see ceiling.go, pingpong.go):
//
//	tollgate-load session-serve tcp|ws 127.0.0.1:PORT
//	tollgate-load relay-serve 127.0.0.1:PORT
//	tollgate-load pingpong [-size 64] [-warmup 1s] [-d 5s] [-router-pid PID] [-json] 127.0.0.1:PORT
//
// The session ceiling's client is the sessions scenario, pointed at
// tcp://127.0.0.1:PORT or ws://127.0.0.1:PORT/ws.
func floorMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	size := fs.Int("size", 64, "pingpong: message bytes")
	warmup := fs.Duration("warmup", time.Second, "pingpong: unmeasured warm-up")
	d := fs.Duration("d", 5*time.Second, "pingpong: measured duration")
	pid := fs.Int("router-pid", 0, "pingpong: the relay's pid (its CPU is read)")
	jsonOut := fs.Bool("json", false, "pingpong: print the result as JSON")
	var pos []string // flags may come after the arguments too
	for rest := args[1:]; ; rest = fs.Args()[1:] {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
	}
	want, framing := 1, ""
	if args[0] == "session-serve" {
		want, framing = 2, "tcp|ws "
	}
	if len(pos) != want || (want == 2 && pos[0] != "tcp" && pos[0] != "ws") ||
		*size < 1 || *size > 1<<20 || *d <= 0 || *d > MaxDuration || *warmup < 0 {
		fmt.Fprintf(stderr, "usage: tollgate-load %s [flags] %s127.0.0.1:PORT\n", args[0], framing)
		return 2
	}
	addr := pos[want-1]
	if err := CheckLoopback(ctx, "tcp://"+addr); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if args[0] == "pingpong" {
		res, err := RunPingPong(ctx, addr, *size, *warmup, *d, *pid)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if *jsonOut {
			json.NewEncoder(stdout).Encode(res)
			return 0
		}
		fmt.Fprintf(stdout, "pingpong    %s: %d round trips in %v\n", addr, res.RoundTrips, res.Elapsed.Round(time.Millisecond))
		writeLatency(stdout, "latency", res.Latency)
		return 0
	}
	if args[0] == "relay-serve" {
		return serveUntilDone(ctx, addr, stderr, ServeRelay)
	}
	return serveUntilDone(ctx, addr, stderr, func(ln net.Listener) error { return ServeSessions(ln, pos[0] == "ws") })
}
