package websocket

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// On a plain socket the server waits for bytes before taking a read
// buffer (rawread: an idle connection holds none). A dialed connection
// reads through the HTTP client's stream, which may hold bytes already
// read, and so does a connection under TLS or a wrapper (the other tests'
// signalConn): they read as usual.
func TestReadsWaitOnTheSocket(t *testing.T) {
	t.Parallel()
	accepted := make(chan *Conn, 1)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := Accept(w, r, ServerOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		accepted <- c.(*Conn)
	}))
	defer s.Close()
	cc, err := Dial(ctxT(t), "ws"+strings.TrimPrefix(s.URL, "http")+"/ws", DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	srv := <-accepted
	defer srv.Close()
	c := cc.(*Conn)
	if srv.fr.rr == nil {
		t.Error("the server does not wait on its plain socket")
	}
	if c.fr.rr != nil {
		t.Error("the client waits on the socket under the HTTP client's stream")
	}
	exchange(t, c, srv)
	exchange(t, srv, c)

	tc, tsrv := dial(t, startServer(t, ServerOptions{}, true), DialOptions{})
	if tc.fr.rr != nil || tsrv.fr.rr != nil {
		t.Error("a TLS connection waits on the socket under TLS")
	}
}
