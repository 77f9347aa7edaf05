// Command client is a small tour of the Tollgate Go client: it connects to
// a router, registers com.example.add2, calls it, subscribes to a topic
// and publishes to it.
//
// Start a router with the embedded default config first:
//
//	go run ./cmd/tollgate start
//	go run ./examples/client
//
// Flags: -url (default ws://127.0.0.1:8080/ws), -realm (default realm1),
// -serializer (json, msgpack or cbor).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "router URL (ws://, wss://, tcp://, tls://, unix://)")
	realm := flag.String("realm", "realm1", "realm to join")
	ser := flag.String("serializer", "json", "serializer: json, msgpack or cbor")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *url, wamp.URI(*realm), *ser); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, url string, realm wamp.URI, ser string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()

	// Handlers can be collected before connecting.
	reg := client.NewRegistry("com.example.")
	if err := reg.Procedure("add2", func(a, b int) (int, error) { return a + b, nil }); err != nil {
		return err
	}
	news := make(chan string, 1)
	if err := reg.Subscriber("news", func(cc *client.CallContext, headline string) {
		fmt.Printf("event on %s: %q\n", cc.Topic, headline)
		news <- headline
	}); err != nil {
		return err
	}

	s, err := client.Dial(ctx, url, client.Config{Realm: realm, Serializer: ser, Registry: reg})
	if err != nil {
		return err
	}
	defer s.Close(context.Background())
	info := s.Info()
	fmt.Printf("joined %s as session %d (authid %s, role %s)\n", info.Realm, info.ID, info.AuthID, info.AuthRole)

	res, err := s.Call(ctx, "com.example.add2", wamp.List{2, 3}, nil)
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	fmt.Println("com.example.add2(2, 3) =", res.Arg(0))

	// A wrong argument type comes back as wamp.error.invalid_argument.
	if _, err := s.Call(ctx, "com.example.add2", wamp.List{2, "three"}, nil); err != nil {
		fmt.Println("com.example.add2(2, \"three\") failed:", err)
	}

	// Our own events are excluded by default; ExcludeMe(false) lets this
	// session see its publication.
	if err := s.Publish(ctx, "com.example.news", wamp.List{"hello, world"}, nil,
		client.ExcludeMe(false), client.Acknowledge()); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	select {
	case <-news:
	case <-ctx.Done():
		return fmt.Errorf("no event received: %w", ctx.Err())
	}
	return nil
}
