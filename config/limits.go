package config

import (
	"math"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// defaultHelloTimeout is router.Options.HelloTimeout's default, used to
// judge dynamic authenticator timeouts when hello_timeout is absent.
const defaultHelloTimeout = 10 * time.Second

// Limits are the router's connection limits, from Tollgate's extension
// keys in the router worker's options. A zero field means the router's
// default (see router.Options).
type Limits struct {
	// HelloTimeout bounds the whole opening handshake, HELLO to WELCOME
	// with authentication ("hello_timeout"; default 10 s).
	HelloTimeout time.Duration
	// GoodbyeTimeout bounds the wait for a peer's GOODBYE reply when the
	// router closes a session ("goodbye_timeout"; default 5 s).
	GoodbyeTimeout time.Duration
	// MaxQueueBytes and MaxQueueMessages bound each session's outbound
	// queue ("max_queue_bytes", default 4 MiB; "max_queue_messages",
	// default 65536).
	MaxQueueBytes, MaxQueueMessages int
	// SlowConsumer is what a full queue does ("slow_consumer":
	// "disconnect", the default, or "drop_events").
	SlowConsumer router.SlowConsumerPolicy
	// GoodbyeReason is the reason of the router's reply to a client's
	// GOODBYE ("goodbye_reason": "crossbar", the default, for
	// wamp.close.normal; "spec" for wamp.close.goodbye_and_out). Not a
	// limit, but read with them from the worker's options.
	GoodbyeReason wamp.URI
	// The connection edge (edge.go): "max_connections_per_ip",
	// "max_connections_per_listener", "hello_rate_per_ip",
	// "hello_rate_per_authid" and "max_pending_logins".
	MaxConnectionsPerIP, MaxConnectionsPerListener int
	HelloRatePerIP, HelloRatePerAuthID             router.Rate
	MaxPendingLogins                               int
}

// Crossbar's native worker options: accepted, warned about, not honoured.
var crossbarWorkerOptions = []struct{ key, why string }{
	{"title", "the process title is not set"},
	{"reactor", "there is no Twisted reactor"},
	{"python", "Tollgate does not run Python"},
	{"pythonpath", "Tollgate does not run Python"},
	{"cpu_affinity", "the Go runtime schedules onto all CPUs (use taskset)"},
	{"env", "the router runs in Tollgate's own process and environment"},
	{"expose_controller", "Tollgate has no node controller"},
	{"expose_shared", "Tollgate has no node controller"},
}

// dynTimeout is one dynamic auth method's effective call timeout and where
// it was set (the method's mapping when the default applies).
type dynTimeout struct {
	d        time.Duration
	explicit bool
	n        *yaml.Node
	path     string
}

// workerOptions reads the router worker's options: Tollgate's limits,
// the default auth_headers, and Crossbar's native worker options (warned
// about).
func (p *parser) workerOptions(m *mapping, c *Config) {
	l := &c.Limits
	v, path := m.get("options")
	if v == nil {
		return
	}
	om := p.mapping(v, path)
	if om == nil {
		return
	}
	if v, vp := om.get("hello_timeout"); v != nil {
		l.HelloTimeout, _ = p.duration(v, vp, time.Millisecond, "milliseconds")
	}
	if v, vp := om.get("goodbye_timeout"); v != nil {
		l.GoodbyeTimeout, _ = p.duration(v, vp, time.Millisecond, "milliseconds")
	}
	if v, vp := om.get("max_queue_bytes"); v != nil {
		l.MaxQueueBytes, _ = p.positive(v, vp)
	}
	if v, vp := om.get("max_queue_messages"); v != nil {
		l.MaxQueueMessages, _ = p.positive(v, vp)
	}
	if v, vp := om.get("slow_consumer"); v != nil {
		if s, ok := p.oneOf(v, vp, "disconnect", "drop_events"); ok && s == "drop_events" {
			l.SlowConsumer = router.SlowConsumerDropEvents
		}
	}
	if v, vp := om.get("goodbye_reason"); v != nil {
		if s, ok := p.oneOf(v, vp, "crossbar", "spec"); ok {
			l.GoodbyeReason = map[string]wamp.URI{"crossbar": router.GoodbyeCrossbar, "spec": router.GoodbyeSpec}[s]
		}
	}
	p.edgeOptions(om, l)
	if v, vp := om.get("auth_headers"); v != nil {
		c.AuthHeaders = p.authHeaders(v, vp)
	}
	om.get("extra")    // the worker's own data: nothing for Tollgate to do
	om.get("disabled") // read by workerDisabled
	for _, o := range crossbarWorkerOptions {
		om.ignore(o.key, "native worker option: "+o.why)
	}
	om.done()
}

// positive reads an integer from 1 to math.MaxInt32.
func (p *parser) positive(n *yaml.Node, path string) (int, bool) {
	n = p.resolve(n)
	if n == nil {
		return 0, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		p.errorf(n, path, "must be a positive integer, got %s", describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < 1 || v > math.MaxInt32 {
		p.errorf(n, path, "must be a positive integer up to %d, got %s", math.MaxInt32, n.Value)
		return 0, false
	}
	return int(v), true
}

// checkAuthTimeouts warns about dynamic authenticators whose timeout the
// handshake deadline would cut: the router aborts a login still running at
// hello_timeout, whatever the authenticator's own timeout says.
func (p *parser) checkAuthTimeouts(hello time.Duration) {
	limit := "hello_timeout " + hello.String()
	if hello == 0 {
		hello = defaultHelloTimeout
		limit = "the default hello_timeout " + hello.String()
	}
	for _, dt := range p.dynTimeouts {
		if dt.d < hello {
			continue
		}
		what := "timeout"
		if !dt.explicit {
			what = "default timeout"
		}
		p.warnf(dt.n, dt.path, "dynamic authenticator %s %s is not below %s: the handshake deadline would cut it (the router aborts the login with wamp.error.authentication_failed \"authentication did not complete within %s\"); lower timeout or raise hello_timeout",
			what, dt.d, limit, hello)
	}
}

// noteDynTimeout records a dynamic method's effective timeout for
// checkAuthTimeouts.
func (p *parser) noteDynTimeout(m *mapping, d time.Duration, at *yaml.Node, path string) {
	if d == 0 {
		p.dynTimeouts = append(p.dynTimeouts, dynTimeout{d: auth.DefaultTimeout, n: m.n, path: m.path})
		return
	}
	p.dynTimeouts = append(p.dynTimeouts, dynTimeout{d: d, explicit: true, n: at, path: path})
}
