package router

import (
	"context"
	"fmt"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// procAuthorizerExplain says how the realm would decide a question, and
// why, without side effects (docs/dynamic-auth.md, "Explainable
// decisions"): explain(session | {realm, authrole, authid}, uri, action)
// with keyword arguments ask (bool: call a dynamic authorizer when nothing
// else decides; its answer is not cached) and options (the request's
// options, e.g. {match: "prefix"}).
const procAuthorizerExplain wamp.URI = "tollgate.authorizer.explain"

func (rm *realm) explainProc(_ wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	start := time.Now()
	bad := func(format string, a ...any) error {
		return &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{string(procAuthorizerExplain) + ": " + fmt.Sprintf(format, a...)}}
	}
	if len(args) != 3 {
		return nil, nil, bad("want 3 arguments (session | {realm, authrole, authid}, uri, action), got %d", len(args))
	}
	who, err := rm.explainSubject(args[0])
	if err != nil {
		return nil, nil, bad("%v", err)
	}
	uri, ok1 := args[1].(string)
	action, ok2 := args[2].(string)
	if !ok1 || !ok2 {
		return nil, nil, bad("uri and action must be strings")
	}
	switch a := authz.Action(action); a {
	case authz.ActionCall, authz.ActionRegister, authz.ActionPublish, authz.ActionSubscribe:
	default:
		return nil, nil, bad("action %q is not call, register, publish or subscribe", action)
	}
	var ask bool
	var options wamp.Dict
	for k, v := range kwargs {
		var ok bool
		switch k {
		case "ask":
			ask, ok = v.(bool)
		case "options":
			options, ok = v.(wamp.Dict)
		default:
			return nil, nil, bad("unknown keyword argument %q (want ask, options)", k)
		}
		if !ok {
			return nil, nil, bad("keyword argument %q has the wrong type (%T)", k, v)
		}
	}
	e := rm.authz.Explain(context.Background(), who, wamp.URI(uri), authz.Action(action), options, ask)
	out := explanationDict(e)
	out["latency_us"] = time.Since(start).Microseconds()
	return wamp.List{out}, nil, nil
}

// explainSubject is the session a question is asked for: a live session
// by id, or a described one ({realm, authrole, authid}: no session id, so
// only authid- and authrole-scoped cached answers apply).
func (rm *realm) explainSubject(v any) (*authz.Session, error) {
	if id, ok := wamp.AsInt(v); ok {
		s := rm.session(wamp.ID(id))
		if s == nil {
			return nil, fmt.Errorf("no session %d on realm %s", id, rm.name)
		}
		return s.az, nil
	}
	d, ok := v.(wamp.Dict)
	if !ok {
		return nil, fmt.Errorf("the first argument must be a session id or a dict {realm, authrole, authid}")
	}
	who := &authz.Session{Realm: rm.name}
	for k, x := range d {
		s, ok := x.(string)
		if !ok {
			return nil, fmt.Errorf("%s must be a string", k)
		}
		switch k {
		case "realm":
			if wamp.URI(s) != rm.name {
				return nil, fmt.Errorf("realm %q: explain answers for its own realm (%s); call it there", s, rm.name)
			}
		case "authrole":
			who.AuthRole = s
		case "authid":
			who.AuthID = s
		default:
			return nil, fmt.Errorf("unknown key %q (want realm, authrole, authid)", k)
		}
	}
	if who.AuthRole == "" {
		return nil, fmt.Errorf("authrole is required")
	}
	return who, nil
}

// explanationDict is an Explanation as the procedure answers it.
func explanationDict(e authz.Explanation) wamp.Dict {
	out := wamp.Dict{"allow": e.Allow, "disclose": e.Disclose, "source": e.Source, "asked": e.Asked}
	if e.Message != "" {
		out["message"] = e.Message
	}
	if e.Failed {
		out["failed"] = true
	}
	switch e.Source {
	case authz.SourceGrant, authz.SourceStatic:
		out["rule"] = wamp.Dict{"uri": e.RuleURI, "match": e.RuleMatch, "index": int64(e.RuleIndex)}
	case authz.SourceCache, authz.SourceAuthorizer:
		if e.CacheScope != "" {
			c := wamp.Dict{"scope": e.CacheScope, "expires_in": nil}
			if e.ExpiresIn > 0 {
				c["expires_in"] = e.ExpiresIn.Seconds()
			}
			out["cache"] = c
		}
	}
	return out
}
