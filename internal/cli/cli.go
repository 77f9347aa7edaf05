package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/router"
)

// shutdownTimeout bounds the graceful shutdown after the context ends.
const shutdownTimeout = 10 * time.Second

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed (bad config, cannot listen)
	exitUsage = 2 // the command line is wrong
)

// stdio is a command's standard streams.
type stdio struct {
	in          io.Reader
	out, errOut io.Writer
}

type command struct {
	name    string
	args    string
	summary string
	run     func(ctx context.Context, args []string, s stdio) int
}

// commands is the subcommand table.
var commands []command

func init() {
	commands = []command{
		{"start", "[--config FILE] [--strict] [--log-level LEVEL] [--log-format FORMAT] [--audit-log FILE]", "run the router", runStart},
		{"check", "[--strict] FILE", "validate a config file and print every problem", runCheck},
		{"authz", "check --config FILE --realm R (--role ROLE --uri U --action A | < TABLE)", "evaluate a config's static permissions offline (exit 0 allow, 1 deny)", runAuthz},
		{"status", "[--url URL | --config FILE] [--json]", "print a running router's status (its metrics listener's /status)", runStatus},
		{"passwd", "[--password-stdin]", "hash a ticket (password) for a static ticket principal", runPasswd},
		{"keygen", "[--out FILE]", "make an Ed25519 key pair for cryptosign", runKeygen},
		{"version", "", "print the version", runVersion},
		{"help", "", "print this help", runHelp},
	}
}

// Main runs the tollgate command line args (without the program name) and
// returns the process exit code: 0 success, 1 failure, 2 usage error.
// start runs until ctx is cancelled, then shuts the router down. passwd
// reads the password from stdin (prompting without echo when stdin is a
// terminal *os.File).
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return exitOK
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		name = "help"
	case "-version", "--version":
		name = "version"
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, args[1:], stdio{stdin, stdout, stderr})
		}
	}
	fmt.Fprintf(stderr, "tollgate: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Tollgate is a WAMP router.\n\nUsage:\n")
	for _, c := range commands {
		line := "tollgate " + c.name
		if c.args != "" {
			line += " " + c.args
		}
		fmt.Fprintf(w, "  %s\n      %s\n", line, c.summary)
	}
	fmt.Fprint(w, `
Without --config, start runs the embedded development default: realm
"realm1", anyone may do anything, WebSocket at ws://127.0.0.1:8080/ws and
RawSocket at tcp://127.0.0.1:8081.

Config files are Crossbar node configs (version 2) in YAML or JSON; see
docs/config.md. passwd prints an argon2id hash for a ticket principal's
"ticket"; keygen prints a public key for "authorized_keys" and the private
key for the client.
`)
}

func runHelp(_ context.Context, _ []string, s stdio) int {
	usage(s.out)
	return exitOK
}

func runVersion(_ context.Context, args []string, s stdio) int {
	if len(args) > 0 {
		fmt.Fprintln(s.errOut, "tollgate version: takes no arguments")
		return exitUsage
	}
	// The same value WELCOME's agent carries (router/version.go).
	fmt.Fprintf(s.out, "tollgate %s\n", router.Version)
	return exitOK
}

