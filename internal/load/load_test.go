package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/routertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quick returns a short configuration for scenario against url.
func quick(scenario, url, serializer string) Config {
	c := DefaultConfig(scenario)
	c.URL = url
	c.Serializer = serializer
	c.Duration = time.Second
	c.Warmup = 100 * time.Millisecond
	c.Timeout = 10 * time.Second
	c.Subscribers = 3
	c.Sessions = 2
	c.InFlight = 2
	return c
}

func checkLatency(t *testing.T, name string, l Latency, count int64) {
	t.Helper()
	if l.Count != count {
		t.Errorf("%s: latency count %d, want %d", name, l.Count, count)
	}
	if !(0 < l.Min && l.Min <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
		t.Errorf("%s: percentiles not ordered: %+v", name, l)
	}
	if l.Mean < l.Min || l.Mean > l.Max {
		t.Errorf("%s: mean %v outside [%v, %v]", name, l.Mean, l.Min, l.Max)
	}
}

func TestCall(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, tt := range []struct{ kind, ser string }{
		{"ws", "json"}, {"tcp", "msgpack"}, {"unix", "cbor"},
	} {
		t.Run(tt.kind+"/"+tt.ser, func(t *testing.T) {
			t.Parallel()
			cfg := quick(ScenarioCall, srv.URL(tt.kind), tt.ser)
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			c := res.Call
			if c == nil || res.Publish != nil {
				t.Fatalf("want call stats only: %+v", res)
			}
			if c.Calls <= 0 || c.ErrorCount != 0 || len(c.Errors) != 0 {
				t.Fatalf("calls %d, errors %d %v", c.Calls, c.ErrorCount, c.Errors)
			}
			if c.Rate <= 0 || res.Elapsed <= 0 {
				t.Errorf("rate %v over %v", c.Rate, res.Elapsed)
			}
			checkLatency(t, "call", c.Latency, c.Calls)
		})
	}
}

func TestCallCount(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cfg := quick(ScenarioCall, srv.URL("tcp"), "json")
	cfg.Count = 50
	cfg.Duration = 30 * time.Second // the count ends the run
	cfg.Warmup = 0
	cfg.Size = 0
	res, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Call.Calls != 50 || res.Call.ErrorCount != 0 {
		t.Fatalf("calls %d errors %v, want exactly 50 and none", res.Call.Calls, res.Call.Errors)
	}
}

func TestCallNoCallee(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cfg := quick(ScenarioCall, srv.URL("tcp"), "json")
	cfg.Realm = "no.such.realm"
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no_such_realm") {
		t.Fatalf("err = %v, want a join error naming no_such_realm", err)
	}
}

func TestPublish(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, tt := range []struct {
		kind, ser string
		ack       bool
	}{
		{"ws", "json", true}, {"tcp", "msgpack", true}, {"unix", "cbor", true},
		{"tcp", "json", false},
	} {
		name := tt.kind + "/" + tt.ser
		if !tt.ack {
			name += "/noack"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := quick(ScenarioPublish, srv.URL(tt.kind), tt.ser)
			cfg.Ack = tt.ack
			if !tt.ack {
				cfg.Count = 2000 // keep the unacknowledged flood small
				cfg.Rate = 5000
			}
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := res.Publish
			if p == nil || res.Call != nil {
				t.Fatalf("want publish stats only: %+v", res)
			}
			if p.Publishes <= 0 || p.ErrorCount != 0 || p.BadEvents != 0 {
				t.Fatalf("publishes %d, errors %v, bad events %d", p.Publishes, p.Errors, p.BadEvents)
			}
			if p.Expected != p.Publishes*int64(cfg.Subscribers) {
				t.Errorf("expected %d, want %d × %d", p.Expected, p.Publishes, cfg.Subscribers)
			}
			if p.Lost+p.Delivered-p.Extra != p.Expected {
				t.Errorf("delivered %d + lost %d - extra %d != expected %d", p.Delivered, p.Lost, p.Extra, p.Expected)
			}
			if p.Extra != 0 {
				t.Errorf("%d duplicate events", p.Extra)
			}
			if tt.ack {
				if p.Delivered != p.Expected || p.Lost != 0 {
					t.Errorf("acknowledged: delivered %d of %d", p.Delivered, p.Expected)
				}
				if p.AckLatency == nil {
					t.Fatal("no ack latency")
				}
				checkLatency(t, "ack", *p.AckLatency, p.Publishes)
			} else if p.AckLatency != nil {
				t.Error("ack latency without -ack")
			}
			if p.Delivered > 0 {
				checkLatency(t, "delivery", p.Latency, p.Delivered)
			}
		})
	}
}

