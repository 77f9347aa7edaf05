// Package websocket implements the WAMP WebSocket transport with its own
// RFC 6455 framing: subprotocol negotiation (wamp.2.<codec> and
// wamp.2.<codec>.batched), text messages for JSON and binary messages for
// the binary codecs, a receive limit, origin checks and ping keep-alive.
// No extension (permessage-deflate) is negotiated.
//
// The router calls Accept from an http.Handler, which hijacks the
// connection after the handshake; clients call Dial, which does the
// handshake with net/http and frames the connection it hands over.
//
// # Why its own framing
//
// Write puts all frames of one call into one buffer and one write(2) (up
// to 32 KiB; bigger ones go out in 32 KiB chunks, a header always with
// payload), as the RawSocket transport does. Libraries that flush every
// message cost one system call per WAMP message, which made WebSocket
// pub/sub an order of magnitude slower than RawSocket. Read is buffered (2
// KiB to start, growing to 64 KiB under load and shrinking when idle),
// unmasks in place and allocates only the message it returns.
//
// # Limits
//
// A message (all its fragments; a whole batch when batched) over the
// receive limit closes the connection with 1009 and Read fails with an
// error wrapping transport.ErrMessageTooBig. The limit is checked against
// the frame header before any payload is read, and payload buffers grow
// only as bytes arrive, so a peer announcing a huge frame reserves
// nothing. Until the router calls Joined the limit is
// ServerOptions.PreJoinMaxMessageSize (transport.Joiner).
//
// # Protocol errors
//
// Unmasked client frames, reserved bits or opcodes, bad fragmentation or
// control frames close with 1002, a message type that does not fit the
// subprotocol with 1003, invalid UTF-8 in a text message or a bad batch
// with 1007. A peer's close frame is echoed and Read returns a
// *CloseError. After our close frame we wait up to a second for the peer
// to close, so the frame is not lost to a TCP reset.
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
// answered inside Read, and keep-alive pings (ServerOptions.PingInterval,
// sent from a timer, not a goroutine per connection) only get their pong
// while someone is reading, which the router's read loop always is. Close
// is safe from any goroutine, any number of times. Read and write errors
// are terminal: the connection is closed.
package websocket
