// Package codec serializes WAMP messages: JSON (with the binary
// convention), MessagePack and CBOR, looked up by WebSocket subprotocol or
// RawSocket serializer id.
//
// Codecs are stateless and safe for concurrent use.
package codec

import (
	"fmt"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Serializer ids as used in the RawSocket handshake.
const (
	IDJSON    uint8 = 1
	IDMsgPack uint8 = 2
	IDCBOR    uint8 = 3
)

// Codec encodes and decodes whole WAMP messages and payload values.
type Codec interface {
	wamp.ValueCodec

	// Name is the short name used in config ("json", "msgpack", "cbor").
	Name() string
	// Binary reports whether the WebSocket transport must use binary frames.
	Binary() bool

	// Encode appends the encoding of m to dst. A payload kept raw by this
	// codec is copied as bytes; a raw payload of another codec is decoded
	// and re-encoded (transcoded).
	Encode(dst []byte, m wamp.Message) ([]byte, error)
	// Decode parses one message. It returns a *wamp.ProtocolError for
	// anything malformed: not a list, unknown type, wrong element count or
	// element types, invalid IDs. Payload is kept raw, referring to data,
	// which the caller must not modify afterwards.
	Decode(data []byte) (wamp.Message, error)

	// EncodeValue encodes a single payload value (List, Dict, scalar).
	EncodeValue(dst []byte, v any) ([]byte, error)
}

// ByName returns the codec named "json", "msgpack" or "cbor".
func ByName(name string) (Codec, error) {
	for _, c := range all {
		if c.Name() == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("codec: unknown serializer %q (want json, msgpack or cbor)", name)
}

// ByID returns the codec with RawSocket serializer id.
func ByID(id uint8) (Codec, bool) {
	for _, c := range all {
		if c.SerializerID() == id {
			return c, true
		}
	}
	return nil, false
}

// Subprotocol returns the WebSocket subprotocol for c, e.g. "wamp.2.json",
// with ".batched" appended when batched is true. The names of the built-in
// codecs are constants, so every upgrade does not build them again.
func Subprotocol(c Codec, batched bool) string {
	switch n := c.Name(); {
	case n == "json" && !batched:
		return "wamp.2.json"
	case n == "json":
		return "wamp.2.json.batched"
	case n == "msgpack" && !batched:
		return "wamp.2.msgpack"
	case n == "msgpack":
		return "wamp.2.msgpack.batched"
	case n == "cbor" && !batched:
		return "wamp.2.cbor"
	case n == "cbor":
		return "wamp.2.cbor.batched"
	case batched:
		return "wamp.2." + n + ".batched"
	default:
		return "wamp.2." + n
	}
}

// BySubprotocol parses a WebSocket subprotocol name.
func BySubprotocol(p string) (c Codec, batched bool, ok bool) {
	name, found := strings.CutPrefix(p, "wamp.2.")
	if !found {
		return nil, false, false
	}
	if n, cut := strings.CutSuffix(name, ".batched"); cut {
		name, batched = n, true
	}
	for _, c := range all {
		if c.Name() == name {
			return c, batched, true
		}
	}
	return nil, false, false
}

// All returns every codec, in preference order JSON, MessagePack, CBOR.
func All() []Codec { return append([]Codec(nil), all...) }

// The codec singletons; implementations live in json.go, msgpack.go, cbor.go.
var (
	JSON    Codec = jsonCodec{}
	MsgPack Codec = msgpackCodec{}
	CBOR    Codec = cborCodec{}

	all = []Codec{JSON, MsgPack, CBOR}
)
