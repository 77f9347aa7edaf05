package natscluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TLSFiles names PEM files: a certificate and its key, and the CA that
// signs the peers' certificates.
type TLSFiles struct {
	Cert, Key, CA string
}

// RouteAuth is the user and password every node's routes present and
// require.
type RouteAuth struct {
	User, Password string
}

// internalUser is the name the node's own in-process connection logs in
// with, behind a random password only this process knows.
const internalUser = "tollgate-node"

// routeSecurity applies route auth and mutual TLS to the embedded server:
// a peer without the password or without a certificate signed by the CA
// is refused, in both directions.
func routeSecurity(o *server.Options, cfg Config) error {
	if a := cfg.RouteAuth; a != nil {
		o.Cluster.Username, o.Cluster.Password = a.User, a.Password
		// Configured routes log in with the URL's user info; gossiped
		// (implicit) ones with the cluster's own.
		for _, u := range o.Routes {
			if u.User == nil {
				u.User = url.UserPassword(a.User, a.Password)
			}
		}
	}
	if f := cfg.RouteTLS; f != nil {
		tc, err := loadTLS("route tls", *f, true)
		if err != nil {
			return err
		}
		o.Cluster.TLSConfig, o.Cluster.TLSTimeout = tc, 2
	}
	return nil
}

// clientListener sets up the embedded server's client port. nats-server
// routes only once a client listener is up, so a clustered node always
// has one: by default on loopback, a random port, open only to this
// process. ClientListen opens it on a chosen address for tools such as
// the nats CLI, behind the route auth when there is one.
func clientListener(o *server.Options, cfg Config, token string) error {
	if cfg.ClientListen == "" && cfg.Listen == "" {
		return nil // in-process only
	}
	o.DontListen, o.Host, o.Port = false, "127.0.0.1", server.RANDOM_PORT
	o.Users = []*server.User{{Username: internalUser, Password: token}}
	if cfg.ClientListen == "" {
		return nil
	}
	host, port, err := hostPort(cfg.ClientListen)
	if err != nil {
		return fmt.Errorf("natscluster: client_listen %q: %w", cfg.ClientListen, err)
	}
	o.Host, o.Port = host, port
	if f := cfg.ClientTLS; f != nil {
		tc, err := serverTLS(*f, cfg.ClientVerify)
		if err != nil {
			return err
		}
		// The node's own in-process connection stays plain (nats-server
		// lets in-process clients choose).
		o.TLSConfig, o.TLS, o.TLSVerify, o.TLSTimeout = tc, true, cfg.ClientVerify, 2
	}
	if a := cfg.RouteAuth; a != nil {
		o.Users = append(o.Users, &server.User{Username: a.User, Password: a.Password})
	} else {
		o.Users = nil // open, as asked: docs/cluster.md says to keep it on loopback
	}
	return nil
}

// hostPort splits host:port; port 0 picks a free one.
// addrFree reports an error when a chosen listen address (not "" and not
// port 0) cannot be listened on: nats-server would only fail to become
// ready 10 s later, its reason in the log.
func addrFree(a string) error {
	if _, p, err := hostPort(a); a == "" || err != nil || p == server.RANDOM_PORT {
		return nil // hostPort's own errors are reported where it is used
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		return err
	}
	return ln.Close()
}

func hostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, errors.New("bad port")
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	return host, p, nil
}

// externalOptions are the connection options for an external NATS:
// credentials file, TLS and client pings.
func externalOptions(cfg Config) ([]nats.Option, error) {
	var opts []nats.Option
	if cfg.Credentials != "" {
		if _, err := os.Stat(cfg.Credentials); err != nil {
			return nil, fmt.Errorf("natscluster: credentials: %w", err)
		}
		opts = append(opts, nats.UserCredentials(cfg.Credentials))
	}
	if f := cfg.TLS; f != nil {
		tc, err := loadTLS("nats tls", *f, false)
		if err != nil {
			return nil, err
		}
		opts = append(opts, nats.Secure(tc))
	}
	if cfg.ClientPingInterval > 0 {
		opts = append(opts, nats.PingInterval(cfg.ClientPingInterval))
	}
	return opts, nil
}

