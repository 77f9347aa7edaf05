//go:build !linux

package config

import "net"

// listenConfig is Go's default: keep-alive set on each accepted connection.
func listenConfig() net.ListenConfig { return net.ListenConfig{} }
