package load

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Scenarios.
const (
	ScenarioCall     = "call"
	ScenarioPublish  = "publish"
	ScenarioRPCLat   = "rpc-lat"  // call with one caller, one call in flight
	ScenarioSessions = "sessions" // open and close sessions
	ScenarioIdle     = "idle"     // hold -hold sessions, read the router's RSS
	ScenarioStorm    = "storm"    // -hold sessions join at once
)

// Limits that keep a run bounded.
const (
	MaxDuration = time.Hour
	MaxWorkers  = 4096 // sessions × inflight
	MaxSize     = 4 << 20
	MaxSubs     = 1000
	MaxRate     = 10_000_000
	MaxHold     = 50_000
)

// Config describes one load run. Use DefaultConfig for the documented
// defaults; Run validates it.
type Config struct {
	// URL of the router: ws://, wss://, tcp://, tls:// or unix://. The host
	// must resolve to loopback addresses only.
	URL string
	// Scenario is "call" or "publish".
	Scenario string
	// Realm to join. Default "realm1".
	Realm string
	// Serializer: "json" (default), "msgpack" or "cbor".
	Serializer string
	// AuthID and Ticket select ticket authentication (both needed); AuthID
	// alone is sent with anonymous authentication.
	AuthID string
	Ticket string

	// Sessions is the number of caller (call) or publisher (publish)
	// sessions. Default 4.
	Sessions int
	// InFlight is the number of requests each of those sessions keeps
	// outstanding (one goroutine each). Default 1.
	InFlight int
	// Duration of the measured phase. Default 10s, at most MaxDuration.
	Duration time.Duration
	// Count, if > 0, ends the measured phase after this many requests
	// (calls or publishes), or at Duration, whichever comes first.
	Count int64
	// Rate, if > 0, paces the requests of all workers together to about
	// this many per second (spread evenly over the Sessions × InFlight
	// workers). 0 means as fast as the in-flight limit allows. Use it for
	// unacknowledged publishes, which otherwise flood the router.
	Rate float64
	// Size is the payload's padding in bytes. Default 64.
	Size int
	// Warmup runs traffic for this long before measuring; its results are
	// discarded. Default 1s; 0 is allowed.
	Warmup time.Duration
	// Timeout bounds each request (call, acknowledged publish), each join,
	// and the final wait for events in flight. Default 10s.
	Timeout time.Duration

	// Subscribers is the number of subscriber sessions (publish). Default 10.
	Subscribers int
	// Ack asks for acknowledged publications (publish).
	Ack bool
	// Prefix is the start of the procedure and topic URIs; a random run id
	// is appended so that runs never see each other's traffic. Default
	// "loadtest" (routers reserve wamp.* and tollgate.*).
	Prefix string

	// RouterPID, if > 0, is the router's process id: the result then has
	// the router's CPU time (from /proc) and work per router CPU-second.
	// The idle scenario needs it for the router's RSS.
	RouterPID int
	// Hold is the number of sessions the idle scenario holds. Default 1000.
	Hold int
	// SubSerializers, if set, are the subscribers' serializers (publish),
	// assigned in turn; the publishers use Serializer.
	SubSerializers []string
	// AuthBackend, if set, is a URL where the tool joins without
	// credentials and registers AuthProc as the router's dynamic ticket
	// authenticator (needs AuthID and Ticket): it accepts that pair as
	// AuthRole. Defaults "loadtest.authenticate" and "user".
	AuthBackend, AuthProc, AuthRole string
	// AuthLatency is how long each call to that authenticator takes.
	AuthLatency time.Duration
}

// DefaultConfig returns the defaults for scenario (no URL).
func DefaultConfig(scenario string) Config {
	return Config{
		Scenario:    scenario,
		Realm:       "realm1",
		Serializer:  "json",
		Sessions:    4,
		InFlight:    1,
		Duration:    10 * time.Second,
		Size:        64,
		Warmup:      time.Second,
		Timeout:     10 * time.Second,
		Subscribers: 10,
		Prefix:      "loadtest",
		Hold:        1000,
		AuthProc:    "loadtest.authenticate",
		AuthRole:    "user",
	}
}

