package wamp_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestValidInvokeAndCancelMode(t *testing.T) {
	t.Parallel()
	for _, p := range []string{wamp.InvokeSingle, wamp.InvokeRoundRobin, wamp.InvokeRandom, wamp.InvokeFirst, wamp.InvokeLast} {
		if !wamp.ValidInvoke(p) {
			t.Errorf("ValidInvoke(%q) = false", p)
		}
	}
	for _, p := range []string{"", "Single", "round_robin", "kill"} {
		if wamp.ValidInvoke(p) {
			t.Errorf("ValidInvoke(%q) = true", p)
		}
	}
	for _, m := range []string{wamp.CancelSkip, wamp.CancelKill, wamp.CancelKillNoWait} {
		if !wamp.ValidCancelMode(m) {
			t.Errorf("ValidCancelMode(%q) = false", m)
		}
	}
	for _, m := range []string{"", "kill_nowait", "single"} {
		if wamp.ValidCancelMode(m) {
			t.Errorf("ValidCancelMode(%q) = true", m)
		}
	}
}

func TestHasFeature(t *testing.T) {
	t.Parallel()
	roles := wamp.Dict{
		wamp.RoleDealer: wamp.Dict{"features": wamp.Features(wamp.FeatureSharedRegistration)},
		wamp.RoleCallee: wamp.Dict{"features": wamp.Dict{"call_cancelling": true, wamp.FeatureCallTimeout: "yes"}},
	}
	tests := []struct {
		role, feature string
		want          bool
	}{
		{wamp.RoleDealer, wamp.FeatureSharedRegistration, true},
		{wamp.RoleDealer, wamp.FeatureCallCanceling, false},
		{wamp.RoleBroker, wamp.FeatureSharedRegistration, false},
		// The spec's other spelling counts for call_canceling only.
		{wamp.RoleCallee, wamp.FeatureCallCanceling, true},
		// Values other than true mean not supported.
		{wamp.RoleCallee, wamp.FeatureCallTimeout, false},
	}
	for _, tt := range tests {
		if got := wamp.HasFeature(roles, tt.role, tt.feature); got != tt.want {
			t.Errorf("HasFeature(%s, %s) = %v, want %v", tt.role, tt.feature, got, tt.want)
		}
	}
	if wamp.HasFeature(nil, wamp.RoleDealer, wamp.FeatureCallTimeout) {
		t.Error("HasFeature(nil) = true")
	}
}
