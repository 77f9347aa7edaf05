package config

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// ClusterTLS names the PEM files of a cluster TLS section (resolved
// against the config's directory; read and checked by Parse). Verify
// (client_listen only) requires client certificates signed by CA.
type ClusterTLS struct {
	Cert, Key, CA string
	Verify        bool
}

// The three uses of a TLS section, by what they require.
const (
	tlsMutual = iota // routes: cert, key and ca
	tlsClient        // of an external NATS: cert and key together or neither, ca optional
	tlsServer        // the client port: cert and key, ca optional, verify needs ca
)

// ClusterSecurity is how a node proves itself to the other nodes and to
// NATS (docs/cluster.md, "Security").
type ClusterSecurity struct {
	// Embedded routes ("nats.embedded.auth", ".tls"): the user and
	// password every route presents and requires, and mutual TLS verified
	// against RouteTLS.CA. ClientListen ("nats.embedded.client_listen",
	// or its addr) opens the embedded server's client port; "" keeps it
	// closed. ClientTLS ("client_listen.tls") puts TLS on it.
	RouteUser, RoutePassword string
	RouteTLS                 *ClusterTLS
	ClientListen             string
	ClientTLS                *ClusterTLS
	// External NATS ("nats.credentials", "nats.tls", "nats.ping_interval").
	Credentials        string
	TLS                *ClusterTLS
	ClientPingInterval time.Duration
}

// clusterExternal reads the keys for an external NATS.
func (p *parser) clusterExternal(nm *mapping, cl *Cluster) {
	if v, vp := nm.get("credentials"); v != nil {
		if s, ok := p.str(v, vp); ok {
			cl.Credentials, _ = p.readable(v, vp, s, "credentials file")
		}
	}
	if v, vp := nm.get("tls"); v != nil {
		cl.TLS = p.clusterTLS(v, vp, tlsClient)
	}
	if v, vp := nm.get("ping_interval"); v != nil {
		cl.ClientPingInterval, _ = p.duration(v, vp, time.Millisecond, "milliseconds")
	}
}

// clusterRouteSecurity reads the embedded server's auth, tls and
// client_listen keys, and warns when a route or client listener outside
// loopback has no protection.
func (p *parser) clusterRouteSecurity(em *mapping, cl *Cluster) {
	if v, vp := em.get("auth"); v != nil {
		if am := p.mapping(v, vp); am != nil {
			if u, up := am.need("user"); u != nil {
				if s, ok := p.str(u, up); ok && s == "" {
					p.errorf(u, up, "must be a non-empty user name")
				} else {
					cl.RouteUser = s
				}
			}
			if pw, pp := am.need("password"); pw != nil {
				s, unset := p.secretAt(pw, pp, "password", "routes cannot authenticate without it")
				if unset {
					p.errorf(pw, pp, "the route password's environment variable is not set")
				}
				cl.RoutePassword = s
			}
			am.done()
		}
	}
	if v, vp := em.get("tls"); v != nil {
		cl.RouteTLS = p.clusterTLS(v, vp, tlsMutual)
	}
	if v, vp := em.get("client_listen"); v != nil {
		p.clientListen(v, vp, cl)
	}
	if v, vp := em.get("listen"); v != nil && cl.Listen != "" && !loopback(cl.Listen) && (cl.RouteUser == "" || cl.RouteTLS == nil) {
		missing := "auth and tls"
		switch {
		case cl.RouteUser != "":
			missing = "tls"
		case cl.RouteTLS != nil:
			missing = "auth"
		}
		p.warnf(v, vp, "routes listen on %s without %s: any host that reaches it can join the cluster and nodes trust each other's authorization (docs/cluster.md, Security)", cl.Listen, missing)
	}
}

