package routertest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Serve's WebSocket URL names the alphabetically first non-empty path,
// whatever the map order, and a client can connect to it.
func TestServeWebSocketPathIsDeterministic(t *testing.T) {
	srv := routertest.Start(t)
	tr := router.Transport{Name: "multi", WebSocket: map[string]router.WebSocketOptions{
		"": {}, "zeta": {}, "/mid": {}, "alpha": {}, "/omega": {}, "beta": {},
	}}
	var first string
	for i := range 10 {
		u := srv.Serve(t, "tcp", tr)
		if !strings.HasSuffix(u, "/alpha") {
			t.Fatalf("Serve #%d = %s, want the path /alpha", i, u)
		}
		if first == "" {
			first = u
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc, err := websocket.Dial(ctx, first, websocket.DialOptions{Serializer: codec.JSON})
	if err != nil {
		t.Fatalf("dial %s: %v", first, err)
	}
	tc.Close()

	if u := srv.Serve(t, "tcp", router.Transport{Name: "any", WebSocket: map[string]router.WebSocketOptions{"": {}}}); !strings.HasSuffix(u, "/ws") {
		t.Errorf("Serve with only the any-path endpoint = %s, want /ws", u)
	}
}

func TestCheapHashVerifies(t *testing.T) {
	hash := routertest.CheapHash(t, "s3cret")
	for pw, want := range map[string]bool{"s3cret": true, "wrong": false} {
		if ok, err := auth.VerifyPassword(hash, pw); ok != want || err != nil {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
}
