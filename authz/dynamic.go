package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"time"

	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// SessionDict is the session argument a dynamic authorizer receives:
// what the router established (session, realm, authid, authrole,
// authmethod, authprovider, authextra: the dynamic authenticator's extra,
// {} when absent, and transport, {} when absent), and under "client" what
// the client chose ({"authextra": its HELLO authextra, {} when absent}).
// The router's sessions carry it built (Details); without Details the
// client's part is empty. expires_at (RFC 3339, UTC) is there while the
// credentials have an expiry (Expires), as it stands at the call.
func SessionDict(s *Session) wamp.Dict {
	d := sessionDict(s)
	if e := s.Expires.Load(); e != 0 {
		d = maps.Clone(d) // the built dict is shared by concurrent calls
		d["expires_at"] = time.Unix(0, e).UTC().Format(time.RFC3339Nano)
	}
	return d
}

func sessionDict(s *Session) wamp.Dict {
	if s.BuildDetails != nil {
		s.detailsOnce.Do(func() { s.details = s.BuildDetails() })
		return s.details
	}
	extra, tr := s.AuthExtra, s.Transport
	if extra == nil {
		extra = wamp.Dict{}
	}
	if tr == nil {
		tr = wamp.Dict{}
	}
	return wamp.Dict{
		"session":      uint64(s.ID),
		"realm":        string(s.Realm),
		"authid":       s.AuthID,
		"authrole":     s.AuthRole,
		"authmethod":   s.AuthMethod,
		"authprovider": s.AuthProvider,
		"authextra":    extra,
		"transport":    tr,
		"client":       ClientDict(nil),
	}
}

// ClientDict is the "client" entry of a session dict: what the client
// chose, kept apart so that no key of it can be mistaken for one the
// router established. authextra is the client's HELLO authextra ({} when
// absent), a copy.
func ClientDict(authextra wamp.Dict) wamp.Dict {
	extra := maps.Clone(authextra)
	if extra == nil {
		extra = wamp.Dict{}
	}
	return wamp.Dict{"authextra": extra}
}

// Messages of failed decisions: what a client may read. They name the
// kind of failure only; the detail (procedure, realm, the backend's own
// error text, which can hold hostnames or credentials) goes to the log.
const (
	msgNotRegistered = "authorization failed: the authorizer is not registered"
	msgTimeout       = "authorization failed: the authorizer did not answer in time"
	msgError         = "authorization failed: the authorizer failed"
	msgMalformed     = "authorization failed: the authorizer's answer is malformed"
	msgCanceled      = "authorization canceled: the request ended first"
)

// call asks ro's authorizer once, bounded by ro.timeout and ctx.
func (r *Realm) call(ctx context.Context, ro *role, s *Session, uri wamp.URI, action Action, ai int, options wamp.Dict) result {
	if options == nil {
		options = wamp.Dict{}
	}
	cctx, cancel := context.WithTimeout(ctx, ro.timeout)
	defer cancel()
	if reason, ok := ro.guard.Enter(cctx); !ok {
		msg := refusal(reason)
		return r.fail(s, uri, action, msg, fmt.Sprintf("authorizer %s: %s (%s)", ro.authorizer, msg, reason), ctx.Err() != nil)
	}
	res := r.callGuarded(ctx, cctx, ro, s, uri, action, ai, options)
	ro.guard.Leave()
	if !res.canceled && ro.guard.Record(backendFailure(res.d)) {
		r.log.Warn("authorizer circuit open: failing fast", "authorizer", string(ro.authorizer),
			"failures", ro.guard.Limits().Threshold, "cooldown", ro.guard.Limits().Cooldown)
	}
	return res
}

