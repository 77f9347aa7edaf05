package router

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// procAuthorizerRevoke flushes cached authorizer decisions like
// tollgate.authorizer.flush (same selectors), then re-authorizes every live
// subscription and registration the selection covers and removes those no
// longer allowed (docs/dynamic-auth.md, "Revocation"). Further keyword
// arguments: kill (bool: close the sessions that lose something instead),
// reason (string, in the revocation notice). It answers when the removals
// are done: events published and calls made after the answer never reach
// a revoked subscription or registration.
const procAuthorizerRevoke wamp.URI = "tollgate.authorizer.revoke"

// CloseRevoked is the GOODBYE reason for sessions a revoke with kill: true
// closed.
const CloseRevoked wamp.URI = "tollgate.close.revoked"

// revokeReason is the default reason of the revocation notices.
const revokeReason = "tollgate.authorizer.revoke"

// recheckWorkers bounds the re-authorizations run at once (each may wait
// for a dynamic authorizer).
const recheckWorkers = 32

// RevokeOptions are revoke's options besides the selection.
type RevokeOptions struct {
	// Kill closes the sessions that would lose a subscription or
	// registration (GOODBYE CloseRevoked) after removing it.
	Kill bool
	// Reason goes in the UNSUBSCRIBED/UNREGISTERED details ("" : the
	// procedure's name).
	Reason string
	// SetGrants replaces the grants of the selected sessions with Grants
	// (nil: none) before the re-check.
	SetGrants bool
	Grants    *authz.Rules
}

// RevokeResult says what a revoke did.
type RevokeResult struct {
	Flushed       int // cached decisions dropped
	Checked       int // subscriptions and registrations re-authorized (per member)
	Subscriptions int // subscriptions removed
	Registrations int // registrations removed
	Killed        int // sessions closed (Kill)
	Latency       time.Duration
}

// Revoke flushes realm's cached authorizer decisions selected by f, then
// re-authorizes the live subscriptions and registrations f covers and
// removes those no longer allowed, as tollgate.authorizer.revoke does.
// Call it after the realm's static permissions change (hot reload) with
// the zero filter. A realm without roles has nothing to revoke.
func (r *Router) Revoke(ctx context.Context, realm wamp.URI, f authz.FlushFilter, o RevokeOptions) (RevokeResult, error) {
	rm := r.realms[realm]
	if rm == nil {
		return RevokeResult{}, fmt.Errorf("router: no realm %q", realm)
	}
	return rm.revoke(ctx, f, o), nil
}

// revokeProc revokes on this node and has every other node revoke its
// part (its answer counts this node's; docs/cluster.md).
func (rm *realm) revokeProc(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	a, k, err := rm.revokeLocal(caller, args, kwargs)
	if err == nil {
		rm.cl.broadcastAuthz(rm, procAuthorizerRevoke, kwargs)
	}
	return a, k, err
}

func (rm *realm) revokeLocal(_ wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	var o RevokeOptions
	var grantErr error
	f, err := authorizerFilter(procAuthorizerRevoke, args, kwargs, func(k string, v any) (known, ok bool) {
		switch k {
		case "kill":
			o.Kill, ok = v.(bool)
			return true, ok
		case "reason":
			o.Reason, ok = v.(string)
			return true, ok
		case "permissions":
			var err error
			o.SetGrants = true
			if o.Grants, err = authz.CompileGrants(v); err != nil {
				grantErr = err
			}
			return true, true
		}
		return false, false
	})
	if err == nil && grantErr != nil {
		err = &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{string(procAuthorizerRevoke) + ": " + grantErr.Error()}}
	}
	if err == nil && o.SetGrants && (f.All || f.URIPrefix != "") {
		err = &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{string(procAuthorizerRevoke) + ": permissions need a session or authid selection and no uri_prefix"}}
	}
	if err != nil {
		return nil, nil, err
	}
	res := rm.revoke(context.Background(), f, o)
	return wamp.List{wamp.Dict{
		"flushed":       int64(res.Flushed),
		"checked":       int64(res.Checked),
		"subscriptions": int64(res.Subscriptions),
		"registrations": int64(res.Registrations),
		"killed":        int64(res.Killed),
		"latency_us":    res.Latency.Microseconds(),
	}}, nil, nil
}

// held is one session's membership of one subscription or registration.
type held struct {
	s      *session
	id     wamp.ID
	uri    wamp.URI
	match  string
	action authz.Action // subscribe or register
}

