package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The guarded path to a dynamic authenticator (DynamicConfig.MaxInFlight
// and the breaker): the login's part that is not about credentials.

// refused is the error of a login the guard turned away without a call.
func (d *Dynamic) refused(parent context.Context, reason guard.Reason) error {
	uri := d.cfg.Authenticator
	detail := fmt.Sprintf("authenticator %s: refused without a call (%s)", uri, reason)
	switch {
	case parent.Err() != nil:
		return &Error{Reason: wamp.ErrAuthenticationFailed, Message: "authentication abandoned: " + parent.Err().Error(), Detail: detail}
	case reason == guard.CircuitOpen:
		return &Error{Reason: wamp.ErrAuthenticationFailed,
			Message: fmt.Sprintf("authenticator %s is unavailable (failing fast after repeated failures), retry later", uri), Detail: detail}
	}
	return &Error{Reason: wamp.ErrAuthenticationFailed,
		Message: fmt.Sprintf("authenticator %s is overloaded, retry later", uri), Detail: detail}
}

// callOnce calls the authenticator, and once more when its callee left
// mid-flight (guard.CalleeLeft).
func (d *Dynamic) callOnce(ctx context.Context, realm wamp.URI, args wamp.List) (wamp.List, wamp.Dict, error) {
	rargs, rkw, err := d.cfg.Caller.Call(ctx, realm, d.cfg.Authenticator, args, nil)
	if guard.CalleeLeft(ctx, err) {
		d.cfg.Logger.Debug("authenticator callee left during the call; asking again", "authenticator", string(d.cfg.Authenticator), "realm", string(realm))
		rargs, rkw, err = d.cfg.Caller.Call(ctx, realm, d.cfg.Authenticator, args, nil)
	}
	return rargs, rkw, err
}

// callFailed classifies a failed call for the breaker: a refusal the
// authenticator chose is an answer (not a failure); an authenticator that
// is not registered does not count (the router answers that at once, so
// failing fast protects nobody, and the breaker would delay the backend's
// return by a cooldown); anything else (timeout, exception) is a failure.
func callFailed(err error) (failed, counts bool) {
	var ce *wamp.CallError
	if errors.As(err, &ce) {
		switch {
		case ce.URI == wamp.ErrNoSuchProcedure:
			return false, false
		case deliberateRefusal(ce.URI):
			return false, true
		}
	}
	return true, true
}

// record notes a finished call's outcome against the breaker, unless the
// login went away, and logs the breaker's opening once.
func (d *Dynamic) record(parent context.Context, g *guard.Guard, failed bool) {
	if parent.Err() != nil {
		return
	}
	if g.Record(failed) {
		d.cfg.Logger.Warn("authenticator circuit open: failing fast", "authenticator", string(d.cfg.Authenticator),
			"failures", g.Limits().Threshold, "cooldown", g.Limits().Cooldown)
	}
}
