package router_test

import (
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// revocationRoles are clientRoles plus both revocation features.
var revocationRoles = wamp.Dict{
	"publisher":  clientRoles["publisher"],
	"caller":     clientRoles["caller"],
	"subscriber": wamp.Dict{"features": wamp.Dict{"pattern_based_subscription": true, "subscription_revocation": true}},
	"callee":     wamp.Dict{"features": wamp.Dict{"pattern_based_registration": true, "registration_revocation": true}},
}

func loginTicketRoles(t *testing.T, url, authid string, roles wamp.Dict) *peer {
	p := dialURL(t, url, "json")
	p.send(&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": roles, "authmethods": wamp.List{"ticket"}, "authid": authid}})
	expect[*wamp.Challenge](p)
	p.send(&wamp.Authenticate{Signature: "pw", Extra: wamp.Dict{}})
	p.welcomed()
	return p
}

// subscribeAuthorized subscribes p (a dynamic role) while backend answers
// the authorizer with answer.
func subscribeAuthorized(t *testing.T, p, backend *peer, topic wamp.URI, opts wamp.Dict, answer any) wamp.ID {
	t.Helper()
	req := p.next()
	p.send(&wamp.Subscribe{Request: req, Options: opts, Topic: topic})
	authorizeNext(t, backend, answer)
	id := expect[*wamp.Subscribed](p).Subscription
	// Its re-check after SUBSCRIBED must not meet a revoke the test starts
	// next: both would remove the membership, the revoke counting it or not.
	p.settle()
	return id
}

// revokeServing calls tollgate.authorizer.revoke from backend (also the
// authorizer: revoke must not wait on the caller's read loop) and answers
// each authorizer question with answer(uri, action) until the RESULT.
func revokeServing(t *testing.T, backend *peer, kwargs wamp.Dict, answer func(uri, action string) any) wamp.Dict {
	t.Helper()
	return revokeLike(t, backend, "tollgate.authorizer.revoke", nil, kwargs, answer)
}

// revokeLike calls proc (revoke or explain) from backend, serving the
// authorizer as revokeServing does, and returns the result dict.
func revokeLike(t *testing.T, backend *peer, proc wamp.URI, args wamp.List, kwargs wamp.Dict, answer func(uri, action string) any) wamp.Dict {
	t.Helper()
	req := backend.next()
	backend.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: proc, Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
	for {
		switch m := backend.recv().(type) {
		case *wamp.Invocation:
			args := argsOf(t, &m.Payload)
			v := answer(args[1].(string), args[2].(string))
			if u, ok := v.(wamp.URI); ok {
				backend.send(&wamp.Error{RequestType: wamp.TypeInvocation, Request: m.Request, Details: wamp.Dict{}, Error: u})
				continue
			}
			backend.send(&wamp.Yield{Request: m.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{v}}})
		case *wamp.Error:
			t.Fatalf("%s: ERROR %s %v", proc, m.Error, argsOf(t, &m.Payload))
		case *wamp.Result:
			if m.Request != req {
				t.Fatalf("RESULT for %d, want %d", m.Request, req)
			}
			d, _ := argsOf(t, &m.Payload)[0].(wamp.Dict)
			return d
		case *wamp.Event:
			// meta events the backend subscribed to: keep for the test
			stashEvent(backend, m)
		default:
			t.Fatalf("backend got %v during revoke", m.MessageType())
		}
	}
}

func TestRevokeRemovesLiveState(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	onUnsub := backend.subscribe("wamp.subscription.on_unsubscribe", wamp.Dict{})
	onUnreg := backend.subscribe("wamp.registration.on_unregister", wamp.Dict{})

	joe := loginTicketRoles(t, front, "joe", revocationRoles)
	allow := wamp.Dict{"allow": true, "cache": true}
	subA := subscribeAuthorized(t, joe, backend, "public.a", wamp.Dict{}, allow)
	subB := subscribeAuthorized(t, joe, backend, "public.b", wamp.Dict{}, allow)
	req := joe.next()
	joe.send(&wamp.Register{Request: req, Options: wamp.Dict{}, Procedure: "public.proc"})
	authorizeNext(t, backend, allow)
	reg := expect[*wamp.Registered](joe).Registration
	joe.settle()
	// bob has no revocation features and an authorizer that fails: fail closed, silent.
	bob := loginTicket(t, front, "bob")
	bobA := subscribeAuthorized(t, bob, backend, "public.a", wamp.Dict{}, allow)
	// gus (static role) keeps what its permissions allow.
	gus := loginTicket(t, front, "gus")
	gus.subscribe("public.a", wamp.Dict{})

	res := revokeServing(t, backend, wamp.Dict{"uri_prefix": "public", "reason": "fired"}, func(uri, action string) any {
		switch {
		case uri == "public.b":
			return true
		case uri == "public.a" && action == "subscribe":
			return false
		}
		return wamp.URI("com.example.down") // public.proc, and bob's question
	})
	for k, want := range map[string]int64{"subscriptions": 2, "registrations": 1, "checked": 5, "killed": 0} {
		if res[k] != want {
			t.Errorf("revoke %s = %v, want %d (%v)", k, res[k], want, res)
		}
	}
	u := expect[*wamp.Unsubscribed](joe)
	if u.Request != 0 || asID(t, u.Details["subscription"]) != subA || u.Details["reason"] != "fired" {
		t.Errorf("UNSUBSCRIBED %d %v", u.Request, u.Details)
	}
	ur := expect[*wamp.Unregistered](joe)
	if ur.Request != 0 || asID(t, ur.Details["registration"]) != reg || ur.Details["reason"] != "fired" {
		t.Errorf("UNREGISTERED %d %v", ur.Request, ur.Details)
	}
	seen := map[wamp.ID]bool{}
	for range 2 {
		e := backend.event(onUnsub)
		seen[asID(t, e[1])] = true
	}
	deepEqual(t, "on_unsubscribe", seen, map[wamp.ID]bool{subA: true, bobA: true})
	if e := backend.event(onUnreg); asID(t, e[0]) != joe.id || asID(t, e[1]) != reg {
		t.Errorf("on_unregister %v", e)
	}

	// Right after the answer: a publication to public.a reaches gus only;
	// the next event joe and bob see is public.b's, and the call finds no callee.
	backend.send(&wamp.Publish{Request: backend.next(), Options: wamp.Dict{}, Topic: "public.a", Payload: wamp.Payload{Args: wamp.List{"a"}}})
	backend.send(&wamp.Publish{Request: backend.next(), Options: wamp.Dict{}, Topic: "public.b", Payload: wamp.Payload{Args: wamp.List{"b"}}})
	if ev := expect[*wamp.Event](joe); ev.Subscription != subB {
		t.Errorf("joe got an event of subscription %d, want only %d", ev.Subscription, subB)
	}
	if ev := expect[*wamp.Event](gus); argsOf(t, &ev.Payload)[0] != "a" {
		t.Errorf("gus got %v", argsOf(t, &ev.Payload))
	}
	req = backend.next()
	backend.send(&wamp.Call{Request: req, Options: wamp.Dict{}, Procedure: "public.proc"})
	backend.expectError(wamp.TypeCall, req, wamp.ErrNoSuchProcedure)
	bob.expectNothing(50 * time.Millisecond)
	joe.expectNothing(10 * time.Millisecond)
}

func TestRevokeKill(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	joe := loginTicket(t, front, "joe")
	subscribeAuthorized(t, joe, backend, "public.a", wamp.Dict{"match": "prefix"}, wamp.Dict{"allow": true, "cache": true})
	bob := loginTicket(t, front, "bob")
	subscribeAuthorized(t, bob, backend, "public.a", wamp.Dict{}, wamp.Dict{"allow": true, "cache": true})

	var asked []string
	res := revokeServing(t, backend, wamp.Dict{"authid": "joe", "kill": true}, func(uri, action string) any {
		asked = append(asked, uri+" "+action)
		return false
	})
	deepEqual(t, "questions", asked, []string{"public.a subscribe"})
	if res["killed"] != int64(1) || res["subscriptions"] != int64(1) {
		t.Errorf("revoke = %v", res)
	}
	g := expect[*wamp.Goodbye](joe)
	if g.Reason != router.CloseRevoked {
		t.Errorf("GOODBYE %s", g.Reason)
	}
	bob.expectNothing(30 * time.Millisecond)

	// Bad arguments get a clear error.
	backend.callErr("tollgate.authorizer.revoke", nil, wamp.Dict{"kill": "yes"}, wamp.ErrInvalidArgument)
	backend.callErr("tollgate.authorizer.revoke", nil, wamp.Dict{"nope": 1}, wamp.ErrInvalidArgument)
	backend.callErr("tollgate.authorizer.revoke", wamp.List{1}, nil, wamp.ErrInvalidArgument)
}

// A SUBSCRIBE authorized before a revoke and attached after its list
// re-checks itself: the revoke cannot miss it.
func TestRevokeDuringSubscribe(t *testing.T) {
	t.Parallel()
	_, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	joe := loginTicketRoles(t, front, "joe", revocationRoles)

	req := joe.next()
	joe.send(&wamp.Subscribe{Request: req, Options: wamp.Dict{}, Topic: "public.x"})
	pending := expect[*wamp.Invocation](backend) // the old policy's question, still unanswered
	res := revokeServing(t, backend, wamp.Dict{"authid": "joe"}, func(uri, action string) any {
		t.Errorf("revoke asked about %s %s: nothing was attached yet", action, uri)
		return false
	})
	if res["checked"] != int64(0) {
		t.Errorf("revoke = %v", res)
	}
	backend.send(&wamp.Yield{Request: pending.Request, Options: wamp.Dict{}, Payload: wamp.Payload{Args: wamp.List{wamp.Dict{"allow": true, "cache": true}}}})
	sub := expect[*wamp.Subscribed](joe).Subscription
	authorizeNext(t, backend, false) // asked again: the old answer was not cached
	if u := expect[*wamp.Unsubscribed](joe); asID(t, u.Details["subscription"]) != sub {
		t.Errorf("UNSUBSCRIBED %v", u.Details)
	}
}
