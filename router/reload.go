package router

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Hot reload of the realms' roles (docs/operations.md, "Reload"). A realm
// with roles holds its authorizer behind a swapAuthz, so Reload can put a
// freshly compiled authz.Realm in place while sessions keep routing: new
// decisions use the new roles at once, and the new authorizer starts with
// an empty cache, so no answer given under the old roles survives.

// CloseRoleRemoved is the GOODBYE reason for a session whose role a reload
// removed.
const CloseRoleRemoved wamp.URI = "tollgate.close.role_removed"

// swapAuthz is a realm's authorizer that Reload can replace. Its methods
// are authz.Realm's; the cache counters of replaced authorizers are kept
// so the metrics' counters never go back.
type swapAuthz struct {
	cur     atomic.Pointer[authz.Realm]
	mu      sync.Mutex
	retired authz.CacheStats // counters of replaced authorizers
	flushes atomic.Uint64    // Flush calls and reloads (each empties the cache)
}

func newSwapAuthz(az *authz.Realm) *swapAuthz {
	s := &swapAuthz{}
	s.cur.Store(az)
	return s
}

func (s *swapAuthz) Authorize(ctx context.Context, ss *authz.Session, uri wamp.URI, action authz.Action, options wamp.Dict) authz.Decision {
	return s.cur.Load().Authorize(ctx, ss, uri, action, options)
}
func (s *swapAuthz) Peek(ss *authz.Session, uri wamp.URI, action authz.Action) (allowed, known bool) {
	return s.cur.Load().Peek(ss, uri, action)
}
func (s *swapAuthz) Explain(ctx context.Context, ss *authz.Session, uri wamp.URI, action authz.Action, options wamp.Dict, ask bool) authz.Explanation {
	return s.cur.Load().Explain(ctx, ss, uri, action, options, ask)
}
func (s *swapAuthz) HasRole(name string) bool { return s.cur.Load().HasRole(name) }
func (s *swapAuthz) SessionLeft(id wamp.ID)   { s.cur.Load().SessionLeft(id) }
func (s *swapAuthz) Flush(f authz.FlushFilter) int {
	s.flushes.Add(1)
	return s.cur.Load().Flush(f)
}

// CacheStats are the current authorizer's plus the replaced ones' counters
// (entries: the current cache only).
func (s *swapAuthz) CacheStats() authz.CacheStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, r := s.cur.Load().CacheStats(), s.retired
	cs.Hits += r.Hits
	cs.Misses += r.Misses
	cs.Evictions += r.Evictions
	cs.AuthorizerCalls += r.AuthorizerCalls
	cs.Failures += r.Failures
	cs.Shared += r.Shared
	cs.Discarded += r.Discarded
	cs.Rejected += r.Rejected
	cs.CircuitOpened += r.CircuitOpened
	return cs
}

func (s *swapAuthz) swap(az *authz.Realm) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushes.Add(1)
	old := s.cur.Swap(az).CacheStats()
	s.retired.Hits += old.Hits
	s.retired.Misses += old.Misses
	s.retired.Evictions += old.Evictions
	s.retired.AuthorizerCalls += old.AuthorizerCalls
	s.retired.Failures += old.Failures
	s.retired.Shared += old.Shared
	s.retired.Discarded += old.Discarded
	s.retired.Rejected += old.Rejected
	s.retired.CircuitOpened += old.CircuitOpened
}

// Reload applies the roles, authorizer settings and cache options of
// opts.Realms to the running realms. It checks everything first and
// changes nothing when anything is wrong: the realm set must be the same
// (adding or removing a realm needs a restart), and a realm cannot switch
// between open (no roles) and roles. Sessions whose role no longer exists
// are sent GOODBYE CloseRoleRemoved. Transports (and their authentication)
// are the caller's: see ServeTransport.
func (r *Router) Reload(opts Options) error {
	next := map[wamp.URI]*authz.Realm{}
	var errs []error
	seen := map[wamp.URI]bool{}
	for i, ro := range opts.Realms {
		rm := r.realms[ro.Name]
		seen[ro.Name] = true
		switch {
		case rm == nil:
			errs = append(errs, fmt.Errorf("router: realms[%d]: realm %q is new; adding a realm needs a restart", i, ro.Name))
		case r.cl != nil && (rm.cl != nil) != (opts.ClusterRealms == nil || slices.Contains(opts.ClusterRealms, ro.Name)):
			errs = append(errs, fmt.Errorf("router: realms[%d] (%s): moving a realm into or out of the cluster (ClusterRealms) needs a restart", i, ro.Name))
		case (ro.Roles == nil) != (rm.authz == nil):
			errs = append(errs, fmt.Errorf("router: realms[%d] (%s): switching between an open realm and roles needs a restart", i, ro.Name))
		case ro.Roles != nil:
			az, err := authz.NewRealm(ro.Name, ro.Roles, authz.Options{
				Caller: backendCaller{r, "authorizer"}, CacheSize: ro.AuthzCacheSize, DefaultTTL: ro.AuthzCacheTTL, Logger: r.log.With("realm", ro.Name),
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("router: realms[%d] (%s): %w", i, ro.Name, err))
				continue
			}
			next[ro.Name] = az
		}
	}
	for n := range r.realms {
		if !seen[n] {
			errs = append(errs, fmt.Errorf("router: realm %q is gone; removing a realm needs a restart", n))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for n, az := range next {
		rm := r.realms[n]
		rm.authz.swap(az)
		for _, s := range rm.list() {
			if !rm.hasRole(s.authrole) {
				s.log.Info("role removed by a config reload; closing the session", "authrole", s.authrole)
				s.Kill(CloseRoleRemoved, fmt.Sprintf("role %q was removed from realm %q by a config reload", s.authrole, n))
			}
		}
	}
	realms := append([]RealmOptions(nil), opts.Realms...)
	r.ops.realms.Store(&realms) // audit flags (audit.go), authorizer procedures (health.go)
	r.log.Info("roles reloaded", "realms", len(next))
	return nil
}

// list returns the realm's sessions now.
func (rm *realm) list() []*session {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	out := make([]*session, 0, len(rm.sessions))
	for _, s := range rm.sessions {
		out = append(out, s)
	}
	return out
}

// realmOptions returns the realms' options in force: New's, or the last
// Reload's.
func (r *Router) realmOptions() []RealmOptions {
	if p := r.ops.realms.Load(); p != nil {
		return *p
	}
	return r.opts.Realms
}
