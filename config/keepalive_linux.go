package config

import (
	"net"
	"strings"
	"syscall"
)

// Go's keep-alive defaults for accepted connections (net.KeepAliveConfig
// with zero fields): first probe after 15 s idle, every 15 s, 9 probes.
const (
	keepAliveIdle     = 15 // seconds
	keepAliveInterval = 15 // seconds
	keepAliveCount    = 9
)

// listenConfig sets TCP keep-alive once, on the listening socket: Linux
// copies a listener's socket options to every socket it accepts, while
// Go's default sets the same four options again on each accepted one (4
// of its 5 setsockopt per connection). Same timings, dead peers still
// detected.
func listenConfig() net.ListenConfig {
	return net.ListenConfig{KeepAlive: -1, Control: keepAliveOnListener}
}

func keepAliveOnListener(network, _ string, rc syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return nil
	}
	var err error
	cerr := rc.Control(func(fd uintptr) {
		for _, o := range [...]struct{ level, opt, v int }{
			{syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 1},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE, keepAliveIdle},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPINTVL, keepAliveInterval},
			{syscall.IPPROTO_TCP, syscall.TCP_KEEPCNT, keepAliveCount},
		} {
			if err = syscall.SetsockoptInt(int(fd), o.level, o.opt, o.v); err != nil {
				return
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return err
}
