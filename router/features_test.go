package router_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestAdvancedFeaturesAnnounced: WELCOME announces the advanced features
// docs/features.md lists for broker and dealer.
func TestAdvancedFeaturesAnnounced(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialPeer(t, srv, "tcp", "json")
	w := p.join()
	roles, _ := wamp.OptDict(w.Details, "roles")
	want := map[string][]string{
		"broker": {"publisher_identification", "publisher_exclusion", "subscriber_blackwhite_listing",
			"pattern_based_subscription", "event_retention", "event_history", "payload_passthru_mode"},
		"dealer": {"caller_identification", "pattern_based_registration", "shared_registration",
			"progressive_call_results", "progressive_call_invocations", "call_canceling", "call_timeout", "payload_passthru_mode"},
	}
	for role, keys := range want {
		r, _ := wamp.OptDict(roles, role)
		f, _ := wamp.OptDict(r, "features")
		for _, k := range keys {
			t.Run(role+"/"+k, func(t *testing.T) {
				t.Parallel()
				if v, _ := wamp.OptBool(f, k); !v {
					t.Errorf("WELCOME.Details.roles.%s.features.%s missing: %v", role, k, f)
				}
			})
		}
	}
}
