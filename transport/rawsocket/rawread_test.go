package rawsocket

import "testing"

// On a plain socket both ends wait for bytes before taking a read buffer
// (rawread: an idle connection holds none); under TLS they read through
// the TLS connection.
func TestReadsWaitOnTheSocket(t *testing.T) {
	t.Parallel()
	for kind, want := range map[string]bool{"tcp": true, "unix": true, "tls": false} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			l, accepted := acceptServer(t, kind, ServerOptions{})
			cc, err := Dial(ctxT(t), l.network, l.addr, l.dialOpts(DialOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			r := recv(t, accepted)
			if r.err != nil {
				t.Fatal(r.err)
			}
			for side, c := range map[string]*Conn{"client": cc.(*Conn), "server": r.c.(*Conn)} {
				if got := c.fr.rr != nil; got != want {
					t.Errorf("%s over %s: waits on the socket = %v, want %v", side, kind, got, want)
				}
			}
			if err := cc.Write(ctxT(t), [][]byte{[]byte(`[1]`)}); err != nil {
				t.Fatal(err)
			}
			if m, err := r.c.Read(ctxT(t)); err != nil || string(m) != `[1]` {
				t.Fatalf("Read = %q, %v", m, err)
			}
		})
	}
}
