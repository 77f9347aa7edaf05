package router_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// The reply to a client's GOODBYE: wamp.close.normal by default (what
// Crossbar sends and Crossbar clients check for), the spec's
// wamp.close.goodbye_and_out when configured; the transport then carries a
// new HELLO either way (issue 14 part 2).
func TestGoodbyeReason(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		set, want wamp.URI
	}{
		{"", wamp.CloseNormal},
		{router.GoodbyeCrossbar, wamp.CloseNormal},
		{router.GoodbyeSpec, wamp.CloseGoodbyeAndOut},
	} {
		srv := routertest.Start(t, func(o *router.Options) { o.GoodbyeReason = tt.set })
		for _, kind := range []string{"ws", "tcp"} {
			p := dialPeer(t, srv, kind, "json")
			for range 2 {
				p.join()
				p.send(&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
				if g := expect[*wamp.Goodbye](p); g.Reason != tt.want {
					t.Errorf("GoodbyeReason %q, %s: reply reason %q, want %q", tt.set, kind, g.Reason, tt.want)
				}
			}
		}
	}
}
