package router_test

import (
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// explainServing calls tollgate.authorizer.explain from backend,
// answering an authorizer question with answer (nil: expect none).
func explainServing(t *testing.T, backend *peer, args wamp.List, kwargs wamp.Dict, answer any) wamp.Dict {
	t.Helper()
	return revokeLike(t, backend, "tollgate.authorizer.explain", args, kwargs, func(uri, action string) any {
		if answer == nil {
			t.Errorf("explain asked the authorizer about %s %s", action, uri)
			return false
		}
		return answer
	})
}

func TestExplain(t *testing.T) {
	t.Parallel()
	srv, backdoor, front := authzRouter(t)
	backend := joinBackend(t, backdoor, "realm1")
	backend.register("com.example.authorize", wamp.Dict{})
	gus := loginTicket(t, front, "gus")
	joe := loginTicket(t, front, "joe")

	e := explainServing(t, backend, wamp.List{int64(gus.id), "public.echo", "call"}, nil, nil)
	if e["allow"] != true || e["source"] != "static" || e["asked"] != false {
		t.Errorf("static: %v", e)
	}
	deepEqual(t, "rule", e["rule"], wamp.Dict{"uri": "public", "match": "prefix", "index": int64(0)})
	if _, ok := wamp.AsInt(e["latency_us"]); !ok {
		t.Errorf("latency_us %v", e["latency_us"])
	}
	e = explainServing(t, backend, wamp.List{wamp.Dict{"realm": "realm1", "authrole": "guest"}, "private.x", "call"}, nil, nil)
	if e["allow"] != false || e["source"] != "default" {
		t.Errorf("no rule: %v", e)
	}
	// Dynamic, not cached, not asked: a deny that says the authorizer would be asked.
	e = explainServing(t, backend, wamp.List{int64(joe.id), "public.a", "subscribe"}, nil, nil)
	if e["allow"] != false || e["source"] != "default" || !containsAll(e["message"].(string), "com.example.authorize") {
		t.Errorf("not cached: %v", e)
	}
	subscribeAuthorized(t, joe, backend, "public.a", wamp.Dict{}, wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authid", "ttl": 60}})
	for _, who := range []any{int64(joe.id), wamp.Dict{"authrole": "user", "authid": "joe"}} {
		e = explainServing(t, backend, wamp.List{who, "public.a", "subscribe"}, nil, nil)
		c, _ := e["cache"].(wamp.Dict)
		if exp, _ := c["expires_in"].(float64); e["allow"] != true || e["source"] != "cache" || c["scope"] != "authid" || exp <= 0 || exp > 66 {
			t.Errorf("cached, for %v: %v", who, e)
		}
	}
	// Asked on request: marked, and nothing is cached.
	before, _ := srv.Router().AuthzCacheStats("realm1")
	e = explainServing(t, backend, wamp.List{int64(joe.id), "public.z", "publish"}, wamp.Dict{"ask": true}, wamp.Dict{"allow": true, "cache": true})
	if e["allow"] != true || e["source"] != "authorizer" || e["asked"] != true {
		t.Errorf("asked: %v", e)
	}
	after, _ := srv.Router().AuthzCacheStats("realm1")
	if after.Entries != before.Entries || after.Hits != before.Hits || after.Misses != before.Misses {
		t.Errorf("explain changed the cache: %+v → %+v", before, after)
	}
	joe.expectNothing(10 * time.Millisecond)

	for _, args := range []wamp.List{
		{int64(joe.id), "public.a"},
		{int64(999999), "public.a", "call"},
		{wamp.Dict{"authid": "joe"}, "public.a", "call"},
		{wamp.Dict{"realm": "other", "authrole": "user"}, "public.a", "call"},
		{int64(joe.id), "public.a", "delete"},
	} {
		backend.callErr("tollgate.authorizer.explain", args, nil, wamp.ErrInvalidArgument)
	}
	backend.callErr("tollgate.authorizer.explain", wamp.List{int64(joe.id), "public.a", "call"}, wamp.Dict{"ask": "yes"}, wamp.ErrInvalidArgument)
}