// loadTLS reads f into a TLS 1.2+ config that verifies the other side
// against f.CA. mutual (routes): the certificate is required and the
// peer's is required too. Otherwise (a client of an external NATS) the
// certificate is optional and only the server is verified.
func loadTLS(what string, f TLSFiles, mutual bool) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if f.Cert != "" || f.Key != "" || mutual {
		cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
		if err != nil {
			return nil, fmt.Errorf("natscluster: %s: certificate %s with key %s: %w", what, f.Cert, f.Key, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if f.CA != "" || mutual {
		pem, err := os.ReadFile(f.CA)
		if err != nil {
			return nil, fmt.Errorf("natscluster: %s: ca: %w", what, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("natscluster: %s: ca %s: no PEM certificate in it", what, f.CA)
		}
		tc.RootCAs = pool
		if mutual {
			tc.ClientCAs, tc.ClientAuth = pool, tls.RequireAndVerifyClientCert
		}
	}
	return tc, nil
}

// serverTLS is the client port's TLS 1.2+ config: its certificate, and
// with a CA the clients' certificates verified (required with verify).
func serverTLS(f TLSFiles, verify bool) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("natscluster: client_listen tls: certificate %s with key %s: %w", f.Cert, f.Key, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if f.CA == "" {
		if verify {
			return nil, errors.New("natscluster: client_listen tls: verify needs a ca")
		}
		return tc, nil
	}
	pem, err := os.ReadFile(f.CA)
	if err != nil {
		return nil, fmt.Errorf("natscluster: client_listen tls: ca: %w", err)
	}
	tc.ClientCAs = x509.NewCertPool()
	if !tc.ClientCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("natscluster: client_listen tls: ca %s: no PEM certificate in it", f.CA)
	}
	tc.ClientAuth = tls.VerifyClientCertIfGiven
	if verify {
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// serverLog forwards the embedded server's warnings and errors (a peer
// refused for its password or certificate, with its address) to the
// node's log; notices, debug and trace are dropped.
type serverLog struct{ log *slog.Logger }

func (l serverLog) Noticef(string, ...any) {}
func (l serverLog) Debugf(string, ...any)  {}
func (l serverLog) Tracef(string, ...any)  {}
func (l serverLog) Warnf(format string, v ...any) {
	if msg := fmt.Sprintf(format, v...); !strings.HasPrefix(msg, "Plaintext passwords") { // ours: from config, not a file
		l.log.Warn("cluster: nats-server: " + msg)
	}
}
func (l serverLog) Errorf(format string, v ...any) {
	l.log.Warn("cluster: nats-server: " + fmt.Sprintf(format, v...)) // peers come and go: not the node's error
}
func (l serverLog) Fatalf(format string, v ...any) {
	l.log.Error("cluster: nats-server: fatal: " + fmt.Sprintf(format, v...))
}

// ClientAddr is where the nats CLI connects with ClientListen set (with
// port 0, the port picked); "" without it (the node's own loopback
// listener is not for others).
func (c *Cluster) ClientAddr() string {
	if c.srv == nil || c.cfg.ClientListen == "" || c.srv.Addr() == nil {
		return ""
	}
	return c.srv.Addr().String()
}

// externalHint names what a node presented to an external NATS that
// refused it.
func externalHint(cfg Config) string {
	if cfg.URL == "" {
		return ""
	}
	s := " (external NATS " + redact(cfg.URL)
	if cfg.Credentials != "" {
		s += ", credentials " + cfg.Credentials
	}
	if cfg.TLS != nil && cfg.TLS.Cert != "" {
		s += ", client certificate " + cfg.TLS.Cert
	}
	return s + ")"
}

// redact hides passwords in comma-separated NATS URLs.
func redact(urls string) string {
	out := strings.Split(urls, ",")
	for i, s := range out {
		if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
			out[i] = u.Redacted()
		}
	}
	return strings.Join(out, ",")
}
