package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Main runs the tollgate-load command: it parses args, runs the load and
// prints the result (text, or JSON with -json) on stdout. Problems go to
// stderr. It returns the exit code: 0 on success, 1 when the run failed
// or a measured request failed, 2 for a usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "echo" || args[0] == "echo-serve") {
		return echoMain(ctx, args, stdout, stderr)
	}
	if len(args) > 0 && (args[0] == "session-serve" || args[0] == "relay-serve" || args[0] == "pingpong") {
		return floorMain(ctx, args, stdout, stderr)
	}
	cfg, jsonOut, err := ParseArgs(args)
	if errors.Is(err, ErrHelp) {
		fmt.Fprint(stdout, Usage)
		PrintDefaults(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "%v\nrun 'tollgate-load -h' for usage\n", err)
		return 2
	}
	if !jsonOut {
		fmt.Fprintf(stderr, "tollgate-load: %s against %s for %v (warm-up %v)…\n", cfg.Scenario, cfg.URL, cfg.Duration, cfg.Warmup)
	}
	res, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	} else {
		res.WriteText(stdout)
	}
	if why := res.Failed(); why != "" {
		fmt.Fprintf(stderr, "tollgate-load: FAILED: %s\n", why)
		return 1
	}
	return 0
}

// WriteText writes a human-readable report.
func (r *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "scenario    %s  %s  realm %s  serializer %s\n", r.Scenario, r.URL, r.Realm, r.Serializer)
	role := "callers"
	switch r.Scenario {
	case ScenarioPublish:
		role = "publishers"
	case ScenarioSessions:
		role = "workers"
	}
	pace := "unpaced"
	if r.Rate > 0 {
		pace = fmt.Sprintf("paced at %.0f/s", r.Rate)
	}
	if r.Idle == nil && r.Storm == nil {
		fmt.Fprintf(w, "load        %d %s × %d in flight, %s, payload %d B, warm-up %v, GOMAXPROCS %d of %d CPUs\n",
			r.Sessions, role, r.InFlight, pace, r.Size, r.Warmup, r.GOMAXPROCS, r.NumCPU)
	}
	fmt.Fprintf(w, "measured    %v", r.Elapsed.Round(time.Millisecond))
	if r.Interrupted {
		fmt.Fprint(w, " (interrupted)")
	}
	fmt.Fprintln(w)
	if c := r.Call; c != nil {
		fmt.Fprintf(w, "calls       %d  (%.0f/s)\n", c.Calls, c.Rate)
		writeLatency(w, "latency", c.Latency)
		writeErrors(w, c.ErrorCount, c.Errors)
	}
	if p := r.Publish; p != nil {
		mode := "not acknowledged"
		if p.Ack {
			mode = "acknowledged"
		}
		fmt.Fprintf(w, "publishes   %d  (%.0f/s, %s)", p.Publishes, p.PublishRate, mode)
		if p.Backpressure > 0 {
			fmt.Fprintf(w, ", %d pauses on a full client queue", p.Backpressure)
		}
		fmt.Fprintln(w)
		subs := ""
		if len(p.SubSerializers) > 0 {
			subs = " " + strings.Join(p.SubSerializers, "/")
		}
		fmt.Fprintf(w, "events      %d delivered of %d expected (%d%s subscribers)  (%.0f/s)\n",
			p.Delivered, p.Expected, p.Subscribers, subs, p.DeliveryRate)
		fmt.Fprintf(w, "lost        %d", p.Lost)
		if p.Extra > 0 {
			fmt.Fprintf(w, "  extra %d", p.Extra)
		}
		if p.SubscribersLost > 0 {
			fmt.Fprintf(w, "  subscriber sessions lost %d (slow-consumer policy? try -rate)", p.SubscribersLost)
		}
		if p.Duplicated > 0 || p.Reordered > 0 {
			fmt.Fprintf(w, "  duplicated %d  reordered %d", p.Duplicated, p.Reordered)
		}
		if p.BadEvents > 0 {
			fmt.Fprintf(w, "  events without timestamp %d", p.BadEvents)
		}
		fmt.Fprintln(w)
		writeLatency(w, "delivery", p.Latency)
		if p.AckLatency != nil {
			writeLatency(w, "ack", *p.AckLatency)
		}
		writeErrors(w, p.ErrorCount, p.Errors)
	}
	r.writeMore(w)
}

// writeMore writes the sessions, idle and CPU lines.
func (r *Result) writeMore(w io.Writer) {
	if s := r.Session; s != nil {
		fmt.Fprintf(w, "sessions    %d opened and closed  (%.0f/s)\n", s.Sessions, s.Rate)
		writeLatency(w, "open+close", s.Latency)
		writeErrors(w, s.ErrorCount, s.Errors)
	}
	if s := r.Storm; s != nil {
		writeStorm(w, s)
	}
	if i := r.Idle; i != nil {
		kib := func(b int64) string { return fmt.Sprintf("%.1f KiB", float64(b)/1024) }
		fmt.Fprintf(w, "idle        %d sessions held, router RSS %s before, %s held (%s per session), %s after closing\n",
			i.Held, kib(i.Baseline), kib(i.HeldRSS), kib(i.PerSession), kib(i.AfterRSS))
		if i.Lost > 0 {
			fmt.Fprintf(w, "lost        %d held sessions ended early\n", i.Lost)
		}
	}
	if c := r.CPU; c != nil {
		fmt.Fprintf(w, "cpu         load %.2fs (%.2f cores)", c.Load.Seconds(), c.LoadUse)
		if c.RouterPID > 0 {
			fmt.Fprintf(w, "  router %.2fs (%.2f cores), %.0f per router CPU-second", c.Router.Seconds(), c.RouterUse, c.PerRouterCPUSecond)
		}
		fmt.Fprintln(w)
	}
}

func writeLatency(w io.Writer, name string, l Latency) {
	f := func(d time.Duration) string { return fmtDur(d) }
	fmt.Fprintf(w, "%-11s min %s  mean %s  p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		name, f(l.Min), f(l.Mean), f(l.P50), f(l.P90), f(l.P99), f(l.P999), f(l.Max))
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func writeErrors(w io.Writer, n int64, m map[string]int64) {
	fmt.Fprintf(w, "errors      %d\n", n)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(w, "  %8d  %s\n", m[k], k)
	}
}