func (rm *realm) revoke(ctx context.Context, f authz.FlushFilter, o RevokeOptions) RevokeResult {
	start := time.Now()
	if rm.authz == nil {
		return RevokeResult{}
	}
	if o.Reason == "" {
		o.Reason = revokeReason
	}
	selected := func(s *session) bool {
		return s.authrole != authz.RoleTrusted &&
			(f.Session == 0 || s.id == f.Session) &&
			(f.AuthID == "" || s.authid == f.AuthID) &&
			(f.AuthRole == "" || s.authrole == f.AuthRole)
	}
	if o.SetGrants {
		rm.mu.RLock()
		for _, s := range rm.sessions {
			if selected(s) {
				s.az.Grants.Set(o.Grants)
			}
		}
		rm.mu.RUnlock()
	}
	res := RevokeResult{Flushed: rm.authz.Flush(f)}
	rm.revokes.Add(1) // after the flush, before the list: see recheckIfRevoked
	items := rm.covered(&f, selected)
	res.Checked = len(items)
	denied := recheck(ctx, items)
	closing := map[*session]bool{}
	for i, it := range items {
		if !denied[i] {
			continue
		}
		var gone bool
		if it.action == authz.ActionSubscribe {
			if gone = rm.meta.RevokeSubscription(it.s, it.id, o.Reason); gone {
				res.Subscriptions++
			}
		} else if gone = rm.meta.RevokeRegistration(it.s, it.id, o.Reason); gone {
			res.Registrations++ // the cluster's registry forgets it too (metaRealm.CalleeRemoved)
		}
		if gone {
			it.s.log.Info("authorization revoked", string(it.action), it.uri, "match", it.match, "reason", o.Reason)
			if o.Kill {
				closing[it.s] = true
			}
		}
	}
	for s := range closing {
		s.Kill(CloseRevoked, "authorization revoked: "+o.Reason)
	}
	res.Killed = len(closing)
	res.Latency = time.Since(start)
	return res
}

// covered lists the memberships f selects: sessions by selected (id,
// authid and role; trusted ones are never re-checked: they may do
// everything), subscriptions and registrations by f.Covers. Subscriptions come first,
// each side ordered by id, so notices go out in a stable order.
func (rm *realm) covered(f *authz.FlushFilter, selected func(*session) bool) []held {
	var out []held
	for _, sub := range rm.broker.List() {
		if f.Covers(sub.Topic, sub.Match) {
			members, _ := rm.broker.Subscribers(sub.ID)
			out = appendHeld(out, members, selected, held{nil, sub.ID, sub.Topic, sub.Match, authz.ActionSubscribe})
		}
	}
	for _, reg := range rm.dealer.List() {
		if f.Covers(reg.Procedure, reg.Match) {
			members, _ := rm.dealer.Callees(reg.ID)
			out = appendHeld(out, members, selected, held{nil, reg.ID, reg.Procedure, reg.Match, authz.ActionRegister})
		}
	}
	return out
}

// appendHeld appends h once for each selected session among members (the
// broker's subscribers or the dealer's callees).
func appendHeld[M any](out []held, members []M, selected func(*session) bool, h held) []held {
	for _, m := range members {
		if s, ok := any(m).(*session); ok && selected(s) {
			h.s = s
			out = append(out, h)
		}
	}
	return out
}

// recheck asks the realm again about each membership (a dynamic role's
// authorizer is asked with the usual single-flight and timeout; any
// failure denies) and reports which are no longer allowed.
func recheck(ctx context.Context, items []held) []bool {
	denied := make([]bool, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(recheckWorkers, len(items)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := &items[i]
				var options wamp.Dict
				if it.match != wamp.MatchExact && it.match != "" {
					options = wamp.Dict{"match": it.match}
				}
				denied[i] = !it.s.Authorize(ctx, it.action, it.uri, options).Allow
			}
		}()
	}
	for i := range items {
		next <- i
	}
	close(next)
	wg.Wait()
	return denied
}

// revocations is the number of revokes past their flush, read before a
// SUBSCRIBE or REGISTER is authorized.
func (rm *realm) revocations() uint64 { return rm.revokes.Load() }

// recheckIfRevoked closes the window between authorizing a SUBSCRIBE or
// REGISTER and attaching it: if a revoke passed its flush meanwhile
// (since, from revocations, changed), its list may have missed this
// membership, so the session asks again (a fresh answer: the flush
// dropped or tainted the old one) and removes it if no longer allowed,
// as the revoke would have. Called after the SUBSCRIBED/REGISTERED.
func (s *session) recheckIfRevoked(since uint64, action authz.Action, id wamp.ID, uri wamp.URI, options wamp.Dict) {
	rm := s.realm
	if rm.revocations() == since || s.authrole == authz.RoleTrusted {
		return
	}
	if s.authorize(action, uri, options).Allow {
		return
	}
	if action == authz.ActionSubscribe {
		rm.meta.RevokeSubscription(s, id, revokeReason)
	} else {
		rm.meta.RevokeRegistration(s, id, revokeReason)
	}
	s.log.Info("authorization revoked while the request was authorized", string(action), uri)
}