// Validate reports every problem with c at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf("load: "+format, a...)) }
	if c.URL == "" {
		bad("a router URL is required")
	}
	switch c.Scenario {
	case ScenarioCall, ScenarioPublish, ScenarioRPCLat, ScenarioSessions:
	case ScenarioIdle, ScenarioStorm:
		if c.RouterPID <= 0 && c.Scenario == ScenarioIdle {
			errs = append(errs, errNoPID)
		}
		if c.Hold < 1 || c.Hold > MaxHold {
			bad("-hold must be 1..%d, got %d", MaxHold, c.Hold)
		}
	default:
		bad("unknown scenario %q (want call, publish, rpc-lat, sessions, idle or storm)", c.Scenario)
	}
	if c.AuthLatency < 0 || c.AuthLatency > time.Minute {
		bad("-auth-latency must be 0..1m, got %v", c.AuthLatency)
	}
	if c.RouterPID < 0 {
		bad("-router-pid must not be negative, got %d", c.RouterPID)
	}
	if c.AuthBackend != "" && c.Ticket == "" {
		bad("-authenticator needs -authid and -ticket")
	}
	if !wamp.ValidURI(wamp.URI(c.AuthProc), false, "") || c.AuthRole == "" {
		bad("-authenticator-proc %q / -auth-role %q: want a URI and a role", c.AuthProc, c.AuthRole)
	}
	for _, s := range c.SubSerializers {
		if !validSerializer(s) {
			bad("-sub-serializers %q: want json, msgpack or cbor", s)
		}
	}
	if c.Realm == "" || !wamp.ValidURI(wamp.URI(c.Realm), false, "") {
		bad("-realm %q is not a valid URI", c.Realm)
	}
	if !validSerializer(c.Serializer) {
		bad("-serializer %q: want json, msgpack or cbor", c.Serializer)
	}
	if c.Ticket != "" && c.AuthID == "" {
		bad("-ticket needs -authid")
	}
	if c.Sessions < 1 {
		bad("-c must be at least 1, got %d", c.Sessions)
	}
	if c.InFlight < 1 {
		bad("-inflight must be at least 1, got %d", c.InFlight)
	}
	if c.Sessions >= 1 && c.InFlight >= 1 && c.Sessions*c.InFlight > MaxWorkers {
		bad("-c × -inflight = %d exceeds %d", c.Sessions*c.InFlight, MaxWorkers)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		bad("-d must be > 0 and at most %v, got %v", MaxDuration, c.Duration)
	}
	if c.Count < 0 {
		bad("-n must not be negative, got %d", c.Count)
	}
	if c.Rate < 0 || c.Rate > MaxRate || c.Rate != c.Rate {
		bad("-rate must be 0..%d per second, got %v", MaxRate, c.Rate)
	}
	if c.Size < 0 || c.Size > MaxSize {
		bad("-size must be 0..%d bytes, got %d", MaxSize, c.Size)
	}
	if c.Warmup < 0 || c.Warmup > MaxDuration {
		bad("-warmup must be 0..%v, got %v", MaxDuration, c.Warmup)
	}
	if c.Timeout <= 0 || c.Timeout > MaxDuration {
		bad("-timeout must be > 0 and at most %v, got %v", MaxDuration, c.Timeout)
	}
	if c.Scenario == ScenarioPublish && (c.Subscribers < 1 || c.Subscribers > MaxSubs) {
		bad("-subs must be 1..%d, got %d", MaxSubs, c.Subscribers)
	}
	if c.Prefix == "" || !wamp.ValidURI(wamp.URI(c.Prefix), true, "") {
		bad("-prefix %q is not a valid strict URI", c.Prefix)
	}
	return errors.Join(errs...)
}

func validSerializer(s string) bool { return s == "json" || s == "msgpack" || s == "cbor" }

// Usage is the command's help text.
const Usage = `usage: tollgate-load [call|publish|rpc-lat|sessions|idle|storm] [flags] URL

Drives a WAMP router on this machine and reports throughput and latency.
URL: ws://127.0.0.1:8080/ws, tcp://127.0.0.1:8081, unix:///path (loopback only).

Scenarios:
  call     one callee registers an echo procedure; -c callers keep -inflight calls each
  publish  -c publishers publish to one topic with -subs subscribers
           (-sub-serializers msgpack,cbor: cross-serializer delivery)
  rpc-lat  call with one caller and one call in flight (round-trip latency)
  sessions -c × -inflight workers open a session and close it, again and again
  idle     hold -hold sessions for -d and report the router's RSS per session
           (needs -router-pid)
  storm    -hold sessions join at the same moment; every login must be answered
           (with -authenticator and -auth-latency: a reconnect storm on the backend)

Flags:
`