// TestRate checks that pacing bounds the number of requests: never more
// than the schedule allows (a slow machine only sends fewer).
func TestRate(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, sc := range []string{ScenarioCall, ScenarioPublish} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			cfg := quick(sc, srv.URL("tcp"), "msgpack")
			cfg.Rate = 200
			cfg.Warmup = 0
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := int64(0)
			if res.Call != nil {
				n = res.Call.Calls
			} else {
				n = res.Publish.Publishes
				if p := res.Publish; p.Lost+p.Delivered-p.Extra != p.Expected {
					t.Errorf("inconsistent counts %+v", p)
				}
			}
			workers := int64(cfg.Sessions * cfg.InFlight)
			if limit := int64(cfg.Rate*res.Elapsed.Seconds()) + workers; n <= 0 || n > limit {
				t.Fatalf("%d requests in %v at %v/s, want 1..%d", n, res.Elapsed, cfg.Rate, limit)
			}
		})
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"ws://192.0.2.1:8080/ws",
		"tcp://[2001:db8::1]:8081",
		"ws://0.0.0.0:8080/ws",
		"tls://10.0.0.1:443",
		"ws://no-such-host.invalid:8080/ws",
	} {
		t.Run(url, func(t *testing.T) {
			t.Parallel()
			cfg := quick(ScenarioCall, url, "json")
			_, err := Run(context.Background(), cfg)
			if !errors.Is(err, ErrNotLoopback) {
				t.Fatalf("Run(%s) = %v, want ErrNotLoopback", url, err)
			}
			if !strings.Contains(err.Error(), "loopback") {
				t.Errorf("error does not say why: %v", err)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url, wantErr string
	}{
		{"ws://127.0.0.1:8080/ws", ""},
		{"tcp://127.1.2.3:8081", ""},
		{"ws://[::1]:8080/ws", ""},
		{"ws://localhost:8080/ws", ""},
		{"unix:///tmp/x.sock", ""},
		{"http://127.0.0.1:8080/", "scheme must be"},
		{"ws:///ws", "has no host"},
		{"unix://", "no socket path"},
		{"ws://192.168.1.1/ws", "not a loopback address"},
		{"%zz", "bad URL"},
	} {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			err := CheckLoopback(context.Background(), tt.url)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("CheckLoopback(%q) = %v", tt.url, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("CheckLoopback(%q) = %v, want %q", tt.url, err, tt.wantErr)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
		check   func(t *testing.T, c Config, j bool)
	}{
		{name: "defaults", args: []string{"ws://127.0.0.1:8080/ws"}, check: func(t *testing.T, c Config, j bool) {
			if c.Scenario != ScenarioCall || c.Sessions != 4 || c.InFlight != 1 || c.Duration != 10*time.Second ||
				c.Size != 64 || c.Realm != "realm1" || c.Serializer != "json" || c.Subscribers != 10 || j {
				t.Errorf("defaults: %+v json=%v", c, j)
			}
		}},
		{name: "flags around positionals", args: []string{"-c", "8", "publish", "-ack", "tcp://127.0.0.1:8081", "-subs", "3", "-json", "-serializer", "cbor"},
			check: func(t *testing.T, c Config, j bool) {
				if c.Scenario != ScenarioPublish || c.Sessions != 8 || !c.Ack || c.Subscribers != 3 || !j || c.Serializer != "cbor" || c.URL != "tcp://127.0.0.1:8081" {
					t.Errorf("got %+v json=%v", c, j)
				}
			}},
		{name: "ticket", args: []string{"-authid", "bench", "-ticket", "s3cret", "call", "ws://127.0.0.1:1/ws"}, check: func(t *testing.T, c Config, _ bool) {
			if c.AuthID != "bench" || c.Ticket != "s3cret" {
				t.Errorf("got %+v", c)
			}
		}},
		{name: "no url", args: []string{"-c", "2"}, wantErr: "URL is required"},
		{name: "too many", args: []string{"call", "ws://a", "ws://b"}, wantErr: "too many arguments"},
		{name: "unknown scenario", args: []string{"subscribe", "ws://127.0.0.1:1/ws"}, wantErr: `unknown scenario "subscribe"`},
		{name: "unknown flag", args: []string{"-x", "ws://127.0.0.1:1/ws"}, wantErr: "flag provided but not defined: -x"},
		{name: "bad duration", args: []string{"-d", "ten", "ws://127.0.0.1:1/ws"}, wantErr: `invalid value "ten" for flag -d`},
		{name: "zero sessions", args: []string{"-c", "0", "ws://127.0.0.1:1/ws"}, wantErr: "-c must be at least 1"},
		{name: "zero inflight", args: []string{"-inflight", "0", "ws://127.0.0.1:1/ws"}, wantErr: "-inflight must be at least 1"},
		{name: "too many workers", args: []string{"-c", "100", "-inflight", "100", "ws://127.0.0.1:1/ws"}, wantErr: "exceeds 4096"},
		{name: "long duration", args: []string{"-d", "2h", "ws://127.0.0.1:1/ws"}, wantErr: "-d must be > 0"},
		{name: "negative count", args: []string{"-n", "-1", "ws://127.0.0.1:1/ws"}, wantErr: "-n must not be negative"},
		{name: "size", args: []string{"-size", "-5", "ws://127.0.0.1:1/ws"}, wantErr: "-size must be"},
		{name: "serializer", args: []string{"-serializer", "xml", "ws://127.0.0.1:1/ws"}, wantErr: `-serializer "xml"`},
		{name: "ticket without authid", args: []string{"-ticket", "t", "ws://127.0.0.1:1/ws"}, wantErr: "-ticket needs -authid"},
		{name: "subs", args: []string{"publish", "-subs", "0", "ws://127.0.0.1:1/ws"}, wantErr: "-subs must be"},
		{name: "rate", args: []string{"-rate", "-1", "ws://127.0.0.1:1/ws"}, wantErr: "-rate must be"},
		{name: "timeout", args: []string{"-timeout", "0s", "ws://127.0.0.1:1/ws"}, wantErr: "-timeout must be"},
		{name: "realm", args: []string{"-realm", "a..b", "ws://127.0.0.1:1/ws"}, wantErr: "-realm"},
		{name: "several at once", args: []string{"-c", "0", "-size", "-1", "ws://127.0.0.1:1/ws"}, wantErr: "-c must be at least 1, got 0\nload: -size"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, j, err := ParseArgs(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseArgs(%q) = %v, want %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseArgs(%q) = %v", tt.args, err)
			}
			tt.check(t, c, j)
		})
	}
}

func TestMainExitCodes(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, tt := range []struct {
		name     string
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{"help", []string{"-h"}, 0, "usage: tollgate-load", ""},
		{"usage error", []string{"-c", "x"}, 2, "", "run 'tollgate-load -h'"},
		{"refused", []string{"ws://192.0.2.1/ws"}, 1, "", "not a loopback address"},
		{"json", []string{"-json", "-d", "300ms", "-warmup", "0s", "-n", "20", srv.URL("tcp")}, 0, `"calls": 20`, ""},
		{"text", []string{"publish", "-ack", "-d", "300ms", "-warmup", "0s", "-subs", "2", srv.URL("tcp")}, 0, "lost        0", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := Main(context.Background(), tt.args, &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", code, tt.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tt.inStdout) || !strings.Contains(errb.String(), tt.inStderr) {
				t.Fatalf("stdout %q stderr %q, want %q / %q", out.String(), errb.String(), tt.inStdout, tt.inStderr)
			}
			if tt.name == "json" {
				var r Result
				if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Call == nil {
					t.Fatalf("JSON output: %v %+v", err, r)
				}
			}
		})
	}
}

func TestInterrupted(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cfg := quick(ScenarioCall, srv.URL("tcp"), "json")
	cfg.Duration = time.Minute
	cfg.Warmup = 0
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	res, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.Call.ErrorCount != 0 {
		t.Fatalf("interrupted %v, errors %v", res.Interrupted, res.Call.Errors)
	}
}
