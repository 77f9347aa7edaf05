// Package load drives a WAMP router with RPC or pub/sub traffic and reports
// throughput and latency. It is the logic behind cmd/tollgate-load and only
// uses the public client package, so it can point at any WAMP router
// (Tollgate, Crossbar, nexus, Bondy) on the same machine.
//
// Safety: Run refuses any URL whose host does not resolve only to loopback
// addresses (127.0.0.0/8, ::1); unix:// sockets are local by construction.
// Every request loop stops by itself, bounded by the duration, the optional
// request count and the per-request timeout.
package load
