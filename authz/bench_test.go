package authz

import (
	"context"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

var benchURIs = []wamp.URI{
	"com.example.orders.get",            // exact
	"com.example.users.profile.updated", // wildcard
	"com.example.chat.rpc.send",         // starred prefix
	"com.example.billing.invoice.42",    // prefix
	"org.unknown.thing",                 // deny
}

// BenchmarkStatic: a role with ~50 permissions, URIs of typical length.
func BenchmarkStatic(b *testing.B) {
	r := staticRealm(b, typicalPermissions()...)
	s := userSession("user")
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Authorize(ctx, s, benchURIs[i%len(benchURIs)], ActionSubscribe, nil)
		i++
	}
}

// BenchmarkCacheHit: a dynamic role with a warmed session-scoped cache.
func BenchmarkCacheHit(b *testing.B) {
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": true})}
	r := dynRealm(b, a, Options{})
	s := userSession("user")
	ctx := context.Background()
	for _, u := range benchURIs {
		r.Authorize(ctx, s, u, ActionSubscribe, nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Authorize(ctx, s, benchURIs[i%len(benchURIs)], ActionSubscribe, nil)
		i++
	}
	if a.calls.Load() != int64(len(benchURIs)) {
		b.Fatalf("calls = %d", a.calls.Load())
	}
}

// BenchmarkCacheHitParallel: many sessions hitting one realm's cache.
func BenchmarkCacheHitParallel(b *testing.B) {
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true, "cache": wamp.Dict{"scope": "authrole"}})}
	r := dynRealm(b, a, Options{})
	ctx := context.Background()
	for _, u := range benchURIs {
		r.Authorize(ctx, userSession("user"), u, ActionSubscribe, nil)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		s := userSession("user")
		i := 0
		for pb.Next() {
			r.Authorize(ctx, s, benchURIs[i%len(benchURIs)], ActionSubscribe, nil)
			i++
		}
	})
}

// BenchmarkDynamicMiss: every question goes to an in-process authorizer.
func BenchmarkDynamicMiss(b *testing.B) {
	a := &authorizer{answer: answerWith(wamp.Dict{"allow": true})}
	r := dynRealm(b, a, Options{})
	s := userSession("user")
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.Authorize(ctx, s, benchURIs[i%len(benchURIs)], ActionSubscribe, nil)
		i++
	}
}