// clientListen reads client_listen: host:port, or {addr, tls}. Outside
// loopback, a port that neither auth nor verified client certificates
// protect is a warning.
func (p *parser) clientListen(v *yaml.Node, vp string, cl *Cluster) {
	r := p.resolve(v)
	if r == nil || r.ShortTag() == "!!null" {
		return
	}
	if r.Kind == yaml.MappingNode {
		m := p.mapping(v, vp)
		if t, tp := m.get("tls"); t != nil {
			cl.ClientTLS = p.clusterTLS(t, tp, tlsServer)
		}
		v, vp = m.need("addr")
		m.done()
		if v == nil {
			return
		}
	}
	s, ok := p.str(v, vp)
	if !ok {
		return
	}
	p.hostPort(v, vp, s)
	cl.ClientListen = s
	switch {
	case loopback(s) || cl.RouteUser != "" || cl.ClientTLS != nil && cl.ClientTLS.Verify:
	case cl.ClientTLS != nil:
		p.warnf(v, vp, "the NATS client port on %s is open to anyone who reaches it (TLS without verify only encrypts): set nats.embedded.auth or client_listen.tls.verify", s)
	default:
		p.warnf(v, vp, "the NATS client port on %s is open to anyone who reaches it, in clear: set nats.embedded.auth and client_listen.tls, or listen on 127.0.0.1", s)
	}
}

// clusterTLS reads {cert, key, ca} (and verify for the client port):
// what each mode requires is at the tls* constants.
func (p *parser) clusterTLS(n *yaml.Node, path string, mode int) *ClusterTLS {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	t := &ClusterTLS{}
	var (
		at  [3]*yaml.Node
		pem [3][]byte // each file is read once, here
	)
	for i, f := range []struct {
		key string
		dst *string
	}{{"cert", &t.Cert}, {"key", &t.Key}, {"ca", &t.CA}} {
		get := m.get
		if mode == tlsMutual || mode == tlsServer && f.key != "ca" {
			get = m.need
		}
		if v, vp := get(f.key); v != nil {
			if s, ok := p.str(v, vp); ok {
				*f.dst, pem[i] = p.readable(v, vp, s, f.key+" file")
				at[i] = v
			}
		}
	}
	if mode == tlsClient && (t.Cert == "") != (t.Key == "") {
		p.errorf(m.n, path, "give cert and key together (a client certificate), or neither")
	}
	if v, vp := m.get("verify"); v != nil && mode == tlsServer {
		t.Verify, _ = p.boolean(v, vp)
		if t.Verify && at[2] == nil {
			p.errorf(v, vp, "verify needs ca: the CA that signs the clients' certificates")
		}
	} else if v != nil {
		p.errorf(v, vp, "only for client_listen.tls (routes always verify against ca; a NATS client always verifies its server)")
	}
	if t.Cert != "" && t.Key != "" {
		if _, err := tls.X509KeyPair(pem[0], pem[1]); err != nil {
			p.errorf(at[1], join(path, "key"), "%s with certificate %s: %v", t.Key, t.Cert, err)
		}
	}
	if t.CA != "" {
		if !x509.NewCertPool().AppendCertsFromPEM(pem[2]) {
			p.errorf(at[2], join(path, "ca"), "%s holds no PEM certificate", t.CA)
		}
	}
	m.done()
	return t
}

// readable resolves a file name against the config's directory and
// returns it with the file's contents, reporting a file that cannot be
// read; "" if it cannot.
func (p *parser) readable(v *yaml.Node, path, name, what string) (string, []byte) {
	if name == "" {
		p.errorf(v, path, "empty file name")
		return "", nil
	}
	name = p.abs(name)
	b, err := os.ReadFile(name)
	if err != nil {
		p.errorf(v, path, "cannot read %s: %v", what, err)
		return "", nil
	}
	return name, b
}

func (p *parser) hostPort(v *yaml.Node, path, s string) {
	if _, port, err := net.SplitHostPort(s); err != nil || !validPort(port) {
		p.errorf(v, path, "must be host:port (port 0 to 65535), got %q", s)
	}
}

// loopback reports whether host:port listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true // reported elsewhere
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// summary says how the routes are protected, for Config.Summary.
func (s *ClusterSecurity) summary() string {
	switch {
	case s.RouteUser != "" && s.RouteTLS != nil:
		return ", route auth and TLS"
	case s.RouteUser != "":
		return ", route auth, no TLS"
	case s.RouteTLS != nil:
		return ", route TLS"
	}
	return ""
}
