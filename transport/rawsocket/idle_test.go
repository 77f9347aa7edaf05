package rawsocket

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
)

const testIdle = 10 * time.Millisecond

// idlePair is an accepted server Conn and the client's raw socket under
// its client Conn.
func idlePair(t *testing.T, kind string) (srv *Conn, cli transport.Conn, raw net.Conn) {
	t.Helper()
	l, accepted := acceptServer(t, kind, ServerOptions{})
	var err error
	if kind == "tls" {
		cli, err = Dial(ctxT(t), l.network, l.addr, l.dialOpts(DialOptions{}))
	} else {
		raw, err = net.Dial(l.network, l.addr)
		if err == nil {
			cli, err = Client(ctxT(t), raw, DialOptions{})
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	r := recv(t, accepted)
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.c.(*Conn), cli, raw
}

// A quiet connection's ReadOrIdle returns ErrIdle; parked, it resumes
// once when the peer writes, and reads the message.
func TestReadOrIdleParksAndResumes(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"tcp", "unix"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			srv, cli, _ := idlePair(t, kind)
			for range 3 { // parks again after each resume
				if _, err := srv.ReadOrIdle(context.Background(), testIdle); err != transport.ErrIdle {
					t.Fatalf("ReadOrIdle = %v, want ErrIdle", err)
				}
				var resumes atomic.Int32
				woke := make(chan struct{})
				if !srv.Park(func() { resumes.Add(1); close(woke) }) {
					t.Fatal("Park refused a plain socket")
				}
				if err := cli.Write(ctxT(t), [][]byte{[]byte(`[1]`)}); err != nil {
					t.Fatal(err)
				}
				<-woke
				if m, err := srv.ReadOrIdle(context.Background(), testIdle); err != nil || string(m) != `[1]` {
					t.Fatalf("after resume: %q, %v", m, err)
				}
				if n := resumes.Load(); n != 1 {
					t.Fatalf("resumed %d times", n)
				}
			}
		})
	}
}

// A reader inside a frame (half a header, then half a payload) does not
// idle, however long the peer pauses; a quiet one next to it does.
func TestReadOrIdleNotInsideAFrame(t *testing.T) {
	t.Parallel()
	srv, _, raw := idlePair(t, "tcp")
	ref, _, _ := idlePair(t, "tcp")
	want := `["a long enough message"]`
	f := frame(frameMessage, []byte(want))
	got := make(chan error, 1)
	go func() {
		m, err := srv.ReadOrIdle(context.Background(), testIdle)
		if err == nil && string(m) != want {
			err = errors.New("wrong message " + string(m))
		}
		got <- err
	}()
	for _, cut := range []int{2, 10} { // inside the header, inside the payload
		if _, err := raw.Write(f[:cut]); err != nil {
			t.Fatal(err)
		}
		f = f[cut:]
		for range 2 { // two idle times pass while the other waits
			if _, err := ref.ReadOrIdle(context.Background(), testIdle); err != transport.ErrIdle {
				t.Fatalf("reference: %v", err)
			}
		}
		select {
		case err := <-got:
			t.Fatalf("ReadOrIdle inside a frame returned %v", err)
		default:
		}
	}
	if _, err := raw.Write(f); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

// TLS keeps its reader: ReadOrIdle is Read, and Park refuses.
func TestReadOrIdleTLSIsRead(t *testing.T) {
	t.Parallel()
	srv, cli, _ := idlePair(t, "tls")
	ref, _, _ := idlePair(t, "tcp")
	got := make(chan error, 1)
	go func() {
		_, err := srv.ReadOrIdle(context.Background(), testIdle)
		got <- err
	}()
	for range 2 {
		if _, err := ref.ReadOrIdle(context.Background(), testIdle); err != transport.ErrIdle {
			t.Fatalf("reference: %v", err)
		}
	}
	if err := cli.Write(ctxT(t), [][]byte{[]byte(`[2]`)}); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("TLS ReadOrIdle: %v", err)
	}
	if srv.Park(func() { t.Error("resumed") }) {
		t.Fatal("Park accepted a TLS connection")
	}
}

// Close resumes a parked connection exactly once, whether or not the
// peer's bytes arrive at the same moment, and its read then fails with
// ErrClosed; a closed connection refuses to park.
func TestParkCloseRacesReadiness(t *testing.T) {
	t.Parallel()
	for i := range 40 {
		srv, cli, _ := idlePair(t, "tcp")
		if _, err := srv.ReadOrIdle(context.Background(), testIdle); err != transport.ErrIdle {
			t.Fatalf("ReadOrIdle = %v", err)
		}
		var resumes atomic.Int32
		woke := make(chan struct{})
		if !srv.Park(func() {
			if resumes.Add(1) == 1 {
				close(woke)
			}
		}) {
			t.Fatal("Park refused")
		}
		var wg sync.WaitGroup
		wg.Go(func() { srv.Close() })
		if i%2 == 0 {
			wg.Go(func() { _ = cli.Write(context.Background(), [][]byte{[]byte(`[3]`)}) })
		}
		wg.Wait()
		<-woke
		if _, err := srv.ReadOrIdle(context.Background(), testIdle); !errors.Is(err, transport.ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
		if srv.Park(func() { t.Error("resumed a closed connection") }) {
			t.Fatal("a closed connection parked")
		}
		if n := resumes.Load(); n != 1 {
			t.Fatalf("resumed %d times", n)
		}
	}
}

// A peer that closes a parked connection resumes it; the read sees EOF.
func TestParkedPeerCloses(t *testing.T) {
	t.Parallel()
	srv, cli, _ := idlePair(t, "unix")
	if _, err := srv.ReadOrIdle(context.Background(), testIdle); err != transport.ErrIdle {
		t.Fatalf("ReadOrIdle = %v", err)
	}
	woke := make(chan struct{})
	if !srv.Park(func() { close(woke) }) {
		t.Fatal("Park refused")
	}
	cli.Close()
	<-woke
	if _, err := srv.ReadOrIdle(context.Background(), testIdle); err == nil || errors.Is(err, transport.ErrIdle) {
		t.Fatalf("read after the peer closed: %v", err)
	}
}
