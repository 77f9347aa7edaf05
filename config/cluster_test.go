package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

const clusterTail = `      - type: rawsocket
        endpoint: {type: tcp, port: 8081}
`

func TestClusterEmbedded(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "c.yaml", `cluster:
  node_name: node-a
  subject_prefix: tg2
  nats:
    embedded:
      cluster_name: tg
      listen: 127.0.0.1:6222
      routes: [nats-route://127.0.0.1:6223, nats-route://127.0.0.1:6224]
      ping_interval: 250ms
      max_pings_out: 3
      max_payload: 1048576
      jetstream: {store_dir: /var/lib/tollgate/nats, max_memory: 67108864}
  registry: {replicas: 3}
`+minimalHead+clusterTail)
	want := &Cluster{NodeName: "node-a", SubjectPrefix: "tg2", ClusterName: "tg", Listen: "127.0.0.1:6222",
		Routes: []string{"nats-route://127.0.0.1:6223", "nats-route://127.0.0.1:6224"}, PingInterval: 250 * time.Millisecond,
		MaxPingsOut: 3, MaxPayload: 1 << 20, StoreDir: "/var/lib/tollgate/nats", MaxMemory: 64 << 20, RegistryReplicas: 3,
		Heartbeat: 250 * time.Millisecond, DeadAfter: 1500 * time.Millisecond, GatherTimeout: time.Second, DrainAfter: 10 * time.Second, ConfigMismatch: "strict"}
	if !reflect.DeepEqual(c.Cluster, want) {
		t.Errorf("Cluster = %+v, want %+v", c.Cluster, want)
	}
	c, _ = mustParse(t, "u.yaml", "cluster: {node_name: n1, nats: {url: 'nats://h1:4222, nats://h2:4222'}}\n"+minimalHead+clusterTail)
	if c.Cluster.URL == "" || c.Cluster.SubjectPrefix != "tg" || c.Cluster.Listen != "" {
		t.Errorf("external NATS: %+v", c.Cluster)
	}
	if s := c.Summary(); !strings.HasSuffix(s, ", cluster node n1 over NATS nats://h1:4222, nats://h2:4222") {
		t.Errorf("Summary = %q", s)
	}
	if c, _ := mustParse(t, "none.yaml", minimalHead+clusterTail); c.Cluster != nil {
		t.Errorf("no cluster key gave %+v", c.Cluster)
	}
}

