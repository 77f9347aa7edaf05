package cluster_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSingleNodeBuildLinksNoNATS: the router library (and its test
// helper) never import NATS; only cluster/natscluster does.
func TestSingleNodeBuildLinksNoNATS(t *testing.T) {
	for _, pkg := range []string{"github.com/tollgate-wamp/tollgate/router", "github.com/tollgate-wamp/tollgate/routertest", "github.com/tollgate-wamp/tollgate/cluster"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		if !strings.Contains(string(out), pkg+"\n") {
			t.Fatalf("go list -deps %s does not list the package itself:\n%s", pkg, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.Contains(dep, "nats-io") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
