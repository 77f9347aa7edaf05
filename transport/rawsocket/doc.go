// Package rawsocket implements the WAMP RawSocket transport: a 4-byte
// handshake that agrees on a serializer and each side's maximum message
// length, then length-prefixed frames over any reliable byte stream (TCP,
// TLS, Unix domain sockets).
//
// The router side calls Accept on a net.Conn it accepted (and Refuse to turn
// a client away, e.g. at the connection limit); the client side calls Dial,
// or Client on a net.Conn it already has.
//
// # Length limits
//
// A side announces L (0..15) and promises to accept messages of up to
// 2^(9+L) bytes. We announce our MaxMessageSize rounded down to a power of
// two and clamped to 512 B..16 MiB (default 16 MiB, L=15) and enforce that
// same value on receive, including a payload of exactly 2^24 bytes carried
// with the frame header's extra length bit. We never send such a frame:
// several implementations mishandle that bit, so our send limit is the
// peer's announced limit capped at 2^24-1 bytes (see Conn.MaxSendSize).
//
// Before the session joins, the router side enforces a lower receive limit,
// ServerOptions.PreJoinMaxMessageSize (default 64 KiB), and lifts it when
// the router calls Conn.Joined (transport.Joiner). It is never announced:
// the handshake tells the peer the full limit, which it may use once joined.
//
// # Memory
//
// Memory follows the bytes that arrived, not the lengths announced: a
// payload over 16 KiB is read into a buffer that doubles as bytes arrive.
// An idle connection holds a 512-byte read array and no write buffer; the
// 16 KiB read and 32 KiB write buffers come from pools and are held only
// while data is flowing (a connection that went quiet right after a read
// of over 512 bytes keeps its 16 KiB read buffer until its next read).
//
// # Concurrency
//
// A Conn follows transport.Conn: one goroutine may Read while another
// Writes; neither is safe concurrently with itself. PING frames are
// answered inside Read (briefly sharing the write lock with Write), so a
// connection only answers keep-alives while someone is reading; Ping waits
// for a PONG, which likewise needs a concurrent Read. Close is safe from any
// goroutine, any number of times. Any read or write error other than a
// refused oversize Write is terminal: the connection is closed.
package rawsocket
