package router

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Join outcomes: per join, not per message, so router-wide atomics. Labels
// come from fixed sets: the router's auth methods and providers (anything
// else is "other") and errorURIs for refusal reasons.

var (
	joinMethods   = [...]string{auth.MethodAnonymous, auth.MethodTicket, auth.MethodWAMPCRA, auth.MethodCryptosign, auth.MethodTLS, "other"}
	joinProviders = [...]string{auth.ProviderStatic, auth.ProviderDynamic, "other"}
)

type joinCounts struct {
	accepted [len(joinMethods)][len(joinProviders)]atomic.Uint64
	refused  errorCounts // by reason, indexed like errorURIs
}

func indexOf(list []string, v string) int {
	for i, s := range list {
		if s == v {
			return i
		}
	}
	return len(list) - 1 // "other"
}

// countJoin counts an accepted join (lifecycle.join).
func (r *Router) countJoin(method, provider string) {
	r.joins.accepted[indexOf(joinMethods[:], method)][indexOf(joinProviders[:], provider)].Add(1)
}

// countRefusal counts a join refused with reason (handshake.authFailed).
func (r *Router) countRefusal(reason wamp.URI) {
	i, ok := errorIndex[reason]
	if !ok {
		i = len(errorURIs)
	}
	r.joins.refused[i].Add(1)
}

var (
	dJoins        = desc("tollgate_joins_total", "Sessions joined, by authentication method and provider.", "authmethod", "authprovider")
	dRefusals     = desc("tollgate_join_refusals_total", "Joins refused by authentication or role checks, by ABORT reason.", "reason")
	dAcceptErrors = desc("tollgate_accept_errors_total", "Errors accepting connections on the listeners (retried).")
)

func (r *Router) collectJoins(ch chan<- prometheus.Metric) {
	for m := range r.joins.accepted {
		for p := range r.joins.accepted[m] {
			ch <- prometheus.MustNewConstMetric(dJoins, prometheus.CounterValue, float64(r.joins.accepted[m][p].Load()), joinMethods[m], joinProviders[p])
		}
	}
	for i := range r.joins.refused {
		reason := "other"
		if i < len(errorURIs) {
			reason = string(errorURIs[i])
		}
		ch <- prometheus.MustNewConstMetric(dRefusals, prometheus.CounterValue, float64(r.joins.refused[i].Load()), reason)
	}
	ch <- prometheus.MustNewConstMetric(dAcceptErrors, prometheus.CounterValue, float64(r.stats.acceptErrors.Load()))
}
