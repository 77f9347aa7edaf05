package router_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

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
	publishLoop(b, routertest.Start(b))
}

func publishLoop(b *testing.B, srv *routertest.Server) {
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

// discardResponse is an http.ResponseWriter that keeps nothing.
type discardResponse struct{}

func (discardResponse) Header() http.Header         { return http.Header{} }
func (discardResponse) Write(p []byte) (int, error) { return len(p), nil }
func (discardResponse) WriteHeader(int)             {}

// BenchmarkPublishScraped is BenchmarkPublishAcknowledged with the metrics
// scraped 10 times a second ("on", 150 times more often than Prometheus by default) or
// never ("off"): the difference is what metrics cost per message.
func BenchmarkPublishScraped(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[on]
		b.Run(name, func(b *testing.B) {
			srv := routertest.Start(b)
			if on {
				h := srv.Router().MetricsHandler()
				stop := make(chan struct{})
				done := make(chan struct{})
				go func() {
					defer close(done)
					tick := time.NewTicker(100 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stop:
							return
						case <-tick.C:
							h.ServeHTTP(discardResponse{}, httptest.NewRequest(http.MethodGet, "/metrics", nil))
						}
					}
				}()
				b.Cleanup(func() { close(stop); <-done })
			}
			publishLoop(b, srv)
		})
	}
}
