package rawsocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Magic is the first octet of every RawSocket handshake.
const Magic byte = 0x7F

// Size limits.
const (
	// DefaultMaxMessageSize is the receive limit when none is configured.
	DefaultMaxMessageSize = 1 << 24
	// MinMessageSize and MaxMessageSize bound the announceable limit
	// (L = 0 and L = 15).
	MinMessageSize = 1 << 9
	MaxMessageSize = 1 << 24
	// maxSendFrame is the largest payload we send: 2^24 would need the
	// header's extra length bit, which several peers mishandle.
	maxSendFrame = 1<<24 - 1
)

// ErrorCode is a handshake refusal code sent by the router.
type ErrorCode uint8

// Handshake error codes (SPEC §RawSocket handshake).
const (
	CodeSerializerUnsupported ErrorCode = 1
	CodeMaxLengthUnacceptable ErrorCode = 2
	CodeReservedBitsUsed      ErrorCode = 3
	CodeMaxConnections        ErrorCode = 4
)

// String returns the meaning of the code.
func (e ErrorCode) String() string {
	switch e {
	case CodeSerializerUnsupported:
		return "serializer unsupported"
	case CodeMaxLengthUnacceptable:
		return "maximum message length unacceptable"
	case CodeReservedBitsUsed:
		return "use of reserved bits (unsupported feature)"
	case CodeMaxConnections:
		return "maximum connection count reached"
	case 0:
		return "illegal error code 0"
	default:
		return fmt.Sprintf("reserved error code %d", uint8(e))
	}
}

// HandshakeError is returned by Dial and Client when the router refused
// the handshake with an error reply.
type HandshakeError struct {
	Code ErrorCode
}

func (e *HandshakeError) Error() string {
	return fmt.Sprintf("rawsocket: router refused handshake: %s (error %d)", e.Code, uint8(e.Code))
}

// lengthExponent returns L such that 2^(9+L) is size rounded down to a
// power of two and clamped to 512 B..16 MiB; size <= 0 means the default.
func lengthExponent(size int) uint8 {
	if size <= 0 {
		size = DefaultMaxMessageSize
	}
	var l uint8
	for l < 15 && 1<<(9+l+1) <= size {
		l++
	}
	return l
}

// limitOf returns the byte limit announced by exponent l.
func limitOf(l uint8) int { return 1 << (9 + int(l&0x0F)) }

// sendLimit is what we may send to a peer that announced exponent l.
func sendLimit(l uint8) int { return min(limitOf(l), maxSendFrame) }

// ServerOptions configures Accept. The zero value accepts every serializer
// with a 16 MiB receive limit.
type ServerOptions struct {
	// Serializers allowed, by codec name ("json", "msgpack", "cbor");
	// empty means all known codecs.
	Serializers []string
	// MaxMessageSize bounds a received message in bytes. It is rounded
	// down to a power of two and clamped to 512 B..16 MiB, and that value
	// is both announced in the handshake and enforced once the session
	// has joined. Default 16 MiB.
	MaxMessageSize int
	// PreJoinMaxMessageSize bounds a received message until the router
	// calls Conn.Joined (after WELCOME): a HELLO or AUTHENTICATE needs a
	// few KiB, and an anonymous peer must not make the router hold
	// MaxMessageSize before login. It is enforced on received frames only,
	// never announced (the peer is told MaxMessageSize, which it may use
	// after joining); a bigger frame fails the connection with
	// transport.ErrMessageTooBig. 0 means
	// transport.DefaultPreJoinMaxMessageSize (64 KiB); it is capped at
	// MaxMessageSize; negative means no separate pre-join limit.
	PreJoinMaxMessageSize int
}

// preJoinLimit is the pre-join receive limit for an announced limit.
func (o ServerOptions) preJoinLimit(limit int) int {
	switch {
	case o.PreJoinMaxMessageSize < 0:
		return limit
	case o.PreJoinMaxMessageSize == 0:
		return min(limit, transport.DefaultPreJoinMaxMessageSize)
	default:
		return min(limit, o.PreJoinMaxMessageSize)
	}
}

// Validate reports an unknown serializer name. Accept checks this too;
// call it at startup to fail early.
func (o ServerOptions) Validate() error {
	_, err := allowedIDs(o.Serializers)
	return err
}

// allowedIDs returns a bitmask of allowed serializer ids.
func allowedIDs(names []string) (uint16, error) {
	if len(names) == 0 {
		var m uint16
		for _, c := range codec.All() {
			m |= 1 << c.SerializerID()
		}
		return m, nil
	}
	var m uint16
	for _, n := range names {
		c, err := codec.ByName(n)
		if err != nil {
			return 0, fmt.Errorf("rawsocket: %w", err)
		}
		m |= 1 << c.SerializerID()
	}
	return m, nil
}

// clientHello is a parsed client handshake.
type clientHello struct {
	codec codec.Codec
	l     uint8 // client's max length exponent
}

