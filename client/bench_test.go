package client_test

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// BenchmarkCallRoundTrip measures one CALL → INVOCATION → YIELD → RESULT
// round trip through the in-process router over loopback TCP RawSocket,
// caller and callee in this process.
func BenchmarkCallRoundTrip(b *testing.B) {
	for _, ser := range []string{"json", "msgpack", "cbor"} {
		b.Run(ser, func(b *testing.B) {
			srv := routertest.Start(b)
			callee := dial(b, srv, "tcp", ser)
			caller := dial(b, srv, "tcp", ser)
			ctx := context.Background()
			if _, err := callee.Register(ctx, "com.bench.echo", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
				return client.Result{Args: inv.Args}, nil
			}); err != nil {
				b.Fatal(err)
			}
			args := wamp.List{int64(1), "two"}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := caller.Call(ctx, "com.bench.echo", args, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallParallel measures calls/s with many concurrent callers on
// one session.
func BenchmarkCallParallel(b *testing.B) {
	srv := routertest.Start(b)
	callee := dial(b, srv, "tcp", "msgpack")
	caller := dial(b, srv, "tcp", "msgpack")
	ctx := context.Background()
	if _, err := callee.Register(ctx, "com.bench.add", func(a, c int) int { return a + c }); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := caller.Call(ctx, "com.bench.add", wamp.List{1, 2}, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
