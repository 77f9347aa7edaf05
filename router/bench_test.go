package router_test

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// rawJoin dials RawSocket and joins realm1 without a background reader.
func rawJoin(b *testing.B, srv *routertest.Server, c codec.Codec) transport.Conn {
	ctx := context.Background()
	tc, err := rawsocket.Dial(ctx, "tcp", srv.Addr("tcp"), rawsocket.DialOptions{Serializer: c})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tc.Close() })
	rawRPC(b, tc, &wamp.Hello{Realm: routertest.Realm, Details: wamp.Dict{"roles": clientRoles}})
	return tc
}

func rawRPC(b *testing.B, tc transport.Conn, m wamp.Message) wamp.Message {
	f, err := tc.Codec().Encode(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	if err := tc.Write(context.Background(), [][]byte{f}); err != nil {
		b.Fatal(err)
	}
	data, err := tc.Read(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	reply, err := tc.Codec().Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	return reply
}

// BenchmarkCallRoundTrip measures CALL → INVOCATION → YIELD → RESULT through
// an in-process router over loopback RawSocket, one call at a time.
func BenchmarkCallRoundTrip(b *testing.B) {
	for _, c := range []codec.Codec{codec.JSON, codec.MsgPack, codec.CBOR} {
		b.Run(c.Name(), func(b *testing.B) {
			srv := routertest.Start(b)
			callee := rawJoin(b, srv, c)
			if _, ok := rawRPC(b, callee, &wamp.Register{Request: 1, Options: wamp.Dict{}, Procedure: "com.bench.echo"}).(*wamp.Registered); !ok {
				b.Fatal("register failed")
			}
			go func() {
				for {
					data, err := callee.Read(context.Background())
					if err != nil {
						return
					}
					m, err := c.Decode(data)
					if err != nil {
						return
					}
					inv := m.(*wamp.Invocation)
					f, _ := c.Encode(nil, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}, Payload: inv.Payload})
					if callee.Write(context.Background(), [][]byte{f}) != nil {
						return
					}
				}
			}()
			caller := rawJoin(b, srv, c)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := rawRPC(b, caller, &wamp.Call{Request: wamp.ID(i + 1), Options: wamp.Dict{}, Procedure: "com.bench.echo", Payload: wamp.Payload{Args: wamp.List{"ping", int64(i)}}})
				if _, ok := r.(*wamp.Result); !ok {
					b.Fatalf("got %v", r.MessageType())
				}
			}
		})
	}
}
