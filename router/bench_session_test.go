package router_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// BenchmarkSessionOpenClose measures one anonymous session's life per
// operation: connect, HELLO … WELCOME, GOODBYE … GOODBYE, close, over
// loopback RawSocket and WebSocket.
func BenchmarkSessionOpenClose(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"tcp", "ws"} {
		b.Run(kind, func(b *testing.B) {
			srv := routertest.Start(b)
			url := srv.URL(kind)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				tc := dialConn(b, url, codec.MsgPack)
				if _, ok := rawRPC(b, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
					b.Fatal("no WELCOME")
				}
				if _, ok := rawRPC(b, ctx, tc, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal}).(*wamp.Goodbye); !ok {
					b.Fatal("no GOODBYE reply")
				}
				tc.Close()
			}
		})
	}
}

// BenchmarkIdleSession holds b.N joined sessions and reports the heap and
// goroutine stacks they take, per session (client and router side
// together: both live in this process), in B/session.
func BenchmarkIdleSession(b *testing.B) {
	ctx := context.Background()
	for _, kind := range []string{"tcp", "ws"} {
		b.Run(kind, func(b *testing.B) {
			srv := routertest.Start(b)
			url := srv.URL(kind)
			before := inUse()
			conns := make([]transport.Conn, 0, b.N)
			b.ResetTimer()
			for range b.N {
				tc := dialConn(b, url, codec.MsgPack)
				if _, ok := rawRPC(b, ctx, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}}).(*wamp.Welcome); !ok {
					b.Fatal("no WELCOME")
				}
				conns = append(conns, tc)
			}
			b.StopTimer()
			b.ReportMetric(float64(inUse()-before)/float64(b.N), "B/session")
			for _, tc := range conns {
				tc.Close()
			}
		})
	}
}

// inUse is the live heap plus goroutine stacks after a GC.
func inUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc + m.StackInuse)
}