func TestClusterErrors(t *testing.T) {
	t.Parallel()
	_, _, err := Parse("bad.yaml", []byte(`cluster:
  node_name: ""
  subject_prefix: "a.b"
  registry: {replicas: 9}
  nats:
    url: nats://h:4222
    embedded:
      listen: nowhere
      routes: [http://x]
      jetstream: {}
      bogus: 1
`+minimalHead+clusterTail))
	got := strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad.yaml:2:14: cluster.node_name: must be a non-empty name`,
		`bad.yaml:3:19: cluster.subject_prefix: must be 1 to 32 of [A-Za-z0-9_-]`,
		`bad.yaml:4:24: cluster.registry.replicas: must be an integer 1-5, got 9`,
		`bad.yaml:8:7: cluster.nats.embedded: give either nats.url`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	_, _, err = Parse("bad2.yaml", []byte(`cluster:
  nats:
    embedded:
      listen: nowhere
      routes: [http://x]
      jetstream: {store_dir: "", max_memory: 5, x: 1}
      bogus: 1
  registry: {replicas: 9}
`+minimalHead+clusterTail))
	got = strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad2.yaml:4:15: cluster.nats.embedded.listen: must be host:port`,
		`bad2.yaml:5:16: cluster.nats.embedded.routes[0]: must be nats-route://host:port`,
		`bad2.yaml:6:30: cluster.nats.embedded.jetstream.store_dir: must be a directory`,
		`bad2.yaml:6:46: cluster.nats.embedded.jetstream.max_memory:`,
		`bad2.yaml:6:49: cluster.nats.embedded.jetstream: unknown key "x"`,
		`bad2.yaml:8:24: cluster.registry.replicas:`,
		`bad2.yaml:7:7: cluster.nats.embedded: unknown key "bogus"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	_, _, err = Parse("bad3.yaml", []byte("cluster: {node_name: a}\n"+minimalHead+clusterTail))
	if got := strings.Join(errLines(t, err), "\n"); !strings.Contains(got, `bad3.yaml:1:10: cluster: missing required key "nats"`) {
		t.Errorf("missing nats: %s", got)
	}
}

func TestClusterMembership(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "m.yaml", `cluster:
  nats: {url: nats://h:4222}
  heartbeat: {interval: 100ms, dead_after: 1s}
  meta: {gather_timeout: 2s}
  partition: {drain_after: 0}
  config_mismatch: warn
`+minimalHead+clusterTail)
	if cl := c.Cluster; cl.Heartbeat != 100*time.Millisecond || cl.DeadAfter != time.Second || cl.GatherTimeout != 2*time.Second ||
		cl.DrainAfter != 0 || cl.ConfigMismatch != "warn" {
		t.Errorf("membership keys: %+v", cl)
	}
	_, _, err := Parse("bad.yaml", []byte(`cluster:
  nats: {url: nats://h:4222}
  heartbeat: {interval: 1s, dead_after: 1500ms, jitter: 1}
  meta: {gather_timeout: soon}
  config_mismatch: loose
`+minimalHead+clusterTail))
	got := strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad.yaml:3:41: cluster.heartbeat.dead_after: must be at least twice heartbeat.interval (1s), got 1.5s`,
		`bad.yaml:3:49: cluster.heartbeat: unknown key "jitter"`,
		`bad.yaml:4:26: cluster.meta.gather_timeout: must be an integer (milliseconds) or a duration`,
		`bad.yaml:5:20: cluster.config_mismatch: must be strict or warn, got "loose"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

// TestClusterExamples: the README's three node configs pass and route to
// each other's listeners.
func TestClusterExamples(t *testing.T) {
	t.Parallel()
	listen := map[string]string{}
	var cs []*Cluster
	for _, n := range []string{"a", "b", "c"} {
		c, w, err := Load("../examples/cluster/node-" + n + ".yaml")
		if err != nil || len(w) > 0 {
			t.Fatalf("node-%s: %v %v", n, err, w)
		}
		if c.Cluster == nil || c.Cluster.NodeName != "node-"+n {
			t.Fatalf("node-%s: cluster %+v", n, c.Cluster)
		}
		listen[c.Cluster.Listen] = c.Cluster.NodeName
		cs = append(cs, c.Cluster)
	}
	for _, c := range cs {
		for _, r := range c.Routes {
			if peer := listen[strings.TrimPrefix(r, "nats-route://")]; peer == "" || peer == c.NodeName {
				t.Errorf("%s routes to %s, which is no other node's listener", c.NodeName, r)
			}
		}
		if len(c.Routes) != 2 {
			t.Errorf("%s has %d routes, want 2", c.NodeName, len(c.Routes))
		}
	}
}

// TestClusterRealmsAndAdvertise: realms lists clustered realms of this
// config (all by default); advertise is the route address peers dial.
func TestClusterRealmsAndAdvertise(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "r.yaml", `cluster:
  realms: [realm1]
  nats: {embedded: {listen: 0.0.0.0:6222, advertise: "node-a.internal:16222"}}
`+minimalHead+clusterTail)
	if cl := c.Cluster; !reflect.DeepEqual(cl.Realms, []wamp.URI{"realm1"}) || cl.Advertise != "node-a.internal:16222" ||
		!cl.Clustered("realm1") || cl.Clustered("other") {
		t.Errorf("realms/advertise: %+v", cl)
	}
	c, _ = mustParse(t, "all.yaml", "cluster: {realms: all, nats: {url: nats://h:4222}}\n"+minimalHead+clusterTail)
	if cl := c.Cluster; cl.Realms != nil || !cl.Clustered("anything") {
		t.Errorf("realms: all gave %+v", cl.Realms)
	}
	_, _, err := Parse("bad.yaml", []byte(`cluster:
  realms: [realm1, nope, realm1, ""]
  nats:
    embedded: {listen: 127.0.0.1:6222, advertise: "h:0"}
`+minimalHead+clusterTail))
	got := strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad.yaml:2:20: cluster.realms[1]: realm "nope" is not defined in this config`,
		`bad.yaml:2:26: cluster.realms[2]: realm "realm1" is listed twice`,
		`bad.yaml:2:34: cluster.realms[3]: empty realm name`,
		`bad.yaml:4:51: cluster.nats.embedded.advertise: must be host:port the peers can dial (port 1 to 65535), got "h:0"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	_, _, err = Parse("bad2.yaml", []byte(`cluster:
  realms: some
  nats: {embedded: {advertise: "h:6222"}}
`+minimalHead+clusterTail))
	got = strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad2.yaml:2:11: cluster.realms: must be all or a list of realm names, got "some"`,
		`bad2.yaml:3:32: cluster.nats.embedded.advertise: needs nats.embedded.listen`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	_, _, err = Parse("bad3.yaml", []byte("cluster: {realms: [], nats: {url: nats://h:4222}}\n"+minimalHead+clusterTail))
	if got := strings.Join(errLines(t, err), "\n"); !strings.Contains(got, `bad3.yaml:1:19: cluster.realms: must list at least one realm`) {
		t.Errorf("empty realms: %s", got)
	}
}
