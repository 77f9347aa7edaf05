package router_test

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// rawJoin dials RawSocket and joins realm1 without a background reader.
func rawJoin(b *testing.B, srv *routertest.Server, c codec.Codec) transport.Conn {
	tc := dialConn(b, srv.URL("tcp"), c)
	b.Cleanup(func() { tc.Close() })
	rawRPC(b, context.Background(), tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}})
	return tc
}

// BenchmarkCallRoundTrip measures CALL → INVOCATION → YIELD → RESULT through
// an in-process router over loopback RawSocket, one call at a time.
func BenchmarkCallRoundTrip(b *testing.B) {
	for _, c := range []codec.Codec{codec.JSON, codec.MsgPack, codec.CBOR} {
		b.Run(c.Name(), func(b *testing.B) {
			srv := routertest.Start(b)
			callee := rawJoin(b, srv, c)
			if _, ok := rawRPC(b, context.Background(), callee, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.bench.echo"}).(*wamp.Registered); !ok {
				b.Fatal("register failed")
			}
			go serveBackend(callee, 0, nil) // echoes every INVOCATION
			caller := rawJoin(b, srv, c)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := rawRPC(b, context.Background(), caller, &wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: "com.bench.echo", Payload: wamp.Payload{Args: wamp.List{"ping", int64(i)}}})
				if _, ok := r.(*wamp.Result); !ok {
					b.Fatalf("got %v", r.MessageType())
				}
			}
		})
	}
}

// BenchmarkPublishAcknowledged measures PUBLISH (acknowledge: true) →
// EVENT queued to one subscriber → PUBLISHED, over loopback RawSocket.
func BenchmarkPublishAcknowledged(b *testing.B) {
	srv := routertest.Start(b)
	sub := rawJoin(b, srv, codec.JSON)
	if _, ok := rawRPC(b, context.Background(), sub, &wamp.Subscribe{Request: 1, Options: wamp.Dict{}, Topic: "com.bench.topic"}).(*wamp.Subscribed); !ok {
		b.Fatal("subscribe failed")
	}
	go func() { // drain the events
		for {
			if _, err := sub.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	pub := rawJoin(b, srv, codec.JSON)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r := rawRPC(b, context.Background(), pub, &wamp.Publish{Request: wamp.ID(i + 1), Options: wamp.Dict{"acknowledge": true}, Topic: "com.bench.topic", Payload: wamp.Payload{Args: wamp.List{"tick", int64(i)}}})
		if _, ok := r.(*wamp.Published); !ok {
			b.Fatalf("got %v", r.MessageType())
		}
	}
}