func runCheck(_ context.Context, args []string, s stdio) int {
	stdout, stderr := s.out, s.errOut
	strict := len(args) > 0 && args[0] == "--strict"
	if strict {
		args = args[1:]
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: tollgate check [--strict] FILE")
		return exitUsage
	}
	cfg, warns, err := config.Load(args[0])
	if err == nil {
		// Opening nothing, but reading the TLS files catches missing ones.
		_, err = cfg.Listeners()
	}
	if err == nil && strict && len(warns) > 0 {
		err = strictError(warns)
		warns = nil
	}
	if err != nil {
		for _, w := range warns {
			fmt.Fprintf(stderr, "warning: %s\n", w)
		}
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	for _, w := range warns {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	fmt.Fprintf(stdout, "config OK: %s\n", cfg.Summary())
	return exitOK
}

func runStart(ctx context.Context, args []string, s stdio) int {
	stderr := s.errOut
	fs := flag.NewFlagSet("tollgate start", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgFile := fs.String("config", "", "config `FILE` (.yaml, .yml or .json); default: the embedded development config")
	level := fs.String("log-level", "info", "log `LEVEL`: debug, info, warn or error")
	format := fs.String("log-format", "text", "log `FORMAT`: text or json")
	strict := fs.Bool("strict", false, "refuse a config that has warnings (for CI: every skipped or ignored key is an error)")
	auditPath := fs.String("audit-log", "", "audit log `FILE` (JSON lines; - for stdout) for realms with options.audit; reopened on SIGHUP")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tollgate start: unexpected argument %q (use --config FILE)\n", fs.Arg(0))
		return exitUsage
	}
	log, lv, err := newLeveledLogger(stderr, *level, *format)
	if err != nil {
		fmt.Fprintf(stderr, "tollgate start: %v\n", err)
		return exitUsage
	}

	cfg, code := loadConfig(*cfgFile, *strict, log, stderr)
	if cfg == nil {
		return code
	}
	listeners, err := cfg.Listeners()
	if err != nil {
		fmt.Fprintf(stderr, "tollgate start: invalid config:\n%v\n", err)
		return exitFail
	}
	if len(listeners) == 0 && len(cfg.Guests) == 0 {
		fmt.Fprintf(stderr, "tollgate start: nothing to run: %s has no transports and no guest workers\n", cfg.File)
		return exitFail
	}

	opts := cfg.RouterOptions()
	opts.Logger = log
	sink, err := openAudit(*auditPath, opts.Realms, log)
	if err != nil {
		fmt.Fprintf(stderr, "tollgate start: %v\n", err)
		return exitFail
	}
	if sink != nil {
		defer sink.Close()
		opts.AuditLog = sink.Logger()
	}
	if opts.Cluster, err = joinCluster(cfg.Cluster, cfg.Realms, log); err != nil {
		log.Error("cannot join the cluster", "err", err)
		return exitFail
	}
	r, err := router.New(opts)
	if err != nil {
		if opts.Cluster != nil {
			opts.Cluster.Stop()
		}
		log.Error("cannot create router", "err", err)
		return exitFail
	}
	r.SetConfigFile(cfg.File)
	rt := &running{log: log, r: r, level: lv, file: *cfgFile, strict: *strict, sink: sink, auditLog: opts.AuditLog}
	return serve(ctx, rt, cfg, listeners)
}

// loadConfig loads file, or the embedded default when file is "". On
// failure it prints why and returns a nil config and the exit code.
func loadConfig(file string, strict bool, log *slog.Logger, stderr io.Writer) (*config.Config, int) {
	if file == "" {
		log.Info("no --config given: running the embedded development default (anonymous access, everything allowed); pass --config FILE for a real deployment (`tollgate check FILE` validates it)")
		return config.Default(), exitOK
	}
	cfg, warns, err := config.Load(file)
	if err == nil && strict && len(warns) > 0 {
		err, warns = strictError(warns), nil
	}
	for _, w := range warns {
		log.Warn("config: " + w.String())
	}
	var errs config.Errors
	switch {
	case errors.As(err, &errs):
		fmt.Fprintf(stderr, "tollgate start: invalid config:\n%v\n", err)
		return nil, exitFail
	case err != nil:
		fmt.Fprintf(stderr, "tollgate start: %v\n", err)
		return nil, exitFail
	}
	return cfg, exitOK
}

// strictError turns warnings into the errors --strict reports.
func strictError(warns []config.Warning) error {
	errs := make(config.Errors, len(warns))
	for i, w := range warns {
		errs[i] = config.Error{File: w.File, Line: w.Line, Col: w.Col, Path: w.Path, Msg: w.Msg + " (--strict)"}
	}
	return errs
}

// serve opens every listener, serves them until ctx ends or one fails
// (SIGHUP reloads them, reload.go), then shuts the router down.
func serve(ctx context.Context, rt *running, cfg *config.Config, listeners []config.Listener) int {
	log, r := rt.log, rt.r
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		mu       sync.Mutex
		serveErr error
	)
	set := &listenerSet{ctx: ctx, log: log, r: r, running: map[string]*runningListener{}, fail: func(err error) {
		mu.Lock()
		if serveErr == nil && ctx.Err() == nil {
			serveErr = err
		}
		mu.Unlock()
		stop() // one transport failing stops the router
	}}
	rt.set = set
	// Before the first "listening" line: a SIGHUP or SIGUSR1 sent once the
	// router is seen listening must not find the default action (exit).
	watchSignals(ctx, log, rt.level, rt.onHangup)
	lns, err := openAll(ctx, listeners)
	if err != nil {
		log.Error(err.Error())
		return exitFail
	}
	for i, ln := range lns {
		set.start(listeners[i], cfg.Transports[i], ln)
	}

	// Guests start once every transport listens (they are usually the
	// router's own backend) and stop before the router does.
	guestCtx, stopGuests := context.WithCancel(ctx)
	waitGuests := startGuests(guestCtx, log, cfg.Guests)

	<-ctx.Done()
	stopGuests()
	waitGuests()
	mu.Lock()
	failed := serveErr
	mu.Unlock()
	if failed != nil {
		log.Error("transport failed; shutting down", "err", failed)
	} else {
		log.Info("shutting down")
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	shutdownErr := r.Shutdown(sctx)
	set.closeAll() // in case the router did not close them
	set.wg.Wait()
	if shutdownErr != nil {
		log.Error("shutdown incomplete", "err", shutdownErr)
		return exitFail
	}
	if failed != nil {
		return exitFail
	}
	log.Info("stopped")
	return exitOK
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	log, _, err := newLeveledLogger(w, level, format)
	return log, err
}

// newLeveledLogger is newLogger with its level adjustable at run time.
func newLeveledLogger(w io.Writer, level, format string) (*slog.Logger, *slog.LevelVar, error) {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "info":
		lv = slog.LevelInfo
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		return nil, nil, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", level)
	}
	v := new(slog.LevelVar)
	v.Set(lv)
	ho := &slog.HandlerOptions{Level: v}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, ho)), v, nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), v, nil
	}
	return nil, nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}
