// Command backend is the backend component of the dynamic-auth example: it
// joins realm "myrealm" through the router's backdoor transport (role
// "server") and registers the procedures the router calls to authenticate
// clients ("authenticate") and to authorize their actions ("authorize"),
// plus "public.hello", "private.hello" and "backend.stats".
//
//	go run ./cmd/tollgate start --config examples/dynamic-auth/config.yaml
//	go run ./examples/dynamic-auth/backend
//
// It reconnects when the router restarts and stops on SIGINT or SIGTERM.
// See examples/dynamic-auth/README.md and docs/dynamic-auth.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func main() {
	url := flag.String("url", "ws://127.0.0.1:8081/ws", "`URL` of the router transport that gives role server")
	realm := flag.String("realm", "myrealm", "`realm` to join")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, log, *url, wamp.URI(*realm)); err != nil {
		log.Error("backend stopped", "err", err)
		os.Exit(1)
	}
}

// run joins the router and serves until ctx ends or the session is lost
// for good.
func run(ctx context.Context, log *slog.Logger, url string, realm wamp.URI) error {
	b := &backend{users: users, log: log}
	reg, err := b.registry()
	if err != nil {
		return err
	}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := client.Dial(dialCtx, url, client.Config{
		Realm:    realm,
		Registry: reg,
		// Keep serving across router restarts.
		Reconnect: client.Reconnect{Enabled: true, MinDelay: 250 * time.Millisecond, MaxDelay: 5 * time.Second},
		OnJoin: func(s *client.Session) {
			info := s.Info()
			log.Info("backend ready", "url", url, "realm", info.Realm, "session", info.ID, "authrole", info.AuthRole,
				"procedures", "authenticate authorize public.hello private.hello backend.stats")
		},
		OnLeave: func(_ *client.Session, err error) {
			if err != nil {
				log.Warn("lost the router, reconnecting", "err", err)
			}
		},
		Logger: log,
	})
	if err != nil {
		var ae *client.AbortError
		if errors.As(err, &ae) {
			return fmt.Errorf("router at %s refused the backend: %w", url, err)
		}
		return fmt.Errorf("cannot reach the router at %s (is it running? go run ./cmd/tollgate start --config examples/dynamic-auth/config.yaml): %w", url, err)
	}
	select {
	case <-ctx.Done():
	case <-s.Done():
		return s.Err()
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelClose()
	return s.Close(closeCtx)
}
