package natscluster_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
)

// TestRouteAddressInUse: a route listener on a port another process holds
// fails at once, naming the address, not after the 10 s readiness wait.
func TestRouteAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	start := time.Now()
	c, err := natscluster.New(natscluster.Config{Node: "n0", Listen: addr})
	if err == nil {
		c.Stop()
		t.Fatal("New listened on a route address in use")
	}
	if !strings.Contains(err.Error(), "listen "+addr) || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("err = %v, want it to name %s and the address in use", err, addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v to refuse", d)
	}
}
