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
// against the config's directory; read and checked by Parse).
type ClusterTLS struct {
	Cert, Key, CA string
}

// ClusterSecurity is how a node proves itself to the other nodes and to
// NATS (docs/cluster.md, "Security").
type ClusterSecurity struct {
	// Embedded routes ("nats.embedded.auth", ".tls"): the user and
	// password every route presents and requires, and mutual TLS verified
	// against RouteTLS.CA. ClientListen ("nats.embedded.client_listen")
	// opens the embedded server's client port; "" keeps it closed.
	RouteUser, RoutePassword string
	RouteTLS                 *ClusterTLS
	ClientListen             string
	// External NATS ("nats.credentials", "nats.tls", "nats.ping_interval").
	Credentials        string
	TLS                *ClusterTLS
	ClientPingInterval time.Duration
}

// clusterExternal reads the keys for an external NATS.
func (p *parser) clusterExternal(nm *mapping, cl *Cluster) {
	if v, vp := nm.get("credentials"); v != nil {
		if s, ok := p.str(v, vp); ok {
			cl.Credentials = p.readable(v, vp, s, "credentials file")
		}
	}
	if v, vp := nm.get("tls"); v != nil {
		cl.TLS = p.clusterTLS(v, vp, false)
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
		cl.RouteTLS = p.clusterTLS(v, vp, true)
	}
	if v, vp := em.get("client_listen"); v != nil {
		if r := p.resolve(v); r != nil && r.ShortTag() != "!!null" {
			if s, ok := p.str(v, vp); ok {
				p.hostPort(v, vp, s)
				cl.ClientListen = s
				if !loopback(s) && cl.RouteUser == "" {
					p.warnf(v, vp, "the NATS client port on %s is open to anyone who reaches it: set nats.embedded.auth or listen on 127.0.0.1", s)
				}
			}
		}
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

// clusterTLS reads {cert, key, ca}. Routes (mutual) need all three; a
// client of an external NATS needs cert and key together, or neither.
func (p *parser) clusterTLS(n *yaml.Node, path string, mutual bool) *ClusterTLS {
	m := p.mapping(n, path)
	if m == nil {
		return nil
	}
	t := &ClusterTLS{}
	var at [3]*yaml.Node
	for i, f := range []struct {
		key string
		dst *string
	}{{"cert", &t.Cert}, {"key", &t.Key}, {"ca", &t.CA}} {
		get := m.get
		if mutual {
			get = m.need
		}
		if v, vp := get(f.key); v != nil {
			if s, ok := p.str(v, vp); ok {
				*f.dst, at[i] = p.readable(v, vp, s, f.key+" file"), v
			}
		}
	}
	if !mutual && (t.Cert == "") != (t.Key == "") {
		p.errorf(m.n, path, "give cert and key together (a client certificate), or neither")
	}
	if t.Cert != "" && t.Key != "" {
		if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
			p.errorf(at[1], join(path, "key"), "%s with certificate %s: %v", t.Key, t.Cert, err)
		}
	}
	if t.CA != "" {
		if b, err := os.ReadFile(t.CA); err == nil && !x509.NewCertPool().AppendCertsFromPEM(b) {
			p.errorf(at[2], join(path, "ca"), "%s holds no PEM certificate", t.CA)
		}
	}
	m.done()
	return t
}

// readable resolves a file name against the config's directory and
// reports a file that cannot be read; "" if it cannot.
func (p *parser) readable(v *yaml.Node, path, name, what string) string {
	if name == "" {
		p.errorf(v, path, "empty file name")
		return ""
	}
	name = p.abs(name)
	if _, err := os.ReadFile(name); err != nil {
		p.errorf(v, path, "cannot read %s: %v", what, err)
		return ""
	}
	return name
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
