package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// These examples need a router on 127.0.0.1:8080 (`tollgate start`), so
// they have no Output lines and are compiled but not run by go test.

func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://127.0.0.1:8080/ws", client.Config{
		Realm:      "realm1",
		Serializer: "msgpack",
		// Offer ticket authentication; omit Auth for anonymous.
		AuthID: "joe",
		Auth:   []client.Authenticator{client.Ticket("secret")},
	})
	if err != nil {
		log.Fatal(err) // an *client.AbortError if the router refused us
	}
	defer s.Close(context.Background())
	info := s.Info()
	fmt.Println("joined as", info.AuthID, "with role", info.AuthRole)
}

func ExampleSession_Call() {
	ctx := context.Background()
	s, err := client.Dial(ctx, "tcp://127.0.0.1:8080", client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	res, err := s.Call(ctx, "com.example.add2", wamp.List{2, 3}, nil,
		client.CallTimeout(time.Second),
		client.ReceiveProgress(func(r *client.Result) { fmt.Println("progress:", r.Args) }))
	if err != nil {
		log.Fatal(err) // a *client.Error such as wamp.error.no_such_procedure
	}
	fmt.Println("result:", res.Arg(0))
}

func ExampleSession_Register() {
	ctx := context.Background()
	s, err := client.Dial(ctx, "ws://127.0.0.1:8080/ws", client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	// A typed handler: arguments are decoded into the parameters.
	_, err = s.Register(ctx, "com.example.add2", func(a, b int) (int, error) { return a + b, nil })
	if err != nil {
		log.Fatal(err)
	}
	// A plain handler sending progressive results when asked.
	_, err = s.Register(ctx, "com.example.count", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		if inv.ReceiveProgress() {
			for i := range 3 {
				if err := inv.Progress(ctx, wamp.List{i}, nil); err != nil {
					return client.Result{}, err
				}
			}
		}
		return client.Result{Args: wamp.List{"done"}}, nil
	})
	if err != nil {
		log.Fatal(err)
	}
	<-s.Done()
}

func ExampleRegistry() {
	reg := client.NewRegistry("com.example.")
	// Errors are returned here and also reported by Dial/Attach.
	_ = reg.Procedure("authenticate", func(cc *client.CallContext, realm, authid string, details map[string]any) (map[string]any, error) {
		if authid == "" {
			return nil, client.NewError(wamp.ErrAuthenticationFailed, "no authid")
		}
		return map[string]any{"role": "user"}, nil
	}, client.ParamNames("realm", "authid", "details"))
	_ = reg.Subscriber("public.news", func(ctx context.Context, ev *client.Event) {
		fmt.Println("news:", ev.Args)
	})

	ctx := context.Background()
	s, err := client.Dial(ctx, "ws://127.0.0.1:8080/ws", client.Config{
		Realm:     "realm1",
		Registry:  reg, // attached now and after every reconnect
		Reconnect: client.Reconnect{Enabled: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
}
