package codec

import (
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// MessagePack encoding (decoding is in msgpack.go).

func (msgpackCodec) arrayStart(dst []byte, n int) []byte {
	return mpAppendHeader(dst, 0x90, 0xdc, uint64(n))
}
func (msgpackCodec) arrayNext(dst []byte, _ int) []byte { return dst }
func (msgpackCodec) arrayEnd(dst []byte) []byte         { return dst }
func (msgpackCodec) appendUint(dst []byte, v uint64) []byte {
	return mpAppendUint(dst, v)
}
func (msgpackCodec) appendStr(dst []byte, s string) []byte { return mpAppendStr(dst, s) }
func (msgpackCodec) emptyList() []byte                     { return mpEmptyList }

var mpEmptyList = []byte{0x90}

// mpAppendHeader writes an array (fix 0x90, base 0xdc) or map (fix 0x80,
// base 0xde) header.
func mpAppendHeader(dst []byte, fix, base byte, n uint64) []byte {
	switch {
	case n <= 15:
		return append(dst, fix|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, base), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, base+1), uint32(n))
}

func mpAppendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
}

func mpAppendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return mpAppendUint(dst, uint64(v))
	}
	switch {
	case v >= -32:
		return append(dst, byte(int8(v)))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(int8(v)))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(v))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

// mpAppendStr writes s as a str; invalid UTF-8 (possible in a Go string)
// becomes U+FFFD, as the decoders accept only UTF-8.
func mpAppendStr(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	n := len(s)
	switch {
	case n <= 31:
		dst = append(dst, 0xa0|byte(n))
	case n <= math.MaxUint8:
		dst = append(dst, 0xd9, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	}
	return append(dst, s...)
}

func mpAppendBin(dst []byte, b []byte) []byte {
	n := len(b)
	switch {
	case n <= math.MaxUint8:
		dst = append(dst, 0xc4, byte(n))
	case n <= math.MaxUint16:
		dst = binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
	default:
		dst = binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	}
	return append(dst, b...)
}

func (c msgpackCodec) appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, 0xc0), nil
	case bool:
		if v {
			return append(dst, 0xc3), nil
		}
		return append(dst, 0xc2), nil
	case string:
		if uint64(len(v)) > math.MaxUint32 {
			return dst, errTooLong
		}
		return mpAppendStr(dst, v), nil
	case int64:
		return mpAppendInt(dst, v), nil
	case int:
		return mpAppendInt(dst, int64(v)), nil
	case uint64:
		return mpAppendUint(dst, v), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(v)), nil
	case []byte:
		if uint64(len(v)) > math.MaxUint32 {
			return dst, errTooLong
		}
		return mpAppendBin(dst, v), nil
	case wamp.List:
		if depth > maxDepth {
			return dst, errDepth()
		}
		dst = mpAppendHeader(dst, 0x90, 0xdc, uint64(len(v)))
		for _, e := range v {
			var err error
			if dst, err = c.appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case wamp.Dict:
		if depth > maxDepth {
			return dst, errDepth()
		}
		dst = mpAppendHeader(dst, 0x80, 0xde, uint64(len(v)))
		for k, e := range v {
			dst = mpAppendStr(dst, k)
			var err error
			if dst, err = c.appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case int32:
		return mpAppendInt(dst, int64(v)), nil
	case int16:
		return mpAppendInt(dst, int64(v)), nil
	case int8:
		return mpAppendInt(dst, int64(v)), nil
	case uint:
		return mpAppendUint(dst, uint64(v)), nil
	case uint32:
		return mpAppendUint(dst, uint64(v)), nil
	case uint16:
		return mpAppendUint(dst, uint64(v)), nil
	case uint8:
		return mpAppendUint(dst, uint64(v)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, 0xca), math.Float32bits(v)), nil
	}
	if depth > maxDepth {
		return dst, errDepth()
	}
	n, err := normalize(v)
	if err != nil {
		return dst, err
	}
	return c.appendValue(dst, n, depth+1)
}