// callGuarded is call's one question to the authorizer, once admitted.
func (r *Realm) callGuarded(ctx, cctx context.Context, ro *role, s *Session, uri wamp.URI, action Action, ai int, options wamp.Dict) result {
	all := wamp.List{SessionDict(s), string(uri), string(action), options}
	n := ro.arity.n()
	args, kwargs, err := r.caller.Call(cctx, ro.authRealm, ro.authorizer, all[:n], nil)
	if guard.CalleeLeft(cctx, err) {
		r.log.Debug("authorizer callee left during the call; asking again", "authorizer", string(ro.authorizer))
		args, kwargs, err = r.caller.Call(cctx, ro.authRealm, ro.authorizer, all[:n], nil)
	}
	if m := ro.arity.retry(n, err); m != 0 {
		// Same deadline: the retry is part of this one question.
		if args, kwargs, err = r.caller.Call(cctx, ro.authRealm, ro.authorizer, all[:m], nil); err == nil {
			ro.arity.learn(m)
			r.log.Info("authorizer signature learned", "authorizer", string(ro.authorizer), "realm", string(ro.authRealm), "args", m)
		}
	}
	if err != nil {
		msg, detail := r.callFailure(ctx, cctx, ro, err)
		return r.fail(s, uri, action, msg, detail, ctx.Err() != nil)
	}
	ans, bad := parseAnswer(args, kwargs)
	if bad != "" {
		return r.fail(s, uri, action, msgMalformed, fmt.Sprintf("authorizer %s returned %s", ro.authorizer, bad), false)
	}
	d := Decision{Allow: ans.allow}
	if ans.allow && (ai == aCall || ai == aPublish) {
		d.Disclose = ans.disclose
	}
	if ans.ttlSet && ans.ttl <= 0 {
		ans.scope = scopeNone // ttl <= 0: "do not cache"
	}
	return result{d: d, scope: ans.scope, ttl: ans.ttl}
}

// fail is a failed call's result: msg for the client, detail to the log
// (at debug level when the asker went away, else warn).
func (r *Realm) fail(s *Session, uri wamp.URI, action Action, msg, detail string, canceled bool) result {
	level := slog.LevelWarn
	if canceled {
		level = slog.LevelDebug
	}
	r.log.Log(context.Background(), level, "authorizer call failed", "session", uint64(s.ID), "authid", s.AuthID,
		"authrole", s.AuthRole, "action", string(action), "uri", string(uri), "detail", detail)
	return result{d: Decision{Failed: true, Message: msg}, canceled: canceled}
}

// callFailure classifies a failed authorizer call: the message a client
// may see and the detail for the log.
func (r *Realm) callFailure(ctx, cctx context.Context, ro *role, err error) (msg, detail string) {
	var ce *wamp.CallError
	switch {
	case ctx.Err() != nil:
		return msgCanceled, fmt.Sprintf("authorizer %s: canceled: %v", ro.authorizer, ctx.Err())
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		return msgTimeout, fmt.Sprintf("authorizer %s timed out after %v", ro.authorizer, ro.timeout)
	case errors.As(err, &ce) && ce.URI == wamp.ErrNoSuchProcedure:
		if ro.authRealm != r.name {
			return msgNotRegistered, fmt.Sprintf("authorizer %s is not registered on realm %s", ro.authorizer, ro.authRealm)
		}
		return msgNotRegistered, fmt.Sprintf("authorizer %s is not registered", ro.authorizer)
	case ce != nil && ce.URI == dealer.ErrCalleeBusy: // the router's bound on the callee: overloaded as surely as when the guard says so
		return msgOverloaded, fmt.Sprintf("authorizer %s: its callee has the most invocations in flight the router allows", ro.authorizer)
	case ce != nil:
		return msgError, fmt.Sprintf("authorizer %s failed: %s", ro.authorizer, ce.Error())
	}
	return msgError, fmt.Sprintf("authorizer %s failed: %v", ro.authorizer, err)
}

// answer is a parsed authorizer answer.
type answer struct {
	allow, disclose bool
	scope           scope // scopeNone: do not cache
	ttl             time.Duration
	ttlSet          bool // the answer carries a ttl (<= 0: do not cache)
}

