package load

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// startAuthBackend plays a dynamic authenticator for the run: it joins
// cfg.AuthBackend (a transport that admits it without credentials) and
// registers cfg.AuthProc, which accepts cfg.AuthID with cfg.Ticket as
// role cfg.AuthRole and refuses anything else. So the sessions scenario
// measures logins that each cost the router a call to a backend; each
// call takes cfg.AuthLatency and is counted in r.auth.
func (r *run) startAuthBackend(ctx context.Context) (stop func(), err error) {
	cfg := r.cfg
	if err := CheckLoopback(ctx, cfg.AuthBackend); err != nil {
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	s, err := client.Dial(dctx, cfg.AuthBackend, client.Config{
		Realm: wamp.URI(cfg.Realm), Serializer: cfg.Serializer, Agent: "tollgate-load authenticator",
		MaxConcurrentHandlers: 4096, // so that the router, not the backend, bounds the calls at once
	})
	if err != nil {
		return nil, fmt.Errorf("load: authenticator backend at %s: %w", cfg.AuthBackend, err)
	}
	_, err = s.Register(dctx, wamp.URI(cfg.AuthProc), func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		r.auth.enter()
		defer r.auth.leave()
		if cfg.AuthLatency > 0 { // the backend's own work (a database lookup, say)
			t := time.NewTimer(cfg.AuthLatency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return client.Result{}, ctx.Err()
			}
		}
		var (
			authid  string
			details wamp.Dict
		)
		if len(inv.Args) == 3 {
			authid, _ = inv.Args[1].(string)
			details, _ = inv.Args[2].(wamp.Dict)
		}
		if ticket, _ := wamp.OptString(details, "ticket"); authid != cfg.AuthID || ticket != cfg.Ticket {
			return client.Result{}, client.NewError(wamp.ErrAuthenticationFailed, "wrong user name or ticket")
		}
		return client.Result{Args: wamp.List{wamp.Dict{"authrole": cfg.AuthRole}}}, nil
	})
	if err != nil {
		closeAll([]*client.Session{s})
		return nil, fmt.Errorf("load: registering %s at %s: %w", cfg.AuthProc, cfg.AuthBackend, err)
	}
	return func() { closeAll([]*client.Session{s}) }, nil
}
