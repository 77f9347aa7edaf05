package config

import (
	"math"

	"github.com/tollgate-wamp/tollgate/router"
)

// realmBounds reads Tollgate's per-session routing bounds and event
// storage bounds from a realm's options: 0 is the router's default, -1
// unbounded (docs/config.md).
func (p *parser) realmBounds(om *mapping, realm *router.RealmOptions) {
	for _, b := range []struct {
		key string
		to  *int
	}{
		{"max_calls_per_caller", &realm.MaxCallsPerCaller},
		{"max_calls_per_callee", &realm.MaxCallsPerCallee},
		{"max_subscriptions_per_session", &realm.MaxSubscriptionsPerSession},
		{"max_registrations_per_session", &realm.MaxRegistrationsPerSession},
		{"stored_event_bytes", &realm.StoredEventBytes},
		{"retained_bytes", &realm.RetainedBytes},
		{"history_bytes", &realm.HistoryBytes},
	} {
		if v, vp := om.get(b.key); v != nil {
			*b.to, _ = p.integer(v, vp, -1, math.MaxInt32)
		}
	}
}
