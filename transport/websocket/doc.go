// Package websocket implements the WAMP WebSocket transport on top of
// github.com/coder/websocket: subprotocol negotiation (wamp.2.<codec> and
// wamp.2.<codec>.batched), text messages for JSON and binary messages for
// the binary codecs, a receive limit, origin checks and ping keep-alive.
//
// The router calls Accept from an http.Handler; clients call Dial.
//
// # Batched subprotocols
//
// A batched WebSocket message carries one or more WAMP messages. For JSON
// each is followed by a separator byte: we send 0x18, which Autobahn and
// Crossbar use (the SPEC text says 0x1E), and accept either on read; a last
// message without separator is accepted too. For MessagePack and CBOR each
// is preceded by its length as a 4-byte big-endian integer. Read returns
// one WAMP message at a time; Write puts all frames of one call into one
// WebSocket message. An empty batch or empty message fails the connection.
//
// # Concurrency
//
// A Conn follows transport.Conn: one goroutine may Read while another
// Writes; neither is safe concurrently with itself. WebSocket pings are
// answered inside Read, and keep-alive pings (ServerOptions.PingInterval)
// only get their pong while someone is reading, which the router's read
// loop always is. Close is safe from any goroutine, any number of times.
// Read and write errors are terminal: the connection is closed.
//
// Without batching each frame is its own WebSocket message and the library
// flushes once per message; batching gives one flush per Write call.
package websocket