// parseAnswer reads an authorizer's result: one bool, or one dict
// {allow: bool (required), disclose: bool, cache: bool | {scope, ttl},
// ttl: seconds}. A result with no args but kwargs is read as the dict.
// Unknown keys (Crossbar's validate included) are ignored; a known key of
// the wrong type makes the answer malformed. bad describes what is wrong.
func parseAnswer(args wamp.List, kwargs wamp.Dict) (ans answer, bad string) {
	var v any
	switch {
	case len(args) == 1:
		v = args[0]
	case len(args) > 1:
		return ans, fmt.Sprintf("%d results, want one bool or dict", len(args))
	case len(kwargs) > 0:
		v = kwargs
	default:
		return ans, "no result, want a bool or a dict"
	}
	switch v := v.(type) {
	case bool:
		ans.allow = v
		return ans, ""
	case wamp.Dict:
		return parseAnswerDict(v)
	}
	return ans, describe(v) + ", want a bool or a dict"
}

func parseAnswerDict(d wamp.Dict) (ans answer, bad string) {
	a, ok := d["allow"]
	if !ok {
		return ans, "a dict without allow"
	}
	if ans.allow, ok = a.(bool); !ok {
		return ans, "allow of type " + describe(a) + ", want a bool"
	}
	if v, ok := d["disclose"]; ok && v != nil {
		if ans.disclose, ok = v.(bool); !ok {
			return ans, "disclose of type " + describe(v) + ", want a bool"
		}
	}
	if v, ok := d["ttl"]; ok && v != nil {
		if ans.ttl, bad = seconds(v); bad != "" {
			return ans, "ttl " + bad
		}
		ans.ttlSet = true
	}
	switch v := d["cache"].(type) {
	case nil:
	case bool:
		if v {
			ans.scope = scopeSession
		}
	case wamp.Dict:
		ans.scope = scopeSession
		if sv, ok := v["scope"]; ok && sv != nil {
			s, _ := sv.(string)
			switch s {
			case "session":
			case "authid":
				ans.scope = scopeAuthID
			case "authrole":
				ans.scope = scopeAuthRole
			default:
				return ans, fmt.Sprintf("cache.scope %s, want \"session\", \"authid\" or \"authrole\"", describe(sv))
			}
		}
		if tv, ok := v["ttl"]; ok && tv != nil {
			if ans.ttl, bad = seconds(tv); bad != "" {
				return ans, "cache.ttl " + bad
			}
			ans.ttlSet = true
		}
	default:
		return ans, "cache of type " + describe(v) + ", want a bool or a dict"
	}
	return ans, ""
}

// seconds reads a number of seconds (integer or fractional). A positive
// value below the cache clock's resolution is rounded up to it, so that
// it expires rather than reading as 0; a negative one stays negative.
func seconds(v any) (time.Duration, string) {
	f, ok := wamp.AsFloat(v)
	if !ok {
		return 0, "of type " + describe(v) + ", want a number of seconds"
	}
	switch {
	case math.IsNaN(f):
		return 0, "NaN, want a number of seconds"
	case f >= float64(math.MaxInt64)/float64(time.Second):
		return time.Duration(math.MaxInt64), ""
	case f <= 0:
		return -1, "" // do not cache (also for -Inf)
	}
	return max(time.Duration(f*float64(time.Second)), clockResolution), ""
}

// describe names a decoded value's type in WAMP terms for error messages.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a bool"
	case string:
		return fmt.Sprintf("a string %q", truncate(v))
	case wamp.List:
		return "a list"
	case wamp.Dict:
		return "a dict"
	case []byte:
		return "binary"
	case float32, float64:
		return fmt.Sprintf("a number %v", v)
	}
	if _, ok := wamp.AsInt(v); ok {
		return fmt.Sprintf("an integer %v", v)
	}
	return fmt.Sprintf("a %T", v)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
