package codec

// Placeholder implementations so dependants compile while the real codecs
// are written; replaced by json.go, msgpack.go and cbor.go.

import (
	"errors"

	"github.com/tollgate-wamp/tollgate/wamp"
)

var errTODO = errors.New("codec: not implemented yet")

type stub struct{}

func (stub) DecodeList([]byte) (wamp.List, error)          { return nil, errTODO }
func (stub) DecodeDict([]byte) (wamp.Dict, error)          { return nil, errTODO }
func (stub) Encode([]byte, wamp.Message) ([]byte, error)   { return nil, errTODO }
func (stub) Decode([]byte) (wamp.Message, error)           { return nil, errTODO }
func (stub) EncodeValue(dst []byte, v any) ([]byte, error) { return nil, errTODO }

type jsonCodec struct{ stub }
type msgpackCodec struct{ stub }
type cborCodec struct{ stub }

func (jsonCodec) Name() string           { return "json" }
func (jsonCodec) Binary() bool           { return false }
func (jsonCodec) SerializerID() uint8    { return IDJSON }
func (msgpackCodec) Name() string        { return "msgpack" }
func (msgpackCodec) Binary() bool        { return true }
func (msgpackCodec) SerializerID() uint8 { return IDMsgPack }
func (cborCodec) Name() string           { return "cbor" }
func (cborCodec) Binary() bool           { return true }
func (cborCodec) SerializerID() uint8    { return IDCBOR }
