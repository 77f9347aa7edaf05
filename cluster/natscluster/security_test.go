package natscluster_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/internal/testcert"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
)

// certFiles writes a fresh self-signed certificate (its own CA, valid
// for 127.0.0.1) and its key as PEM files into dir.
func certFiles(t testing.TB, dir, name string) natscluster.TLSFiles {
	t.Helper()
	cert, _ := testcert.Certificate(t, name)
	key, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	f := natscluster.TLSFiles{Cert: filepath.Join(dir, name+".crt"), Key: filepath.Join(dir, name+".key")}
	f.CA = f.Cert
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(f.Cert, "CERTIFICATE", cert.Certificate[0])
	write(f.Key, "PRIVATE KEY", key)
	return f
}

// logSink collects a node's log messages, so a test can wait for the
// embedded server to report that it refused a peer.
type logSink struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (l *logSink) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logSink) WithGroup(string) slog.Handler            { return l }
func (l *logSink) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logSink) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// testIntruder starts two nodes with good, waits until they form, then
// a third with bad routed to the first, and checks that the first
// refuses it (its log says refusal) and the two stay a pair that still
// carries traffic.
func testIntruder(t *testing.T, good, bad func(*natscluster.Config), refusal string) {
	sink := &logSink{}
	nodes := startMembers(t, 2, func(i int, c *natscluster.Config) {
		good(c)
		if i == 0 {
			c.Logger = slog.New(sink)
		}
	})
	cfg := natscluster.Config{Node: "intruder", Listen: "127.0.0.1:0", Routes: []string{"nats-route://" + nodes[0].c.RouteAddr()}}
	bad(&cfg)
	c, err := natscluster.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	intruder := &node{c: c, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = c })}
	waitFor(t, "the first node to refuse the intruder ("+refusal+")", func() bool { return sink.has(refusal) })
	for _, nd := range append(nodes, intruder) {
		if want := map[bool]int{true: 0, false: 1}[nd == intruder]; nd.c.Peers() != want {
			t.Errorf("%s has %d routes, want %d", nd.c.Node(), nd.c.Peers(), want)
		}
	}
	if n := len(intruder.c.Members()); n != 1 {
		t.Errorf("the intruder counts %d members, want only itself", n)
	}
	rec := newRecorder()
	subscribe(t, dial(t, nodes[1]), "com.end", rec.fn)
	waitInterest(t, nodes[0], "com.end", 1)
	publish(t, dial(t, nodes[0]), "com.end", nil)
	rec.wait(t, "subscriber on the second good node")
}

func TestRouteAuthKeepsWrongPasswordOut(t *testing.T) {
	testIntruder(t,
		func(c *natscluster.Config) { c.RouteAuth = &natscluster.RouteAuth{User: "tg", Password: "right"} },
		func(c *natscluster.Config) { c.RouteAuth = &natscluster.RouteAuth{User: "tg", Password: "wrong"} },
		"authentication error")
}

func TestRouteTLSKeepsOtherCAOut(t *testing.T) {
	dir := t.TempDir()
	ca, other := certFiles(t, dir, "cluster"), certFiles(t, dir, "other")
	testIntruder(t,
		func(c *natscluster.Config) { c.RouteTLS = &ca },
		// The intruder trusts the cluster's CA but shows a certificate
		// of its own CA.
		func(c *natscluster.Config) {
			c.RouteTLS = &natscluster.TLSFiles{Cert: other.Cert, Key: other.Key, CA: ca.CA}
		},
		"TLS route handshake error")
}

