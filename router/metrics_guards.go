package router

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-wamp/tollgate/internal/guard"
)

// The guards on the path to dynamic authenticators and authorizers
// (internal/guard), read at scrape time. Labels: kind (authenticator or
// authorizer), the realm the procedure is called in, and the procedure;
// the set is bounded by the config.

var (
	gLabels        = []string{"kind", "realm", "procedure"}
	dGuardInFlight = prometheus.NewDesc("tollgate_backend_in_flight",
		"Calls in flight to a dynamic authenticator or authorizer, by kind, realm it is called in and procedure.", gLabels, nil)
	dGuardQueued = prometheus.NewDesc("tollgate_backend_queued",
		"Logins or authorization questions waiting for a free call slot (max_in_flight reached).", gLabels, nil)
	dGuardRejected = prometheus.NewDesc("tollgate_backend_rejected_total",
		"Logins or questions failed closed without a call, by reason: queue_full, wait_timeout, circuit_open.", append(gLabels, "reason"), nil)
	dGuardOpen = prometheus.NewDesc("tollgate_backend_breaker_open",
		"1 while the procedure's circuit breaker fails calls fast, else 0.", gLabels, nil)
	dGuardOpenings = prometheus.NewDesc("tollgate_backend_breaker_openings_total",
		"Times the procedure's circuit breaker opened.", gLabels, nil)
	guardDescs = []*prometheus.Desc{dGuardInFlight, dGuardQueued, dGuardRejected, dGuardOpen, dGuardOpenings}
)

// guardSet is a snapshot of guards in key order; a key seen twice (two
// realms' roles calling one authorizer in the same realm) is summed.
type guardSet struct {
	keys  []guard.Key
	stats map[guard.Key]guard.Stats
}

func (gs *guardSet) add(k guard.Key, st guard.Stats) {
	if gs.stats == nil {
		gs.stats = map[guard.Key]guard.Stats{}
	}
	sum, seen := gs.stats[k]
	if !seen {
		gs.keys = append(gs.keys, k)
	}
	sum.Add(st)
	gs.stats[k] = sum
}

// guardStats snapshots the authenticators' guards (one router-wide table)
// and the authorizers' (one table per realm's roles).
func (r *Router) guardStats() (authn, authz guardSet) {
	r.authnGuards.Each(func(k guard.Key, g *guard.Guard) { authn.add(k, g.Stats()) })
	for _, n := range r.realmNames() {
		if rm := r.realms[n]; rm.authz != nil {
			rm.authz.cur.Load().Guards(authz.add)
		}
	}
	return authn, authz
}

func (r *Router) collectGuards(ch chan<- prometheus.Metric) {
	authn, authz := r.guardStats()
	for _, set := range []struct {
		kind string
		gs   guardSet
	}{{"authenticator", authn}, {"authorizer", authz}} {
		for _, k := range set.gs.keys {
			st := set.gs.stats[k]
			lv := []string{set.kind, string(k.Realm), string(k.Procedure)}
			ch <- prometheus.MustNewConstMetric(dGuardInFlight, prometheus.GaugeValue, float64(st.InFlight), lv...)
			ch <- prometheus.MustNewConstMetric(dGuardQueued, prometheus.GaugeValue, float64(st.Queued), lv...)
			for _, reason := range guard.Reasons {
				ch <- prometheus.MustNewConstMetric(dGuardRejected, prometheus.CounterValue, float64(st.Rejected[reason]), append(lv, reason.String())...)
			}
			open := 0.0
			if st.Open {
				open = 1
			}
			ch <- prometheus.MustNewConstMetric(dGuardOpen, prometheus.GaugeValue, open, lv...)
			ch <- prometheus.MustNewConstMetric(dGuardOpenings, prometheus.CounterValue, float64(st.Opened), lv...)
		}
	}
}
