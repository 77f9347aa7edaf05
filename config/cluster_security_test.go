package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// pemFiles writes a self-signed certificate and its key (node.crt,
// node.key), a file that is no PEM at all and a credentials file into dir.
func pemFiles(t *testing.T, dir string) {
	t.Helper()
	writeCert(t, dir, "node")
	for name, b := range map[string][]byte{"junk.pem": []byte("not PEM"), "node.creds": []byte("creds")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClusterSecurity(t *testing.T) {
	dir := t.TempDir()
	pemFiles(t, dir)
	t.Setenv("TOLLGATE_TEST_ROUTE_PW", "s3cret")
	c, w := mustParse(t, filepath.Join(dir, "e.yaml"), `cluster:
  nats:
    embedded:
      listen: 0.0.0.0:6222
      auth: {user: tg, password: "${TOLLGATE_TEST_ROUTE_PW}"}
      tls: {cert: node.crt, key: node.key, ca: node.crt}
      client_listen: 127.0.0.1:4222
`+minimalHead+clusterTail)
	crt, key := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	want := ClusterSecurity{RouteUser: "tg", RoutePassword: "s3cret", RouteTLS: &ClusterTLS{Cert: crt, Key: key, CA: crt}, ClientListen: "127.0.0.1:4222"}
	if got := c.Cluster.ClusterSecurity; got.RouteUser != want.RouteUser || got.RoutePassword != want.RoutePassword ||
		got.RouteTLS == nil || *got.RouteTLS != *want.RouteTLS || got.ClientListen != want.ClientListen {
		t.Errorf("security = %+v, want %+v", got, want)
	}
	if len(w) != 0 {
		t.Errorf("warnings: %v", w)
	}
	c, _ = mustParse(t, filepath.Join(dir, "x.yaml"), `cluster:
  nats: {url: tls://h:4222, credentials: node.creds, tls: {ca: node.crt}, ping_interval: 1s}
`+minimalHead+clusterTail)
	if s := c.Cluster.ClusterSecurity; s.Credentials != filepath.Join(dir, "node.creds") || s.TLS == nil || s.TLS.CA != crt || s.ClientPingInterval != time.Second {
		t.Errorf("external: %+v", s)
	}
}

func TestClusterSecurityErrors(t *testing.T) {
	dir := t.TempDir()
	pemFiles(t, dir)
	name := filepath.Join(dir, "bad.yaml")
	_, _, err := Parse(name, []byte(`cluster:
  nats:
    embedded:
      listen: 127.0.0.1:6222
      auth: {user: tg, password: "${TOLLGATE_TEST_ROUTE_PW_UNSET}"}
      tls: {cert: node.crt, key: missing.key}
      client_listen: nowhere
    credentials: node.creds
`+minimalHead+clusterTail))
	got := strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad.yaml:5:34: cluster.nats.embedded.auth.password: the route password's environment variable is not set`,
		`bad.yaml:6:34: cluster.nats.embedded.tls.key: cannot read key file: open ` + filepath.Join(dir, "missing.key"),
		`bad.yaml:6:12: cluster.nats.embedded.tls: missing required key "ca"`,
		`bad.yaml:7:22: cluster.nats.embedded.client_listen: must be host:port`,
		`bad.yaml:8:18: cluster.nats.credentials: only for an external NATS`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
	_, _, err = Parse(name, []byte(`cluster:
  nats: {url: tls://h:4222, credentials: none.creds, tls: {cert: node.crt, ca: junk.pem}, ping_interval: soon}
`+minimalHead+clusterTail))
	got = strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad.yaml:2:42: cluster.nats.credentials: cannot read credentials file`,
		`bad.yaml:2:59: cluster.nats.tls: give cert and key together`,
		`bad.yaml:2:80: cluster.nats.tls.ca: ` + filepath.Join(dir, "junk.pem") + ` holds no PEM certificate`,
		`bad.yaml:2:106: cluster.nats.ping_interval: must be an integer (milliseconds) or a duration`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}

// TestClusterOpenRoutesWarn: routes (or the client port) outside
// loopback without auth or TLS are a warning from tollgate check.
func TestClusterOpenRoutesWarn(t *testing.T) {
	_, w := mustParse(t, "w.yaml", `cluster:
  nats:
    embedded:
      listen: 0.0.0.0:6222
      client_listen: 10.0.0.1:4222
`+minimalHead+clusterTail)
	got := strings.Join(warnLines(w), "\n")
	for _, want := range []string{
		`w.yaml:4:15: cluster.nats.embedded.listen: routes listen on 0.0.0.0:6222 without auth and tls`,
		`w.yaml:5:22: cluster.nats.embedded.client_listen: the NATS client port on 10.0.0.1:4222 is open to anyone`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	_, w = mustParse(t, "w.yaml", `cluster:
  nats:
    embedded:
      listen: 0.0.0.0:6222
      auth: {user: tg, password: pw}
`+minimalHead+clusterTail)
	if got := strings.Join(warnLines(w), "\n"); !strings.Contains(got, "without tls") {
		t.Errorf("auth without tls: warnings %q", got)
	}
}

// TestClusterSecureExamples: examples/cluster/secure's nodes are the
// plain ones plus route auth and TLS (with certificates like the ones
// make-certs.sh writes, here from writeCert).
func TestClusterSecureExamples(t *testing.T) {
	dir := t.TempDir()
	pemFiles(t, dir)
	for _, f := range [][2]string{{"node.crt", "route.crt"}, {"node.key", "route.key"}, {"node.crt", "ca.crt"}} {
		b, err := os.ReadFile(filepath.Join(dir, f[0]))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f[1]), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TG_ROUTE_PASSWORD", "try")
	for _, n := range []string{"a", "b", "c"} {
		text, err := os.ReadFile("../examples/cluster/secure/node-" + n + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		c, w, err := Parse(filepath.Join(dir, "node-"+n+".yaml"), text)
		if err != nil || len(w) > 0 {
			t.Fatalf("secure node-%s: %v %v", n, err, w)
		}
		plain, _, err := Load("../examples/cluster/node-" + n + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		s := c.Cluster.ClusterSecurity
		if s.RouteUser != "tollgate" || s.RoutePassword != "try" || s.RouteTLS == nil || s.RouteTLS.CA != filepath.Join(dir, "ca.crt") {
			t.Errorf("secure node-%s: %+v", n, s)
		}
		c.Cluster.ClusterSecurity = ClusterSecurity{}
		if !reflect.DeepEqual(c.Cluster, plain.Cluster) {
			t.Errorf("secure node-%s differs from node-%s beyond auth and tls:\n%+v\n%+v", n, n, c.Cluster, plain.Cluster)
		}
	}
}

// TestClusterClientListenTLS: client_listen takes {addr, tls}; its files
// are read at parse time, verify needs ca, and outside loopback a port
// without auth or verified client certificates is a warning.
func TestClusterClientListenTLS(t *testing.T) {
	dir := t.TempDir()
	pemFiles(t, dir)
	crt, key := filepath.Join(dir, "node.crt"), filepath.Join(dir, "node.key")
	c, w := mustParse(t, filepath.Join(dir, "c.yaml"), `cluster:
  nats:
    embedded:
      listen: 127.0.0.1:6222
      client_listen: {addr: 10.0.0.1:4222, tls: {cert: node.crt, key: node.key, ca: node.crt, verify: true}}
`+minimalHead+clusterTail)
	if s := c.Cluster.ClusterSecurity; s.ClientListen != "10.0.0.1:4222" || s.ClientTLS == nil ||
		*s.ClientTLS != (ClusterTLS{Cert: crt, Key: key, CA: crt, Verify: true}) {
		t.Errorf("client_listen: %+v %+v", s, s.ClientTLS)
	}
	if len(w) != 0 {
		t.Errorf("verified client port warned: %v", w)
	}
	_, w = mustParse(t, filepath.Join(dir, "w.yaml"), `cluster:
  nats:
    embedded:
      listen: 127.0.0.1:6222
      client_listen: {addr: 10.0.0.1:4222, tls: {cert: node.crt, key: node.key}}
`+minimalHead+clusterTail)
	if got := strings.Join(warnLines(w), "\n"); !strings.Contains(got, `w.yaml:5:29: cluster.nats.embedded.client_listen.addr: the NATS client port on 10.0.0.1:4222 is open to anyone who reaches it (TLS without verify only encrypts)`) {
		t.Errorf("TLS without verify: warnings %q", got)
	}
	_, _, err := Parse(filepath.Join(dir, "bad.yaml"), []byte(`cluster:
  nats:
    embedded:
      listen: 127.0.0.1:6222
      tls: {cert: node.crt, key: node.key, ca: node.crt, verify: true}
      client_listen: {tls: {cert: node.crt, verify: true, key: junk.pem}, bogus: 1}
`+minimalHead+clusterTail))
	got := strings.Join(errLines(t, err), "\n")
	for _, want := range []string{
		`bad.yaml:5:66: cluster.nats.embedded.tls.verify: only for client_listen.tls`,
		`bad.yaml:6:22: cluster.nats.embedded.client_listen: missing required key "addr"`,
		`bad.yaml:6:53: cluster.nats.embedded.client_listen.tls.verify: verify needs ca`,
		`bad.yaml:6:64: cluster.nats.embedded.client_listen.tls.key: ` + filepath.Join(dir, "junk.pem") + ` with certificate`,
		`bad.yaml:6:75: cluster.nats.embedded.client_listen: unknown key "bogus"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("errors lack %q:\n%s", want, got)
		}
	}
}
