package client_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// exampleRouter runs an in-process router for the examples: realm1, open
// to every role, WebSocket and RawSocket on one 127.0.0.1 port, anonymous
// sessions and the ticket "secret" for authid joe (role user). A real
// program dials its router (`tollgate start`) instead. stop shuts it down.
func exampleRouter() (addr string, stop func()) {
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}, GoodbyeTimeout: time.Second})
	if err != nil {
		log.Fatal(err)
	}
	methods := []auth.MethodConfig{
		{Method: "anonymous", Type: "static"},
		{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{
			"joe": {Ticket: "secret", Role: "user"},
		}}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- r.ServeTransport(ln, router.Transport{
			WebSocket: map[string]router.WebSocketOptions{"/ws": {Auth: methods}},
			RawSocket: &router.RawSocketOptions{Auth: methods},
		})
	}()
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			log.Fatal(err)
		}
		<-done
	}
}

func ExampleDial() {
	addr, stop := exampleRouter()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://"+addr+"/ws", client.Config{
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
	// Output: joined as joe with role user
}

func ExampleSession_Call() {
	addr, stop := exampleRouter()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callee, err := client.Dial(ctx, "tcp://"+addr, client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer callee.Close(ctx)
	// A callee sending progressive results when the caller asks for them.
	_, err = callee.Register(ctx, "com.example.count", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
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

	s, err := client.Dial(ctx, "tcp://"+addr, client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)
	res, err := s.Call(ctx, "com.example.count", nil, nil,
		client.CallTimeout(time.Second),
		client.ReceiveProgress(func(r *client.Result) { fmt.Println("progress:", r.Args) }))
	if err != nil {
		log.Fatal(err) // a *client.Error such as wamp.error.no_such_procedure
	}
	fmt.Println("result:", res.Arg(0))
	// Output:
	// progress: [0]
	// progress: [1]
	// progress: [2]
	// result: done
}

func ExampleSession_Register() {
	addr, stop := exampleRouter()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://"+addr+"/ws", client.Config{Realm: "realm1"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	// A typed handler: arguments are decoded into the parameters.
	_, err = s.Register(ctx, "com.example.add2", func(a, b int) (int, error) { return a + b, nil })
	if err != nil {
		log.Fatal(err)
	}
	res, err := s.Call(ctx, "com.example.add2", wamp.List{2, 3}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("2 + 3 =", res.Arg(0))
	// A mismatched argument is answered with wamp.error.invalid_argument.
	_, err = s.Call(ctx, "com.example.add2", wamp.List{2, "three"}, nil)
	fmt.Println(err)
	// Output:
	// 2 + 3 = 5
	// wamp.error.invalid_argument: argument 2: want int, got string
}

func ExampleRegistry() {
	addr, stop := exampleRouter()
	defer stop()

	reg := client.NewRegistry("com.example.")
	// Errors are returned here and also reported by Dial/Attach.
	_ = reg.Procedure("authenticate", func(cc *client.CallContext, realm, authid string, details map[string]any) (map[string]any, error) {
		if authid == "" {
			return nil, client.NewError(wamp.ErrAuthenticationFailed, "no authid")
		}
		return map[string]any{"role": "user"}, nil
	}, client.ParamNames("realm", "authid", "details"))
	news := make(chan string, 1)
	_ = reg.Subscriber("public.news", func(ctx context.Context, ev *client.Event) {
		news <- fmt.Sprint("news: ", ev.Args)
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, "ws://"+addr+"/ws", client.Config{
		Realm:     "realm1",
		Registry:  reg, // attached now and after every reconnect
		Reconnect: client.Reconnect{Enabled: true},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close(ctx)

	res, err := s.Call(ctx, "com.example.authenticate", wamp.List{"realm1", "joe", map[string]any{}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("role:", res.Arg(0).(wamp.Dict)["role"])
	_, err = s.Call(ctx, "com.example.authenticate", wamp.List{"realm1", "", map[string]any{}}, nil)
	fmt.Println(err)
	// The publisher is excluded from its own events unless it asks otherwise.
	if err := s.Publish(ctx, "com.example.public.news", wamp.List{"hello"}, nil, client.ExcludeMe(false)); err != nil {
		log.Fatal(err)
	}
	select {
	case n := <-news:
		fmt.Println(n)
	case <-ctx.Done():
		fmt.Println("no event:", ctx.Err())
	}
	// Output:
	// role: user
	// wamp.error.authentication_failed: no authid
	// news: [hello]
}
