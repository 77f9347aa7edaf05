// Package transport defines the connection contract shared by the
// WebSocket and RawSocket transports, and the bounded outbound queue with
// its writer (one at a time) that both the router and the client use.
package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Kinds of transport, as reported in Info.Kind.
const (
	KindWebSocket = "websocket"
	KindRawSocket = "rawsocket"
)

// Sentinel errors.
var (
	// ErrClosed is returned by operations on a closed connection or queue.
	ErrClosed = errors.New("transport: closed")
	// ErrMessageTooBig is returned when a frame exceeds a negotiated or
	// configured size limit.
	ErrMessageTooBig = errors.New("transport: message too big")
	// ErrQueueFull is returned by Queue.Send when the bounded outbound queue
	// is over its byte or message limit (a slow consumer).
	ErrQueueFull = errors.New("transport: outbound queue full")
	// ErrWouldBlock is returned by TryWriter.TryWrite when the socket
	// does not take the frames without waiting.
	ErrWouldBlock = errors.New("transport: write would block")
	// ErrIdle is returned by Parker.ReadOrIdle when the connection has
	// waited for its peer's next message for the idle time, with nothing
	// buffered; the connection stays usable.
	ErrIdle = errors.New("transport: idle")
)

// Parker is implemented by connections that can wait for their peer's
// next message without a goroutine (a plain socket on Linux): an idle
// session then holds no read-loop stack. Neither method may be called
// concurrently with Read.
type Parker interface {
	// ReadOrIdle is Read, except that once the connection has waited
	// between idle and twice that for its next message at a message
	// boundary (never inside a frame, nothing buffered), it returns
	// ErrIdle and the connection stays as it was. With a ctx that can end,
	// or a connection that cannot park, it is Read.
	ReadOrIdle(ctx context.Context, idle time.Duration) ([]byte, error)
	// Park, after ReadOrIdle returned ErrIdle, waits for the connection
	// without the caller's goroutine: resume runs once, on another
	// goroutine, when the socket has bytes, reaches EOF or fails, or when
	// the connection is closed; the caller then reads on (a closed
	// connection's Read fails with ErrClosed). After Park returned true the
	// caller must not read until resume runs. It returns false, without
	// calling resume, if the connection is closed or cannot park; the
	// caller then reads as usual.
	Park(resume func()) bool
}

// DefaultPreJoinMaxMessageSize is the receive limit of a connection whose
// session has not joined yet: a HELLO or AUTHENTICATE needs a few KiB, so an
// anonymous peer cannot make the router reserve the full limit before login.
const DefaultPreJoinMaxMessageSize = 64 << 10

// Joiner is implemented by connections whose receive limit starts at the
// pre-join limit (DefaultPreJoinMaxMessageSize unless configured lower or
// higher) and rises to the full configured limit once the router calls
// Joined, right after it sends WELCOME. Joined is safe to call from the
// reading goroutine between Reads, and more than once.
type Joiner interface {
	Joined()
}

// Info describes an established connection. It is immutable.
type Info struct {
	Kind       string // KindWebSocket or KindRawSocket
	Serializer string // codec name: "json", "msgpack", "cbor"
	Protocol   string // WebSocket subprotocol, e.g. "wamp.2.json.batched"; "" for RawSocket
	Network    string // "tcp" or "unix"
	LocalAddr  string
	RemoteAddr string
	// TLS is the TLS connection state, nil without TLS.
	TLS *tls.ConnectionState
	// HTTPHeaders are the WebSocket upgrade request headers the endpoint's
	// allow-list keeps (websocket.ServerOptions.AuthHeaders; empty when it
	// names none), nil for RawSocket.
	HTTPHeaders http.Header
	// Path is the HTTP request path of a WebSocket upgrade.
	Path string
}

// Conn is one established WAMP transport connection (handshake done).
//
// Concurrency: Read may be called from one goroutine and Write from another
// at the same time; neither may be called concurrently with itself. Close is
// safe to call from any goroutine, any number of times.
type Conn interface {
	// Codec is the negotiated serializer.
	Codec() codec.Codec
	// Read blocks until one whole WAMP message arrives and returns its
	// bytes, which the caller owns. Transport-level keep-alives (WebSocket
	// ping, RawSocket PING) are answered inside Read and never returned.
	// A message over the receive limit fails with ErrMessageTooBig and the
	// connection is unusable afterwards.
	Read(ctx context.Context) ([]byte, error)
	// Write sends each frame as one WAMP message, in order, coalescing them
	// into as few system calls as the transport allows (one flush per call;
	// a batched WebSocket puts them in one WebSocket message). Frames are
	// not retained after Write returns.
	Write(ctx context.Context, frames [][]byte) error
	// MaxSendSize is the largest message the peer accepts (RawSocket
	// negotiated limit), 0 if unknown/unlimited.
	MaxSendSize() int
	// Info describes the connection.
	Info() Info
	// Close closes the underlying connection immediately.
	Close() error
}

// TryWriter is implemented by Conns that can write without waiting for
// the peer. Queue.Start then writes from a few shared goroutines
// (writerpool.go) and falls back to a goroutine of the queue's own only
// while the socket does not take its frames.
type TryWriter interface {
	// CanTryWrite reports whether TryWrite can work on this connection:
	// false when its socket is not exposed (TLS). It does not change.
	CanTryWrite() bool
	// TryWrite writes frames as Write does, if the socket takes them
	// now. It returns nil when all were written; ErrWouldBlock with a
	// nil finish when it wrote nothing (then Write them as usual); and a
	// non-nil finish when the socket took only part: the frames are the
	// connection's then, its other writes wait until finish has written
	// the rest, and finish, which may block, must be called exactly once.
	// Other errors are those of Write.
	TryWrite(frames [][]byte) (finish func(context.Context) error, err error)
}