// ErrHelp is returned by ParseArgs for -h / -help.
var ErrHelp = flag.ErrHelp

// ParseArgs parses the command line: an optional scenario (default call),
// the URL, and flags before or after them. JSON reports -json. The ticket
// may also come from $TOLLGATE_LOAD_TICKET, which keeps it out of ps.
func ParseArgs(args []string) (cfg Config, jsonOut bool, err error) {
	cfg = DefaultConfig(ScenarioCall)
	fs := newFlagSet(&cfg, &jsonOut)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return cfg, false, ErrHelp
			}
			return cfg, false, fmt.Errorf("load: %w", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(pos) {
	case 0:
		return cfg, false, errors.New("load: a router URL is required")
	case 1:
		cfg.URL = pos[0]
	case 2:
		cfg.Scenario, cfg.URL = pos[0], pos[1]
	default:
		return cfg, false, fmt.Errorf("load: too many arguments: %s", strings.Join(pos, " "))
	}
	if cfg.Ticket == "" {
		cfg.Ticket = os.Getenv("TOLLGATE_LOAD_TICKET")
	}

	return cfg, jsonOut, cfg.Validate()
}

func newFlagSet(c *Config, jsonOut *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("tollgate-load", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&c.Sessions, "c", c.Sessions, "caller (call) or publisher (publish) sessions")
	fs.IntVar(&c.InFlight, "inflight", c.InFlight, "requests in flight per session")
	fs.DurationVar(&c.Duration, "d", c.Duration, "measured duration (at most 1h)")
	fs.Int64Var(&c.Count, "n", c.Count, "stop after this many measured requests (0: duration only)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "total requests per second, paced (0: unpaced)")
	fs.IntVar(&c.Size, "size", c.Size, "payload padding in bytes")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "unmeasured warm-up before the measured phase")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "per request, per join, and for the final event drain")
	fs.IntVar(&c.Subscribers, "subs", c.Subscribers, "subscriber sessions (publish)")
	fs.BoolVar(&c.Ack, "ack", c.Ack, "acknowledged publications (publish)")
	fs.StringVar(&c.Realm, "realm", c.Realm, "realm to join")
	fs.StringVar(&c.Serializer, "serializer", c.Serializer, "json, msgpack or cbor")
	fs.StringVar(&c.AuthID, "authid", c.AuthID, "authid (with -ticket: ticket auth)")
	fs.StringVar(&c.Ticket, "ticket", c.Ticket, "ticket for ticket auth (or $TOLLGATE_LOAD_TICKET)")
	fs.StringVar(&c.Prefix, "prefix", c.Prefix, "URI prefix for the procedure and topic (a run id is appended)")
	fs.IntVar(&c.RouterPID, "router-pid", c.RouterPID, "router process id: report its CPU (and RSS for idle) from /proc")
	fs.IntVar(&c.Hold, "hold", c.Hold, "sessions held open (idle), or joining at once (storm)")
	fs.Func("sub-serializers", "subscribers' serializers, comma-separated, assigned in turn (publish)", func(v string) error {
		c.SubSerializers = strings.Split(v, ",")
		return nil
	})
	fs.StringVar(&c.AuthBackend, "authenticator", c.AuthBackend, "URL: join here without credentials and serve -authenticator-proc as the dynamic ticket authenticator")
	fs.StringVar(&c.AuthProc, "authenticator-proc", c.AuthProc, "procedure the router calls to authenticate (with -authenticator)")
	fs.StringVar(&c.AuthRole, "auth-role", c.AuthRole, "role the authenticator gives (with -authenticator)")
	fs.DurationVar(&c.AuthLatency, "auth-latency", c.AuthLatency, "how long each authenticator call takes (with -authenticator)")
	fs.BoolVar(jsonOut, "json", false, "print the result as JSON on stdout")
	return fs
}

// PrintDefaults writes the flag list (for the usage text).
func PrintDefaults(w io.Writer) {
	c := DefaultConfig(ScenarioCall)
	var j bool
	fs := newFlagSet(&c, &j)
	fs.SetOutput(w)
	fs.PrintDefaults()
}
