package cli

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestRealmsHash: the config_mismatch hash covers the clustered realms
// (in any file order), not the node-local ones.
func TestRealmsHash(t *testing.T) {
	a, b := router.RealmOptions{Name: "a"}, router.RealmOptions{Name: "b"}
	local := router.RealmOptions{Name: "local", URICheck: "loose"}
	only := &config.Cluster{Realms: []wamp.URI{"a", "b"}}
	hash := func(c *config.Cluster, rs ...router.RealmOptions) string {
		cl, _ := clusteredRealms(c, rs)
		return realmsHash(cl)
	}
	base := hash(only, a, b)
	if h := hash(only, b, local, a); h != base {
		t.Errorf("a node-local realm or the file order changed the hash: %s vs %s", h, base)
	}
	if h := hash(&config.Cluster{}, a, b, local); h == base {
		t.Error("clustering one more realm left the hash unchanged")
	}
	b.URICheck = "loose"
	if h := hash(only, a, b); h == base {
		t.Error("a clustered realm's change left the hash unchanged")
	}
}