// TestClientListen: client_listen lets a NATS client in with the route
// credentials and no one without them.
func TestClientListen(t *testing.T) {
	c, err := natscluster.New(natscluster.Config{Node: "cli", ClientListen: "127.0.0.1:0",
		RouteAuth: &natscluster.RouteAuth{User: "tg", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	routertest.Start(t, func(o *router.Options) { o.Cluster = c })
	url := "nats://" + c.ClientAddr()
	if nc, err := nats.Connect(url, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Error("a client without credentials got in")
	}
	nc, err := nats.Connect(url, nats.UserInfo("tg", "pw"))
	if err != nil {
		t.Fatalf("with the route credentials: %v", err)
	}
	nc.Close()
}

// TestClientListenTLS: with client_listen TLS and verify, a nats.go
// client presenting a certificate signed by the CA gets in and round-trips
// a message; one in clear, or over TLS without a certificate, is refused.
// The node's own in-process connection stays plain and serves a router.
func TestClientListenTLS(t *testing.T) {
	dir := t.TempDir()
	srv, cli := certFiles(t, dir, "server"), certFiles(t, dir, "client")
	c, err := natscluster.New(natscluster.Config{Node: "tls", Listen: "127.0.0.1:0", ClientListen: "127.0.0.1:0",
		ClientTLS: &natscluster.TLSFiles{Cert: srv.Cert, Key: srv.Key, CA: cli.CA}, ClientVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	routertest.Start(t, func(o *router.Options) { o.Cluster = c })
	roots := x509.NewCertPool()
	pemBytes, err := os.ReadFile(srv.CA)
	if err != nil || !roots.AppendCertsFromPEM(pemBytes) {
		t.Fatal("server CA", err)
	}
	cert, err := tls.LoadX509KeyPair(cli.Cert, cli.Key)
	if err != nil {
		t.Fatal(err)
	}
	addr := c.ClientAddr()
	refused := func(what string, opts ...nats.Option) {
		t.Helper()
		if nc, err := nats.Connect("nats://"+addr, append(opts, nats.MaxReconnects(0), nats.Timeout(5*time.Second))...); err == nil {
			nc.Close()
			t.Errorf("%s got in", what)
		} else {
			t.Logf("%s refused: %v", what, err)
		}
	}
	plainRefused(t, addr)
	refused("a TLS client without a certificate", nats.Secure(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	nc, err := nats.Connect("tls://"+addr, nats.Secure(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("tls.check")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("tls.check", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if m, err := sub.NextMsg(5 * time.Second); err != nil || string(m.Data) != "hi" {
		t.Fatalf("round trip over TLS: %v %v", m, err)
	}
	if !nc.TLSRequired() {
		t.Error("the connection is not TLS")
	}
}

// plainRefused speaks NATS in clear to addr: the server's INFO must
// require TLS, and CONNECT and PING must not get a PONG.
func plainRefused(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	info, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(info, `"tls_required":true`) {
		t.Fatalf("INFO %q (%v) does not require TLS", info, err)
	}
	if _, err := conn.Write([]byte("CONNECT {\"verbose\":false}\r\nPING\r\n")); err != nil {
		return // closed already: refused
	}
	if line, err := rd.ReadString('\n'); err == nil && strings.HasPrefix(line, "PONG") {
		t.Errorf("a client in clear got %q", line)
	}
}

func TestSecurityConfigErrors(t *testing.T) {
	dir := t.TempDir()
	f := certFiles(t, dir, "n")
	missing := filepath.Join(dir, "missing.key")
	for _, c := range []struct {
		cfg  natscluster.Config
		want string
	}{
		{natscluster.Config{Node: "a", Listen: "127.0.0.1:0", RouteTLS: &natscluster.TLSFiles{Cert: f.Cert, Key: missing, CA: f.CA}}, "route tls: certificate " + f.Cert + " with key " + missing},
		{natscluster.Config{Node: "a", Listen: "127.0.0.1:0", RouteTLS: &natscluster.TLSFiles{Cert: f.Cert, Key: f.Key, CA: f.Key}}, "ca " + f.Key + ": no PEM certificate"},
		{natscluster.Config{Node: "a", ClientListen: "127.0.0.1"}, `client_listen "127.0.0.1"`},
		{natscluster.Config{Node: "a", ClientListen: "127.0.0.1:0", ClientTLS: &natscluster.TLSFiles{Cert: f.Cert, Key: missing}}, "client_listen tls: certificate " + f.Cert + " with key " + missing},
		{natscluster.Config{Node: "a", ClientListen: "127.0.0.1:0", ClientTLS: &natscluster.TLSFiles{Cert: f.Cert, Key: f.Key}, ClientVerify: true}, "verify needs a ca"},
		{natscluster.Config{Node: "a", URL: "nats://127.0.0.1:1", Credentials: missing}, "credentials: stat " + missing},
	} {
		if _, err := natscluster.New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want an error with %q", c.cfg, err, c.want)
		}
	}
}

// externalServer starts a nats-server with TLS (client certificates
// verified against tlsFiles.CA) and opts applied: the "external NATS".
func externalServer(t *testing.T, tf natscluster.TLSFiles, opts func(*server.Options)) *server.Server {
	t.Helper()
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: tf.Cert, KeyFile: tf.Key, CaFile: tf.CA, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	o := &server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		TLSConfig: tc, TLSVerify: true, TLSTimeout: 2}
	opts(o)
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return srv
}

// TestExternalNATSCredentialsAndTLS: nodes reach an external NATS that
// requires a .creds file (operator mode) and client certificates; a node
// without either is refused with an error that says so.
func TestExternalNATSCredentialsAndTLS(t *testing.T) {
	dir := t.TempDir()
	srvTLS, cliTLS := certFiles(t, dir, "nats"), certFiles(t, dir, "client")
	op, _ := nkeys.CreateOperator()
	opPub, _ := op.PublicKey()
	opClaims := jwt.NewOperatorClaims(opPub)
	acct, _ := nkeys.CreateAccount()
	acctPub, _ := acct.PublicKey()
	acctJWT, err := jwt.NewAccountClaims(acctPub).Encode(op)
	if err != nil {
		t.Fatal(err)
	}
	user, _ := nkeys.CreateUser()
	userPub, _ := user.PublicKey()
	userSeed, _ := user.Seed()
	userJWT, err := jwt.NewUserClaims(userPub).Encode(acct)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(userJWT, userSeed)
	if err != nil {
		t.Fatal(err)
	}
	credsFile := filepath.Join(dir, "node.creds")
	if err := os.WriteFile(credsFile, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	resolver := &server.MemAccResolver{}
	if err := resolver.Store(acctPub, acctJWT); err != nil {
		t.Fatal(err)
	}
	srv := externalServer(t, natscluster.TLSFiles{Cert: srvTLS.Cert, Key: srvTLS.Key, CA: cliTLS.CA}, func(o *server.Options) {
		o.TrustedOperators, o.AccountResolver = []*jwt.OperatorClaims{opClaims}, resolver
	})
	url := "tls://" + srv.Addr().String()
	good := natscluster.Config{URL: url, Credentials: credsFile, ClientPingInterval: 100 * time.Millisecond,
		TLS: &natscluster.TLSFiles{Cert: cliTLS.Cert, Key: cliTLS.Key, CA: srvTLS.CA}}

	noCreds, noCert := good, good
	noCreds.Node, noCreds.Credentials = "nocreds", ""
	noCert.Node, noCert.TLS = "nocert", &natscluster.TLSFiles{CA: srvTLS.CA}
	for _, c := range []natscluster.Config{noCreds, noCert} {
		if nc, err := natscluster.New(c); err == nil {
			nc.Stop()
			t.Errorf("%s connected", c.Node)
		} else if !strings.Contains(err.Error(), "natscluster: connect") {
			t.Errorf("%s: %v", c.Node, err)
		} else {
			t.Logf("%s refused: %v", c.Node, err)
		}
	}

	var nodes []*node
	for _, name := range []string{"x", "y"} {
		cfg := good
		cfg.Node = name
		c, err := natscluster.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, &node{c: c, srv: routertest.Start(t, func(o *router.Options) { o.Cluster = c })})
	}
	acc, err := srv.LookupAccount(acctPub)
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	subscribe(t, dial(t, nodes[1]), "com.end", rec.fn)
	waitFor(t, "interest on the external server", func() bool { return acc.SubscriptionInterest("tg.realm1.ev.com.end") })
	publish(t, dial(t, nodes[0]), "com.end", nil)
	rec.wait(t, "subscriber on y")
}

// TestSecureMesh: with route auth and mutual TLS, gossip still completes
// the mesh (the gossiped routes log in and verify too): every node of
// three has a route to both others.
func TestSecureMesh(t *testing.T) {
	tf := certFiles(t, t.TempDir(), "cluster")
	nodes := startMembers(t, 3, func(_ int, c *natscluster.Config) {
		c.RouteTLS, c.RouteAuth = &tf, &natscluster.RouteAuth{User: "tg", Password: "pw"}
	})
	waitFor(t, "full mesh", func() bool { return nodes[1].c.Peers() == 2 && nodes[2].c.Peers() == 2 && nodes[0].c.Peers() == 2 })
	crossTraffic(t, nodes[1], nodes[2])
}
