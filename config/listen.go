package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
)

// Listener is everything needed to open one transport's socket and serve
// it: net.Listen(Network, Address), wrapped in TLS when TLS is set, then
// router.ServeTransport(ln, Transport).
type Listener struct {
	// Name is the transport's name (its id or "transportN").
	Name string
	// Type is the Crossbar transport type (websocket, rawsocket, web, universal).
	Type string
	// Network is tcp, tcp4, tcp6 or unix.
	Network string
	// Address is host:port for TCP, the socket path for Unix.
	Address string
	// TLS is the server TLS config, or nil for plain connections.
	TLS       *tls.Config
	Transport router.Transport
}

// Listeners returns one Listener per transport, in file order. It reads the
// TLS key and certificate files; on failure the error is Errors, each entry
// pointing at the config line that names the file.
func (c *Config) Listeners() ([]Listener, error) {
	var errs Errors
	out := make([]Listener, 0, len(c.Transports))
	for i := range c.Transports {
		t := &c.Transports[i]
		l := Listener{
			Name:      t.Name,
			Type:      t.Type,
			Network:   t.Endpoint.Network(),
			Address:   t.Endpoint.Address(),
			Transport: t.RouterTransport(),
		}
		for _, ws := range t.Web {
			h, err := ws.Handler(router.Version)
			if err != nil {
				errs = append(errs, Error{File: c.File, Line: ws.at.line, Col: ws.at.col, Path: ws.at.path, Msg: err.Error()})
				continue
			}
			if l.Transport.HTTP == nil {
				l.Transport.HTTP = map[string]http.Handler{}
			}
			l.Transport.HTTP[ws.Path] = h
		}
		if t.Endpoint.TLS != nil {
			cfg, tlsErrs := t.Endpoint.TLS.config(c.File)
			errs = append(errs, tlsErrs...)
			l.TLS = cfg
		}
		out = append(out, l)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func (t *TLS) config(file string) (*tls.Config, Errors) {
	var errs Errors
	fail := func(at position, format string, args ...any) {
		errs = append(errs, Error{File: file, Line: at.line, Col: at.col, Path: at.path, Msg: fmt.Sprintf(format, args...)})
	}
	certPEM, err := os.ReadFile(t.Certificate)
	if err != nil {
		fail(t.at.cert, "cannot read certificate: %v", err)
	}
	keyPEM, err := os.ReadFile(t.Key)
	if err != nil {
		fail(t.at.key, "cannot read key: %v", err)
	}
	for i, name := range t.ChainCertificates {
		chain, err := os.ReadFile(name)
		if err != nil {
			fail(t.at.chain[i], "cannot read chain certificate: %v", err)
			continue
		}
		certPEM = append(append(certPEM, '\n'), chain...)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(errs) == 0 {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			fail(t.at.cert, "certificate %s and key %s do not form a key pair: %v", t.Certificate, t.Key, err)
		} else {
			cfg.Certificates = []tls.Certificate{cert}
		}
	}
	if len(t.CACertificates) > 0 {
		pool := x509.NewCertPool()
		for i, name := range t.CACertificates {
			pem, err := os.ReadFile(name)
			if err != nil {
				fail(t.at.ca[i], "cannot read CA certificate: %v", err)
				continue
			}
			if !pool.AppendCertsFromPEM(pem) {
				fail(t.at.ca[i], "no PEM certificate found in %s", name)
			}
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// Listen opens the listener's socket (TLS-wrapped when configured). For a
// Unix socket, a stale socket file left by a process that is gone is
// removed first; a socket somebody still answers on is an error.
func (l *Listener) Listen(ctx context.Context) (net.Listener, error) {
	if l.Network == "unix" {
		if err := removeStaleSocket(l.Address); err != nil {
			return nil, err
		}
	}
	lc := listenConfig() // keepalive_linux.go
	ln, err := lc.Listen(ctx, l.Network, l.Address)
	if err != nil {
		return nil, fmt.Errorf("transport %s: %w", l.Name, err)
	}
	if l.TLS != nil {
		ln = tls.NewListener(ln, l.TLS)
	}
	return ln, nil
}

func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return nil // absent, or not a socket: let Listen report it
	}
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("unix socket %s is in use by another process", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing stale unix socket: %w", err)
	}
	return nil
}

func netJoin(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }
