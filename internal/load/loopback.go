package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// ErrNotLoopback is wrapped by the error CheckLoopback returns for a URL
// that does not point at this machine's loopback interface.
var ErrNotLoopback = errors.New("load: target is not a loopback address")

// CheckLoopback accepts only URLs whose host is, or resolves exclusively
// to, loopback addresses (127.0.0.0/8, ::1), and unix:// socket paths.
// Load tests generate heavy traffic; this rule keeps them on the local
// machine. A host that resolves to any non-loopback address is refused,
// because the dialer could pick that one.
func CheckLoopback(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("load: bad URL %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "unix":
		if u.Path == "" && u.Host == "" {
			return fmt.Errorf("load: URL %q has no socket path", rawURL)
		}
		return nil
	case "ws", "wss", "tcp", "tls":
	default:
		return fmt.Errorf("load: URL %q: scheme must be ws, wss, tcp, tls or unix", rawURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("load: URL %q has no host", rawURL)
	}
	if ip := net.ParseIP(host); ip != nil {
		if !ip.IsLoopback() {
			return fmt.Errorf("%w: refusing %q: %s is not a loopback address (load tests target only 127.0.0.0/8 or ::1)",
				ErrNotLoopback, rawURL, ip)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("%w: refusing %q: cannot resolve host %q: %v", ErrNotLoopback, rawURL, host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: refusing %q: host %q has no addresses", ErrNotLoopback, rawURL, host)
	}
	for _, a := range addrs {
		if !a.IP.IsLoopback() {
			return fmt.Errorf("%w: refusing %q: host %q resolves to %s, which is not a loopback address (load tests target only 127.0.0.0/8 or ::1)",
				ErrNotLoopback, rawURL, host, a.IP)
		}
	}
	return nil
}
