package router

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-wamp/tollgate/authz"
)

var dFlushes = desc("tollgate_authz_cache_flushes_total", "Authorizer cache flushes (tollgate.authorizer.flush calls and config reloads), by realm.", "realm")

// authzFamilies are the per-realm authorizer and cache series; only realms
// with roles (and so an authorizer) have them.
var authzFamilies = []struct {
	d   *prometheus.Desc
	typ prometheus.ValueType
	v   func(cs *authz.CacheStats) float64
}{
	{desc("tollgate_authz_cache_hits_total", "Authorization questions answered from the authorizer cache, by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.Hits) }},
	{desc("tollgate_authz_cache_misses_total", "Authorization questions of dynamic roles not answered from the cache, by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.Misses) }},
	{desc("tollgate_authz_cache_evictions_total", "Authorizer cache entries evicted to stay within the cache size, by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.Evictions) }},
	{desc("tollgate_authz_cache_entries", "Authorizer cache entries held, by realm.", "realm"),
		prometheus.GaugeValue, func(cs *authz.CacheStats) float64 { return float64(max(cs.Entries, 0)) }},
	{desc("tollgate_authz_cache_discarded_total", "Cacheable authorizer answers not cached because a flush or the session leaving overtook the call, by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.Discarded) }},
	{desc("tollgate_authorizer_calls_total", "Calls made to dynamic authorizers, by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.AuthorizerCalls) }},
	{desc("tollgate_authorizer_failures_total", "Dynamic authorizer calls that failed (error, timeout, not registered, malformed answer), by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.Failures) }},
	{desc("tollgate_authorizer_shared_total", "Authorization questions answered by an identical question's authorizer call in flight, by realm.", "realm"),
		prometheus.CounterValue, func(cs *authz.CacheStats) float64 { return float64(cs.Shared) }},
}
