// Package router is Tollgate's WAMP router: realms, sessions, the broker
// and the dealer, served over WebSocket and RawSocket listeners.
//
// Create one with New, serve listeners with ServeTransport (or Serve for
// the default transport, or mount Handler on your own http.ServeMux), and
// stop it with Shutdown. A Router is safe for concurrent use; one process
// may run many routers (there is no package-level state).
//
// Each connection has two goroutines: a reader that decodes and routes
// messages inline, and a writer that owns the socket and drains the
// session's bounded outbound queue. docs/architecture.md shows which file
// holds what and the path of a CALL and a PUBLISH; LOCKING.md is the lock
// order.
package router
