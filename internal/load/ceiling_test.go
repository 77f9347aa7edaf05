package load

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// The session ceiling's server must satisfy the real client in every
// serializer, on both transports, or its figure would be of nothing.
func TestSessionCeiling(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"tcp", "ws"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { ServeSessions(ln, kind == "ws"); close(done) }()
		url := "tcp://" + ln.Addr().String()
		if kind == "ws" {
			url = "ws://" + ln.Addr().String() + "/ws"
		}
		for _, ser := range []string{"json", "msgpack", "cbor"} {
			cfg := quick(ScenarioSessions, url, ser)
			cfg.Duration, cfg.Count, cfg.RouterPID = 10*time.Second, 10, os.Getpid() // ends after 10 sessions
			res, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s := res.Session; s == nil || s.Sessions <= 0 || s.ErrorCount != 0 || res.CPU.Work != s.Sessions {
				t.Fatalf("%s %s: sessions %+v, errors %v", kind, ser, s, s.Errors)
			}
		}
		ln.Close()
		<-done
	}
}

func TestPingPong(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { ServeRelay(ln); close(done) }()
	defer func() { ln.Close(); <-done }()
	res, err := RunPingPong(context.Background(), ln.Addr().String(), 64, 20*time.Millisecond, 100*time.Millisecond, os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if res.RoundTrips <= 0 || res.CPU == nil || res.CPU.Work != res.RoundTrips {
		t.Fatalf("%+v", res)
	}
	checkLatency(t, "pingpong", res.Latency, res.RoundTrips)
}

func TestFloorUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"session-serve", "127.0.0.1:1"},              // no framing
		{"session-serve", "udp", "127.0.0.1:1"},       // bad framing
		{"pingpong", "-size", "0", "127.0.0.1:1"},     // bad size
		{"relay-serve", "127.0.0.1:1", "127.0.0.1:2"}, // too many
	} {
		if code := Main(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code := Main(context.Background(), []string{"relay-serve", "192.0.2.1:1"}, io.Discard, io.Discard); code != 1 {
		t.Errorf("non-loopback relay-serve: exit %d, want 1", code)
	}
}