// parseClientHello validates the 4 handshake octets sent by a client. On a
// refusal it returns the error code to reply with (0: no reply, just close)
// and a specific error.
func parseClientHello(b [4]byte, allowed uint16) (clientHello, ErrorCode, error) {
	if b[0] != Magic {
		return clientHello{}, 0, fmt.Errorf("rawsocket: bad magic octet 0x%02X (want 0x7F)", b[0])
	}
	if b[2] != 0 || b[3] != 0 {
		return clientHello{}, CodeReservedBitsUsed, fmt.Errorf("rawsocket: reserved handshake octets set (0x%02X 0x%02X)", b[2], b[3])
	}
	id := b[1] & 0x0F
	if id == 0 {
		return clientHello{}, CodeSerializerUnsupported, errors.New("rawsocket: illegal serializer 0")
	}
	c, ok := codec.ByID(id)
	if !ok || allowed&(1<<id) == 0 {
		return clientHello{}, CodeSerializerUnsupported, fmt.Errorf("rawsocket: unsupported serializer %d", id)
	}
	return clientHello{codec: c, l: b[1] >> 4}, 0, nil
}

// parseServerReply validates the router's reply to our hello.
func parseServerReply(b [4]byte, want codec.Codec) (l uint8, err error) {
	if b[0] != Magic {
		return 0, fmt.Errorf("rawsocket: bad magic octet 0x%02X in handshake reply (not a RawSocket router?)", b[0])
	}
	if b[2] != 0 || b[3] != 0 {
		return 0, fmt.Errorf("rawsocket: reserved octets set in handshake reply (0x%02X 0x%02X)", b[2], b[3])
	}
	id := b[1] & 0x0F
	if id == 0 {
		return 0, &HandshakeError{Code: ErrorCode(b[1] >> 4)}
	}
	if id != want.SerializerID() {
		return 0, fmt.Errorf("rawsocket: router answered serializer %d, we asked for %d (%s)", id, want.SerializerID(), want.Name())
	}
	return b[1] >> 4, nil
}

// withCtx makes blocking I/O on nc honour ctx: it applies ctx's deadline
// and interrupts the I/O when ctx is cancelled. stop restores "no
// deadline" and returns ctx.Err() if ctx has ended; callers use that error
// in place of an I/O error (which then is a timeout we caused).
func withCtx(ctx context.Context, nc net.Conn) (stop func() error) {
	dl, hasDL := ctx.Deadline()
	if hasDL {
		_ = nc.SetDeadline(dl)
	}
	if ctx.Done() == nil {
		return func() error {
			if hasDL {
				_ = nc.SetDeadline(time.Time{})
			}
			return nil
		}
	}
	fired := make(chan struct{})
	stopAF := context.AfterFunc(ctx, func() {
		_ = nc.SetDeadline(time.Unix(1, 0))
		close(fired)
	})
	return func() error {
		if !stopAF() {
			<-fired // it ran (or is running): wait, then undo its deadline
			_ = nc.SetDeadline(time.Time{})
		} else if hasDL {
			_ = nc.SetDeadline(time.Time{})
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if hasDL && !time.Now().Before(dl) {
			// The socket deadline can fire before ctx's own timer.
			return context.DeadlineExceeded
		}
		return nil
	}
}

// Accept performs the router side of the handshake on c, which the caller
// accepted: it reads the client's 4 octets (bounded by ctx), validates them
// and replies. A bad magic octet closes c without a reply; reserved bits
// are refused with error 3 and a serializer not in o.Serializers with
// error 1. On any error c is closed. The result is a *Conn.
func Accept(ctx context.Context, c net.Conn, o ServerOptions) (_ transport.Conn, err error) {
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	allowed, err := allowedIDs(o.Serializers)
	if err != nil {
		return nil, err
	}
	stop := withCtx(ctx, c)
	var b [4]byte
	_, rerr := io.ReadFull(c, b[:])
	hello, code, perr := parseClientHello(b, allowed)
	if rerr == nil && code != 0 {
		_, _ = c.Write([]byte{Magic, byte(code) << 4, 0, 0})
	}
	var werr error
	ourL := lengthExponent(o.MaxMessageSize)
	if rerr == nil && perr == nil {
		_, werr = c.Write([]byte{Magic, ourL<<4 | hello.codec.SerializerID(), 0, 0})
	}
	if cerr := stop(); cerr != nil && (rerr != nil || werr != nil) {
		return nil, fmt.Errorf("rawsocket: handshake: %w", cerr)
	}
	switch {
	case rerr != nil:
		return nil, fmt.Errorf("rawsocket: reading handshake: %w", rerr)
	case perr != nil:
		return nil, perr
	case werr != nil:
		return nil, fmt.Errorf("rawsocket: writing handshake reply: %w", werr)
	}
	limit := limitOf(ourL)
	return newConn(c, hello.codec, limit, o.preJoinLimit(limit), sendLimit(hello.l)), nil
}

// Refuse turns a RawSocket client away with error reply code (typically
// CodeMaxConnections): it reads the client's handshake first (bounded by
// ctx; reading avoids a TCP reset destroying our reply), replies, and
// closes c. It returns the I/O error, if any; c is closed either way.
func Refuse(ctx context.Context, c net.Conn, code ErrorCode) error {
	defer c.Close()
	if code == 0 || code > 15 {
		return fmt.Errorf("rawsocket: cannot refuse with error code %d", uint8(code))
	}
	stop := withCtx(ctx, c)
	var b [4]byte
	_, err := io.ReadFull(c, b[:])
	if err == nil {
		_, err = c.Write([]byte{Magic, byte(code) << 4, 0, 0})
	}
	if cerr := stop(); cerr != nil && err != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rawsocket: refusing: %w", err)
	}
	return nil
}
