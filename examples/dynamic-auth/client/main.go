// Command client logs in to the dynamic-auth example with a ticket and shows
// what that user may and may not do: one line per action, "allowed" or
// "denied" with the router's error.
//
//	go run ./examples/dynamic-auth/client --user joe_average --password 1234
//	go run ./examples/dynamic-auth/client --user bofh --password 'B3yt&4_+'
//
// The exit code is 0 when the login succeeded (whatever was denied), 1 when
// it was refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8080/ws", "`URL` of the router's public transport")
	realm := flag.String("realm", "myrealm", "`realm` to join")
	userFlag := flag.String("user", "joe_average", "`authid` to log in as")
	password := flag.String("password", "", "the user's `password` (the ticket)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := run(ctx, os.Stdout, *url, wamp.URI(*realm), *userFlag, *password)
	if err != nil {
		if !errors.Is(err, errRefused) { // a refusal is already printed
			fmt.Fprintln(os.Stderr, "client:", err)
		}
		os.Exit(1)
	}
}

// errRefused is returned by run when the router refused the login.
var errRefused = errors.New("login refused")

// action is one thing the demo tries.
type action struct {
	verb  string // call, subscribe, publish, register
	uri   wamp.URI
	match string // subscribe: exact (default) or prefix
}

var actions = []action{
	{verb: "call", uri: "public.hello"},
	{verb: "subscribe", uri: "public.news"},
	{verb: "subscribe", uri: "public.", match: wamp.MatchPrefix},
	{verb: "publish", uri: "public.news"},
	{verb: "register", uri: "public.mine"},
	{verb: "call", uri: "private.hello"},
	{verb: "subscribe", uri: "private.news"},
	{verb: "publish", uri: "private.news"},
	{verb: "register", uri: "private.mine"},
}

func run(ctx context.Context, out io.Writer, url string, realm wamp.URI, authid, password string) error {
	s, err := client.Dial(ctx, url, client.Config{
		Realm:  realm,
		AuthID: authid,
		Auth:   []client.Authenticator{client.Ticket(password)},
	})
	if err != nil {
		var ae *client.AbortError
		if errors.As(err, &ae) {
			fmt.Fprintf(out, "login refused: %s (%s)\n", ae.Reason, ae.Message)
			return errRefused
		}
		return err
	}
	defer s.Close(context.Background())
	info := s.Info()
	fmt.Fprintf(out, "joined %s as %s, role %s\n", info.Realm, info.AuthID, info.AuthRole)

	for _, a := range actions {
		result, err := try(ctx, s, a)
		name := string(a.uri)
		if a.match != "" {
			name += " (" + a.match + ")"
		}
		verdict := "allowed"
		if err != nil {
			var we *client.Error
			if !errors.As(err, &we) {
				return fmt.Errorf("%s %s: %w", a.verb, a.uri, err)
			}
			verdict, result = "denied", string(we.URI)
		}
		line := fmt.Sprintf("  %-8s %-9s %-20s %s", verdict, a.verb, name, result)
		fmt.Fprintln(out, strings.TrimRight(line, " "))
	}
	return nil
}

// try does one action and describes its result.
func try(ctx context.Context, s *client.Session, a action) (string, error) {
	switch a.verb {
	case "call":
		res, err := s.Call(ctx, a.uri, nil, nil)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("-> %v", res.Arg(0)), nil
	case "subscribe":
		var opts []client.Option
		if a.match != "" {
			opts = append(opts, client.Match(a.match))
		}
		_, err := s.Subscribe(ctx, a.uri, func(context.Context, *client.Event) {}, opts...)
		return "", err
	case "publish":
		return "", s.Publish(ctx, a.uri, wamp.List{"hello from the demo"}, nil, client.Acknowledge())
	case "register":
		_, err := s.Register(ctx, a.uri, func() string { return "mine" })
		return "", err
	}
	return "", fmt.Errorf("unknown action %q", a.verb)
}
