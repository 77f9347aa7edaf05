package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
)

// limitsConfig is a minimal config whose router worker has the given
// options line (indented under the worker) and one rawsocket transport
// with the given auth line.
func limitsConfig(options, auth string) string {
	s := `version: 2
workers:
  - type: router
`
	if options != "" {
		s += "    options: " + options + "\n"
	}
	s += `    realms:
      - name: realm1
        roles:
          - {name: anonymous, allow-by-default: true}
    transports:
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: 0}
`
	if auth != "" {
		s += "        auth: " + auth + "\n"
	}
	return s
}

func warnLines(ws []Warning) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.String()
	}
	return out
}

func TestLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		options string
		want    Limits
	}{
		{"absent", "", Limits{}},
		{"empty", "{}", Limits{}},
		{"milliseconds", "{hello_timeout: 2500, goodbye_timeout: 1000}",
			Limits{HelloTimeout: 2500 * time.Millisecond, GoodbyeTimeout: time.Second}},
		{"duration strings", `{hello_timeout: "30s", goodbye_timeout: "1m30s"}`,
			Limits{HelloTimeout: 30 * time.Second, GoodbyeTimeout: 90 * time.Second}},
		{"queues", "{max_queue_bytes: 1048576, max_queue_messages: 1}",
			Limits{MaxQueueBytes: 1 << 20, MaxQueueMessages: 1}},
		{"disconnect", "{slow_consumer: disconnect}", Limits{SlowConsumer: router.SlowConsumerDisconnect}},
		{"drop events", "{slow_consumer: drop_events}", Limits{SlowConsumer: router.SlowConsumerDropEvents}},
		{"goodbye crossbar", "{goodbye_reason: crossbar}", Limits{GoodbyeReason: "wamp.close.normal"}},
		{"goodbye spec", "{goodbye_reason: spec}", Limits{GoodbyeReason: "wamp.close.goodbye_and_out"}},
		{"with crossbar keys", "{title: x, hello_timeout: 5000, env: {inherit: true}}",
			Limits{HelloTimeout: 5 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := mustParse(t, "l.yaml", limitsConfig(tc.options, ""))
			if c.Limits != tc.want {
				t.Errorf("Limits = %+v, want %+v", c.Limits, tc.want)
			}
		})
	}
}

func TestLimitsErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, options string
		want          []string
	}{
		{"zero timeout", "{hello_timeout: 0}", []string{
			`e.yaml:4:30: workers[0].options.hello_timeout: must be a positive integer (milliseconds), got 0`}},
		{"negative timeout", "{goodbye_timeout: -5}", []string{
			`e.yaml:4:32: workers[0].options.goodbye_timeout: must be a positive integer (milliseconds), got -5`}},
		{"negative duration string", `{hello_timeout: "-1s"}`, []string{
			`e.yaml:4:30: workers[0].options.hello_timeout: must be positive, got "-1s"`}},
		{"bad duration string", `{hello_timeout: ten}`, []string{
			`e.yaml:4:30: workers[0].options.hello_timeout: must be an integer (milliseconds) or a duration such as "5s", got "ten"`}},
		{"timeout wrong type", `{hello_timeout: true}`, []string{
			`e.yaml:4:30: workers[0].options.hello_timeout: must be an integer (milliseconds) or a duration such as "5s", got boolean true`}},
		{"float timeout", `{goodbye_timeout: 1.5}`, []string{
			`e.yaml:4:32: workers[0].options.goodbye_timeout: must be an integer (milliseconds) or a duration such as "5s", got number 1.5`}},
		{"zero bytes", "{max_queue_bytes: 0}", []string{
			`e.yaml:4:32: workers[0].options.max_queue_bytes: must be a positive integer up to 2147483647, got 0`}},
		{"negative messages", "{max_queue_messages: -1}", []string{
			`e.yaml:4:35: workers[0].options.max_queue_messages: must be a positive integer up to 2147483647, got -1`}},
		{"huge bytes", "{max_queue_bytes: 4294967296}", []string{
			`e.yaml:4:32: workers[0].options.max_queue_bytes: must be a positive integer up to 2147483647, got 4294967296`}},
		{"bytes as string", `{max_queue_bytes: "4MiB"}`, []string{
			`e.yaml:4:32: workers[0].options.max_queue_bytes: must be a positive integer, got string "4MiB"`}},
		{"messages as list", `{max_queue_messages: [1]}`, []string{
			`e.yaml:4:35: workers[0].options.max_queue_messages: must be a positive integer, got a list`}},
		{"unknown goodbye reason", "{goodbye_reason: wamp.close.normal}", []string{
			`e.yaml:4:31: workers[0].options.goodbye_reason: must be one of "crossbar" or "spec", got "wamp.close.normal"`}},
		{"unknown policy", "{slow_consumer: drop}", []string{
			`e.yaml:4:30: workers[0].options.slow_consumer: must be one of "disconnect" or "drop_events", got "drop"`}},
		{"policy wrong type", "{slow_consumer: 1}", []string{
			`e.yaml:4:30: workers[0].options.slow_consumer: must be a string, got integer 1 (quote it)`}},
		{"unknown key", "{hello_timout: 5000}", []string{
			`e.yaml:4:15: workers[0].options: unknown key "hello_timout"`}},
		{"not a mapping", "[hello_timeout]", []string{
			`e.yaml:4:14: workers[0].options: must be a mapping, got a list`}},
		{"every error at once", "{hello_timeout: 0, max_queue_bytes: -1, slow_consumer: fast}", []string{
			`e.yaml:4:30: workers[0].options.hello_timeout: must be a positive integer (milliseconds), got 0`,
			`e.yaml:4:50: workers[0].options.max_queue_bytes: must be a positive integer up to 2147483647, got -1`,
			`e.yaml:4:69: workers[0].options.slow_consumer: must be one of "disconnect" or "drop_events", got "fast"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, err := Parse("e.yaml", []byte(limitsConfig(tc.options, "")))
			if c != nil {
				t.Error("a Config was returned along with errors")
			}
			got := errLines(t, err)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCrossbarWorkerOptionsWarn(t *testing.T) {
	t.Parallel()
	_, warns := mustParse(t, "w.yaml", limitsConfig(`{title: x, pythonpath: [".."], cpu_affinity: [0], reactor: {}, python: /usr/bin/python3, env: {}, expose_controller: true, expose_shared: true}`, ""))
	got := warnLines(warns)
	want := []string{
		`w.yaml:4:15: workers[0].options.title: ignored: native worker option: the process title is not set`,
		`w.yaml:4:25: workers[0].options.pythonpath: ignored: native worker option: Tollgate does not run Python`,
		`w.yaml:4:45: workers[0].options.cpu_affinity: ignored: native worker option: the Go runtime schedules onto all CPUs (use taskset)`,
		`w.yaml:4:64: workers[0].options.reactor: ignored: native worker option: there is no Twisted reactor`,
		`w.yaml:4:77: workers[0].options.python: ignored: native worker option: Tollgate does not run Python`,
		`w.yaml:4:103: workers[0].options.env: ignored: native worker option: the router runs in Tollgate's own process and environment`,
		`w.yaml:4:112: workers[0].options.expose_controller: ignored: native worker option: Tollgate has no node controller`,
		`w.yaml:4:137: workers[0].options.expose_shared: ignored: native worker option: Tollgate has no node controller`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAuthTimeoutWarning(t *testing.T) {
	t.Parallel()
	const dyn = `{ticket: {type: dynamic, authenticator: com.example.auth`
	tests := []struct {
		name, options, auth string
		want                []string
	}{
		{"defaults", "", dyn + "}}", nil},
		{"below default hello", "", dyn + ", timeout: 9999}}", nil},
		{"at default hello", "", dyn + ", timeout: 10000}}", []string{
			`w.yaml:11:82: workers[0].transports[0].auth.ticket.timeout: dynamic authenticator timeout 10s is not below the default hello_timeout 10s: the handshake deadline would cut it (the router aborts the login with wamp.error.authentication_failed "authentication did not complete within 10s"); lower timeout or raise hello_timeout`}},
		{"above default hello, string", "", dyn + `, timeout: "1m"}}`, []string{
			`w.yaml:11:82: workers[0].transports[0].auth.ticket.timeout: dynamic authenticator timeout 1m0s is not below the default hello_timeout 10s: the handshake deadline would cut it (the router aborts the login with wamp.error.authentication_failed "authentication did not complete within 10s"); lower timeout or raise hello_timeout`}},
		{"raised hello", "{hello_timeout: 20000}", dyn + ", timeout: 15000}}", nil},
		{"lowered hello", "{hello_timeout: 2s}", dyn + ", timeout: 3000}}", []string{
			`w.yaml:12:82: workers[0].transports[0].auth.ticket.timeout: dynamic authenticator timeout 3s is not below hello_timeout 2s: the handshake deadline would cut it (the router aborts the login with wamp.error.authentication_failed "authentication did not complete within 2s"); lower timeout or raise hello_timeout`}},
		{"hello at the default auth timeout", "{hello_timeout: 5000}", dyn + "}, anonymous: {type: static}}", []string{
			`w.yaml:12:24: workers[0].transports[0].auth.ticket: dynamic authenticator default timeout 5s is not below hello_timeout 5s: the handshake deadline would cut it (the router aborts the login with wamp.error.authentication_failed "authentication did not complete within 5s"); lower timeout or raise hello_timeout`}},
		{"invalid timeout: error only", "", dyn + ", timeout: 0}}", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, warns, err := Parse("w.yaml", []byte(limitsConfig(tc.options, tc.auth)))
			if tc.name == "invalid timeout: error only" {
				if err == nil {
					t.Fatal("timeout 0 accepted")
				}
			} else if err != nil {
				t.Fatalf("unexpected errors:\n%v", err)
			}
			var got []string
			for _, w := range warnLines(warns) {
				if strings.Contains(w, "dynamic authenticator") {
					got = append(got, w)
				}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestRouterOptionsLimits(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "l.yaml", limitsConfig(`{hello_timeout: 300, goodbye_timeout: "2s", max_queue_bytes: 65536, max_queue_messages: 100, slow_consumer: drop_events}`, ""))
	opts := c.RouterOptions()
	if opts.HelloTimeout != 300*time.Millisecond || opts.GoodbyeTimeout != 2*time.Second ||
		opts.MaxQueueBytes != 65536 || opts.MaxQueueMessages != 100 || opts.SlowConsumer != router.SlowConsumerDropEvents {
		t.Fatalf("RouterOptions limits = %v %v %v %v %v", opts.HelloTimeout, opts.GoodbyeTimeout, opts.MaxQueueBytes, opts.MaxQueueMessages, opts.SlowConsumer)
	}
	r, err := router.New(opts)
	if err != nil {
		t.Fatalf("router.New: %v", err)
	}
	ls, err := c.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ls[0].Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- r.ServeTransport(ln, ls[0].Transport) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; err != router.ErrServerClosed {
			t.Errorf("ServeTransport: %v", err)
		}
	})

	// A client that never sends HELLO is cut off at hello_timeout: the
	// ABORT names the configured 300ms, not the 10s default.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := rawsocket.Dial(ctx, "tcp", ln.Addr().String(), rawsocket.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	msg, err := conn.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if got := string(msg); !strings.Contains(got, "wamp.error.protocol_violation") || !strings.Contains(got, "no HELLO within 300ms") {
		t.Errorf("got %s, want an ABORT for no HELLO within 300ms", got)
	}
}

func TestRouterOptionsDefaults(t *testing.T) {
	t.Parallel()
	opts := Default().RouterOptions()
	if opts.HelloTimeout != 0 || opts.GoodbyeTimeout != 0 || opts.MaxQueueBytes != 0 || opts.MaxQueueMessages != 0 || opts.SlowConsumer != router.SlowConsumerDisconnect {
		t.Errorf("default config sets limits: %+v", opts)
	}
	if _, err := router.New(opts); err != nil {
		t.Errorf("router.New: %v", err)
	}
}
