package natscluster_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
)

// TestAdvertise: n0 and n2 listen on one address and advertise another
// (a TCP forwarder standing for NAT or a container's published port).
// Both have only n1's route configured, so they learn each other from
// n1's gossip, which carries the advertised addresses: the route between
// them can only go through a forwarder. The three form a full mesh and
// events cross it both ways.
func TestAdvertise(t *testing.T) {
	alias := map[int]*proxy{}
	nodes := startMesh(t, 3, func(i int, c *natscluster.Config) {
		if i != 1 {
			alias[i] = newProxy(t, c.Listen)
			c.Advertise = alias[i].addr()
			c.Routes = []string{c.Routes[1]}
		}
	})
	waitFor(t, "full mesh through the advertised addresses", func() bool {
		return nodes[0].c.Peers() == 2 && nodes[2].c.Peers() == 2
	})
	if alias[0].accepted()+alias[2].accepted() == 0 {
		t.Fatal("n0 and n2 linked without an advertised address")
	}
	crossTraffic(t, nodes[0], nodes[2])
	crossTraffic(t, nodes[2], nodes[0])
}
