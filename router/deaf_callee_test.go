package router_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// deafCallee joins, registers proc and then never reads again: its socket
// buffers and then its router queue fill up.
func deafCallee(t *testing.T, srv *routertest.Server, proc wamp.URI) transport.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc := dialConn(t, srv.URL("tcp"), codec.JSON)
	t.Cleanup(func() { tc.Close() })
	if _, ok := rawRPC(t, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
		t.Fatal("no WELCOME")
	}
	if _, ok := rawRPC(t, ctx, tc, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: proc}).(*wamp.Registered); !ok {
		t.Fatal("no REGISTERED")
	}
	return tc
}

// A callee that stops reading is disconnected as a slow consumer; every
// call routed to it gets exactly one answer.
func TestDeafCalleeEveryCallAnswered(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t, func(o *router.Options) {
		o.MaxQueueBytes = 64 << 10
		o.MaxQueueMessages = 4096
	})
	deafCallee(t, srv, "com.deaf")
	caller := dialPeer(t, srv, "tcp", "json")
	caller.join()
	const n = 400
	big := strings.Repeat("x", 4<<10)
	for i := 1; i <= n; i++ {
		caller.send(&wamp.Call{Request: wamp.ID(i), Options: wamp.Dict{}, Procedure: "com.deaf", Payload: wamp.Payload{Args: wamp.List{big}}})
	}
	seen := map[wamp.ID]wamp.URI{}
	for len(seen) < n {
		e := expect[*wamp.Error](caller)
		if _, dup := seen[e.Request]; dup {
			t.Fatalf("second answer for call %d: %s", e.Request, e.Error)
		}
		if e.Error != wamp.ErrCanceled && e.Error != wamp.ErrNoSuchProcedure {
			t.Fatalf("call %d: %s", e.Request, e.Error)
		}
		seen[e.Request] = e.Error
	}
	caller.expectNothing(50 * time.Millisecond)
}
