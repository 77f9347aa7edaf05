package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation byte = 0x0
	opText         byte = 0x1
	opBinary       byte = 0x2
	opClose        byte = 0x8
	opPing         byte = 0x9
	opPong         byte = 0xA
)

const (
	finBit            = 0x80
	rsvBits           = 0x70
	maskBit           = 0x80
	maxControlPayload = 125
	maxHeaderLen      = 14
)

// StatusCode is a WebSocket close status code (RFC 6455 section 7.4).
type StatusCode uint16

// Close status codes we send or interpret.
const (
	StatusNormalClosure           StatusCode = 1000
	StatusGoingAway               StatusCode = 1001
	StatusProtocolError           StatusCode = 1002
	StatusUnsupportedData         StatusCode = 1003
	StatusNoStatusRcvd            StatusCode = 1005 // never on the wire: close frame without a code
	StatusInvalidFramePayloadData StatusCode = 1007
	StatusPolicyViolation         StatusCode = 1008
	StatusMessageTooBig           StatusCode = 1009
	StatusInternalError           StatusCode = 1011
)

// validWireStatus reports whether a peer may send code in a close frame.
func validWireStatus(code StatusCode) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code >= 1000 && code <= 1014:
		return code != 1004 && code != 1005 && code != 1006
	}
	return false
}

// CloseError is a close frame: the peer's, or the one we sent when we
// failed the connection.
type CloseError struct {
	Code   StatusCode
	Reason string
}

func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("websocket closed with status %d", e.Code)
	}
	return fmt.Sprintf("websocket closed with status %d: %s", e.Code, e.Reason)
}

// CloseStatus returns the close code in err's chain, 0 if there is none.
func CloseStatus(err error) StatusCode {
	if ce, ok := errors.AsType[*CloseError](err); ok {
		return ce.Code
	}
	return 0
}

// protocolError is a violation of RFC 6455 or of the WAMP framing on top of
// it: Read fails the connection with Code.
type protocolError struct {
	Code   StatusCode
	Reason string // short, sent in the close frame
	err    error  // detail for the local error
}

func (e *protocolError) Error() string { return e.err.Error() }
func (e *protocolError) Unwrap() error { return e.err }

func protoErr(code StatusCode, reason string, format string, args ...any) *protocolError {
	return &protocolError{Code: code, Reason: reason, err: fmt.Errorf(format, args...)}
}

// frameHeader is a decoded frame header.
type frameHeader struct {
	fin    bool
	op     byte
	masked bool
	key    [4]byte
	n      int64
}

// parseHeader decodes the header at the start of b. It returns the header
// length, or 0 if b is too short and needs more bytes.
func parseHeader(b []byte) (h frameHeader, hlen int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	if b[0]&rsvBits != 0 {
		return h, 0, protoErr(StatusProtocolError, "reserved bits set",
			"reserved bits set in frame header (0x%02X) without a negotiated extension", b[0])
	}
	h.fin = b[0]&finBit != 0
	h.op = b[0] & 0x0F
	h.masked = b[1]&maskBit != 0
	ext := 0 // extended length bytes
	switch n := b[1] & 0x7F; n {
	case 126:
		ext = 2
	case 127:
		ext = 8
	default:
		h.n = int64(n)
	}
	hlen = 2 + ext
	if h.masked {
		hlen += 4
	}
	if len(b) < hlen {
		return h, 0, nil
	}
	switch ext {
	case 2:
		h.n = int64(binary.BigEndian.Uint16(b[2:]))
	case 8:
		u := binary.BigEndian.Uint64(b[2:])
		if u>>63 != 0 {
			return h, 0, protoErr(StatusProtocolError, "bad frame length",
				"64-bit frame length with the most significant bit set")
		}
		h.n = int64(u)
	}
	if h.masked {
		copy(h.key[:], b[hlen-4:hlen])
	}
	if h.op >= opClose {
		if h.op > opPong {
			return h, 0, protoErr(StatusProtocolError, "reserved opcode", "reserved control opcode 0x%X", h.op)
		}
		if !h.fin || h.n > maxControlPayload {
			return h, 0, protoErr(StatusProtocolError, "bad control frame",
				"control frame 0x%X fragmented or with a %d-byte payload (at most 125)", h.op, h.n)
		}
	} else if h.op > opBinary {
		return h, 0, protoErr(StatusProtocolError, "reserved opcode", "reserved data opcode 0x%X", h.op)
	}
	return h, hlen, nil
}

// appendHeader appends a frame header for an n-byte payload, masked with
// key if key is not nil.
func appendHeader(b []byte, fin bool, op byte, n int, key *[4]byte) []byte {
	b0 := op
	if fin {
		b0 |= finBit
	}
	var m byte
	if key != nil {
		m = maskBit
	}
	switch {
	case n <= 125:
		b = append(b, b0, m|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, m|126, byte(n>>8), byte(n))
	default:
		b = append(b, b0, m|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	if key != nil {
		b = append(b, key[:]...)
	}
	return b
}

// maskBytes XORs b in place with key, b[0] taking key[pos&3], and returns
// the key position after b.
func maskBytes(key [4]byte, pos int, b []byte) int {
	if len(b) >= 16 {
		var k [8]byte
		for i := range k {
			k[i] = key[(pos+i)&3]
		}
		kw := binary.LittleEndian.Uint64(k[:])
		for len(b) >= 8 { // 8 bytes keep the key position
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^kw)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return (pos + len(b)) & 3
}

// parseClose decodes a close frame payload.
func parseClose(p []byte) (*CloseError, error) {
	switch {
	case len(p) == 0:
		return &CloseError{Code: StatusNoStatusRcvd}, nil
	case len(p) == 1:
		return nil, protoErr(StatusProtocolError, "bad close frame", "1-byte close frame payload")
	}
	ce := &CloseError{Code: StatusCode(binary.BigEndian.Uint16(p)), Reason: string(p[2:])}
	if !validWireStatus(ce.Code) {
		return nil, protoErr(StatusProtocolError, "bad close code", "invalid close code %d", ce.Code)
	}
	if !utf8.Valid(p[2:]) {
		return nil, protoErr(StatusInvalidFramePayloadData, "bad close reason", "close reason is not valid UTF-8")
	}
	return ce, nil
}

// closePayload encodes a close frame payload; the reason is cut to fit a
// control frame (at a rune boundary).
func closePayload(b []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatusRcvd {
		return b
	}
	for len(reason) > maxControlPayload-2 {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(b, reason...)
}
