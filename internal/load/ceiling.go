package load

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// The session ceiling: a server that does, per connection, exactly the
// byte exchange of an anonymous session with the router and nothing else
// (no decoding, no realm, no authentication): the RawSocket handshake or
// the HTTP upgrade, a HELLO read, a canned WELCOME written, a GOODBYE
// read and one written back, the end of stream read, close. One goroutine
// per connection, as net/http and the router have. The sessions scenario
// pointed at it tells how many sessions per server CPU-second a Go server
// can open and close on this machine at all.

// ServeSessions accepts on ln until it closes; ws selects the WebSocket
// upgrade and framing instead of RawSocket.
func ServeSessions(ln net.Listener, ws bool) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer nc.Close()
			if ws {
				_ = wsSession(nc)
			} else {
				_ = rawSession(nc)
			}
		}()
	}
}

// canned is WELCOME and GOODBYE in one serializer, framed.
type canned struct{ welcome, goodbye []byte }

// cannedMessages encodes, once per codec, a WELCOME with the router's
// details (its roles dict and the identity fields of an anonymous login)
// and a GOODBYE reply, each framed by frame.
func cannedMessages(cd codec.Codec, frame func(cd codec.Codec, b []byte) []byte) (canned, error) {
	features := func(keys []string) wamp.Dict {
		d := make(wamp.Dict, len(keys))
		for _, k := range keys {
			d[k] = true
		}
		return d
	}
	w := &wamp.Welcome{Session: 1, Details: wamp.Dict{
		"authid": "WXJY-5DQD-UT3R-XP7A", "authrole": "anonymous", "authmethod": "anonymous",
		"authprovider": "static", "agent": "tollgate-ceiling",
		"roles": wamp.Dict{
			"broker": wamp.Dict{"features": features(broker.Features)},
			"dealer": wamp.Dict{"features": features(dealer.Features)},
		},
	}}
	wb, err := cd.Encode(nil, w)
	if err != nil {
		return canned{}, err
	}
	gb, err := cd.Encode(nil, &wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal})
	if err != nil {
		return canned{}, err
	}
	return canned{frame(cd, wb), frame(cd, gb)}, nil
}

func rawFrame(_ codec.Codec, b []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...)
}

func wsFrame(cd codec.Codec, b []byte) []byte {
	op := byte(0x81) // FIN + text
	if cd.Binary() {
		op = 0x82
	}
	switch n := len(b); {
	case n < 126:
		return append([]byte{op, byte(n)}, b...)
	case n < 1<<16:
		return append(binary.BigEndian.AppendUint16([]byte{op, 126}, uint16(n)), b...)
	default:
		return append(binary.BigEndian.AppendUint64([]byte{op, 127}, uint64(n)), b...)
	}
}

var errCeiling = errors.New("load: ceiling: unexpected input")

// frameReader reads whole frames of a length-prefixed framing off a
// connection into one buffer, one read(2) per arrival.
type frameReader struct {
	nc         net.Conn
	buf        []byte
	start, end int                // unread bytes
	size       func(b []byte) int // frame size at b's start, 0 if its header is incomplete
}

// next reads until a whole frame is buffered and returns it (valid until
// the next call).
func (r *frameReader) next() ([]byte, error) {
	for {
		if n := r.size(r.buf[r.start:r.end]); n > 0 && r.start+n <= r.end {
			f := r.buf[r.start : r.start+n]
			r.start += n
			return f, nil
		} else if n > len(r.buf) {
			return nil, errCeiling
		}
		if r.start > 0 {
			r.end = copy(r.buf, r.buf[r.start:r.end])
			r.start = 0
		}
		if r.end == len(r.buf) {
			return nil, errCeiling
		}
		m, err := r.nc.Read(r.buf[r.end:])
		if err != nil {
			return nil, err
		}
		r.end += m
	}
}

// eof reads until the peer closes.
func (r *frameReader) eof() error {
	for {
		if _, err := r.nc.Read(r.buf); err != nil {
			return nil
		}
	}
}

func rawSize(b []byte) int {
	if len(b) < 4 {
		return 0
	}
	return 4 + int(binary.BigEndian.Uint32(b)&0xFFFFFF)
}

// wsSize is a masked client frame's size.
func wsSize(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	switch n := int(b[1] & 0x7F); n {
	case 126:
		if len(b) < 4 {
			return 0
		}
		return 8 + int(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return 0
		}
		return 14 + int(binary.BigEndian.Uint64(b[2:])&0xFFFFFFF)
	default:
		return 6 + n
	}
}

var rawCanned, wsCanned [4]canned // by serializer id; json, msgpack, cbor

func init() {
	for _, cd := range []codec.Codec{codec.JSON, codec.MsgPack, codec.CBOR} {
		var err1, err2 error
		rawCanned[cd.SerializerID()], err1 = cannedMessages(cd, rawFrame)
		wsCanned[cd.SerializerID()], err2 = cannedMessages(cd, wsFrame)
		if err := errors.Join(err1, err2); err != nil {
			panic(fmt.Sprintf("load: ceiling messages: %v", err))
		}
	}
}

// exchange is the WAMP part of a session once the transport is open.
func exchange(r *frameReader, c canned) error {
	if _, err := r.next(); err != nil { // HELLO
		return err
	}
	if _, err := r.nc.Write(c.welcome); err != nil {
		return err
	}
	if _, err := r.next(); err != nil { // GOODBYE
		return err
	}
	if _, err := r.nc.Write(c.goodbye); err != nil {
		return err
	}
	return r.eof()
}

func rawSession(nc net.Conn) error {
	r := &frameReader{nc: nc, buf: make([]byte, 16<<10), size: func(b []byte) int {
		if len(b) < 4 {
			return 0
		}
		return 4
	}}
	hs, err := r.next()
	if err != nil {
		return err
	}
	ser := hs[1] & 0x0F
	if hs[0] != 0x7F || int(ser) >= len(rawCanned) || rawCanned[ser].welcome == nil {
		return errCeiling
	}
	if _, err := nc.Write([]byte{0x7F, 0xF0 | ser, 0, 0}); err != nil {
		return err
	}
	r.size = rawSize
	return exchange(r, rawCanned[ser])
}

func wsSession(nc net.Conn) error {
	r := &frameReader{nc: nc, buf: make([]byte, 16<<10)}
	r.size = func(b []byte) int {
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return i + 4
		}
		return 0
	}
	b, err := r.next()
	if err != nil {
		return err
	}
	req := string(b)
	key, proto := header(req, "sec-websocket-key"), ""
	for p := range strings.SplitSeq(header(req, "sec-websocket-protocol"), ",") {
		if p = strings.TrimSpace(p); strings.HasPrefix(p, "wamp.2.") && proto == "" {
			proto = p
		}
	}
	cd, err := codec.ByName(strings.TrimPrefix(proto, "wamp.2."))
	if key == "" || err != nil {
		return errCeiling
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\nSec-WebSocket-Protocol: " + proto + "\r\n\r\n"
	if _, err := nc.Write([]byte(resp)); err != nil {
		return err
	}
	r.size = wsSize
	return exchange(r, wsCanned[cd.SerializerID()])
}

// header returns the value of the HTTP header name (lower case) in req.
func header(req, name string) string {
	for line := range strings.SplitSeq(req, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
