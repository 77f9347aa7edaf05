package codec

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// cborCodec is WAMP CBOR (RFC 8949). Decoding and encoding are
// hand-written for the same reasons as MessagePack. Input is untrusted, so
// the decoder accepts only the data model WAMP needs: definite-length
// items, nesting at most maxDepth, text-string map keys, valid UTF-8 text,
// integers within int64/uint64, the simple values false/true/null/undefined
// (undefined decodes as nil) and half/single/double floats. Tags and
// indefinite-length items are rejected. Unsigned integers decode to int64
// (uint64 above MaxInt64), negative ones to int64, floats to float64, byte
// strings to []byte.
type cborCodec struct{}

func (cborCodec) Name() string        { return "cbor" }
func (cborCodec) Binary() bool        { return true }
func (cborCodec) SerializerID() uint8 { return IDCBOR }

func (c cborCodec) Decode(data []byte) (wamp.Message, error) {
	return decodeMessage(cborWire{}, c, data)
}

func (c cborCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	return encodeMessage(c, dst, m)
}

func (c cborCodec) EncodeValue(dst []byte, v any) ([]byte, error) {
	return c.appendValue(dst, v, 1)
}

func (cborCodec) DecodeList(b []byte) (wamp.List, error) {
	return decodeAs[wamp.List]("cbor", "list", cborDecodeValue, b)
}

func (cborCodec) DecodeDict(b []byte) (wamp.Dict, error) {
	return decodeAs[wamp.Dict]("cbor", "dict", cborDecodeValue, b)
}

func cborDecodeValue(b []byte) (any, error) {
	p := cborParser{b: b}
	v, err := p.value(1, true)
	if err != nil {
		return nil, err
	}
	if p.i != len(b) {
		return nil, p.errAt("trailing data after value")
	}
	return v, nil
}

type cborWire struct{}

func (cborWire) split(data []byte) (elems, error) {
	var el elems
	if len(data) == 0 {
		return el, wamp.Protocolf("cbor: empty input")
	}
	p := cborParser{b: data}
	if data[0]>>5 != 4 {
		if _, err := p.value(1, false); err != nil {
			return el, err
		}
		return el, wamp.Protocolf("message must be a list, got %s", cborWire{}.kind(data))
	}
	n, err := p.head()
	if err != nil {
		return el, err
	}
	if n > uint64(len(data)-p.i) {
		return el, p.truncated()
	}
	for range n {
		start := p.i
		if _, err := p.value(1, false); err != nil {
			return el, err
		}
		el.add(data[start:p.i])
	}
	if p.i != len(data) {
		return el, p.errAt("trailing data after message")
	}
	return el, nil
}

func (cborWire) kind(raw []byte) kind {
	if len(raw) == 0 {
		return kindInvalid
	}
	switch raw[0] >> 5 {
	case 0, 1:
		return kindInt
	case 2:
		return kindBytes
	case 3:
		return kindString
	case 4:
		return kindList
	case 5:
		return kindDict
	case 7:
		switch raw[0] & 0x1f {
		case 20, 21:
			return kindBool
		case 22, 23:
			return kindNull
		case 25, 26, 27:
			return kindFloat
		}
	}
	return kindInvalid
}

func (cborWire) integer(raw []byte) (intVal, bool) {
	if len(raw) == 0 || raw[0]>>5 > 1 {
		return intVal{}, false
	}
	p := cborParser{b: raw}
	major := raw[0] >> 5
	n, err := p.head()
	if err != nil {
		return intVal{}, false
	}
	if major == 1 {
		if n == math.MaxUint64 {
			return intVal{}, false
		}
		return intVal{abs: n + 1, neg: true}, true
	}
	return intVal{abs: n}, true
}

// str reads the text string directly, not through value, which would box
// it (one more allocation per decoded URI).
func (cborWire) str(raw []byte) (string, bool) {
	if len(raw) == 0 || raw[0]>>5 != 3 {
		return "", false
	}
	p := cborParser{b: raw}
	n, err := p.head()
	if err != nil {
		return "", false
	}
	b, err := p.take(n)
	if err != nil || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

func (cborWire) dict(raw []byte) (wamp.Dict, error) {
	p := cborParser{b: raw}
	v, err := p.value(1, true)
	if err != nil {
		return nil, err
	}
	d, ok := v.(wamp.Dict)
	if !ok {
		return nil, wamp.Protocolf("want a dict, got %s", kindOfValue(v))
	}
	return d, nil
}

// cborParser validates, and optionally builds, CBOR values.
type cborParser struct {
	b []byte
	i int
}

func (p *cborParser) errAt(msg string) error {
	return wamp.Protocolf("cbor: %s at offset %d", msg, p.i)
}

func (p *cborParser) truncated() error { return p.errAt("unexpected end of input") }

// head reads an initial byte and its argument for major types 0-6. It
// rejects indefinite lengths and reserved additional information.
func (p *cborParser) head() (uint64, error) {
	if p.i >= len(p.b) {
		return 0, p.truncated()
	}
	ai := p.b[p.i] & 0x1f
	switch {
	case ai < 24:
		p.i++
		return uint64(ai), nil
	case ai <= 27:
		size := 1 << (ai - 24)
		if len(p.b)-p.i-1 < size {
			return 0, p.truncated()
		}
		u := beUint(p.b[p.i+1 : p.i+1+size])
		p.i += 1 + size
		return u, nil
	case ai == 31:
		return 0, p.errAt("indefinite-length item not supported")
	}
	return 0, p.errAt("reserved additional information " + strconv.Itoa(int(ai)))
}

func (p *cborParser) take(n uint64) ([]byte, error) {
	if n > uint64(len(p.b)-p.i) {
		return nil, p.truncated()
	}
	b := p.b[p.i : p.i+int(n)]
	p.i += int(n)
	return b, nil
}

func (p *cborParser) value(depth int, build bool) (any, error) {
	if p.i >= len(p.b) {
		return nil, p.truncated()
	}
	start := p.i
	c := p.b[p.i]
	major := c >> 5
	if major == 7 {
		return p.simple()
	}
	if major == 6 {
		// Tag 64 (RFC 8746: uint8 typed array) is how JavaScript CBOR
		// encoders send a Uint8Array; it is a byte string. Other tags are
		// outside WAMP's data model.
		if c != 0xd8 || p.i+1 >= len(p.b) || p.b[p.i+1] != 0x40 {
			return nil, p.errAt("tags not supported (only tag 64, a byte array)")
		}
		if p.i+2 >= len(p.b) || p.b[p.i+2]>>5 != 2 {
			return nil, p.errAt("tag 64 must wrap a byte string")
		}
		p.i += 2
		return p.value(depth, build)
	}
	n, err := p.head()
	if err != nil {
		return nil, err
	}
	// Integers are returned as nil when only validating: boxing them would
	// allocate for every ID in every message.
	switch major {
	case 0:
		switch {
		case !build:
			return nil, nil
		case n > math.MaxInt64:
			return n, nil
		}
		return int64(n), nil
	case 1:
		if n > math.MaxInt64 {
			p.i = start
			return nil, p.errAt("negative integer out of range")
		}
		if !build {
			return nil, nil
		}
		return -1 - int64(n), nil
	case 2:
		b, err := p.take(n)
		if err != nil || !build {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case 3:
		b, err := p.take(n)
		if err != nil {
			return nil, err
		}
		if !utf8.Valid(b) {
			p.i = start
			return nil, p.errAt("invalid UTF-8 in text string")
		}
		if !build {
			return nil, nil
		}
		return string(b), nil
	}
	if depth > maxDepth {
		p.i = start
		return nil, p.errAt("nesting deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
	if major == 4 {
		return p.array(n, depth, build)
	}
	return p.dict(n, depth, build) // major 5
}

// array reads the n items of an array whose head was just read.
func (p *cborParser) array(n uint64, depth int, build bool) (any, error) {
	if n > uint64(len(p.b)-p.i) {
		return nil, p.truncated()
	}
	var l wamp.List
	if build {
		l = make(wamp.List, n)
	}
	for i := range n {
		v, err := p.value(depth+1, build)
		if err != nil {
			return nil, err
		}
		if build {
			l[i] = v
		}
	}
	return l, nil
}

// dict reads the n pairs of a map whose head was just read; keys must be
// text strings.
func (p *cborParser) dict(n uint64, depth int, build bool) (any, error) {
	if n > uint64(len(p.b)-p.i)/2 {
		return nil, p.truncated()
	}
	var d wamp.Dict
	if build {
		d = make(wamp.Dict, n)
	}
	for range n {
		if p.i >= len(p.b) {
			return nil, p.truncated()
		}
		if k := (cborWire{}).kind(p.b[p.i:]); k != kindString {
			return nil, p.errAt("dict key must be a string, got " + k.String())
		}
		k, err := p.value(depth+1, build)
		if err != nil {
			return nil, err
		}
		v, err := p.value(depth+1, build)
		if err != nil {
			return nil, err
		}
		if build {
			d[k.(string)] = v
		}
	}
	return d, nil
}

func (p *cborParser) simple() (any, error) {
	ai := p.b[p.i] & 0x1f
	switch ai {
	case 20:
		p.i++
		return false, nil
	case 21:
		p.i++
		return true, nil
	case 22, 23:
		p.i++
		return nil, nil
	case 25, 26, 27:
		size := 1 << (ai - 24)
		if len(p.b)-p.i-1 < size {
			return nil, p.truncated()
		}
		u := beUint(p.b[p.i+1 : p.i+1+size])
		p.i += 1 + size
		switch size {
		case 2:
			return halfToFloat(uint16(u)), nil
		case 4:
			return float64(math.Float32frombits(uint32(u))), nil
		}
		return math.Float64frombits(u), nil
	case 31:
		return nil, p.errAt("unexpected break")
	}
	return nil, p.errAt("simple value " + strconv.Itoa(int(ai)) + " not supported")
}

func halfToFloat(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	var f float64
	switch exp {
	case 0:
		f = math.Ldexp(frac, -24)
	case 31:
		if frac == 0 {
			f = math.Inf(1)
		} else {
			f = math.NaN()
		}
	default:
		f = math.Ldexp(frac+1024, exp-25)
	}
	if h&0x8000 != 0 {
		f = -f
	}
	return f
}

// Encoding.

func (cborCodec) arrayStart(dst []byte, n int) []byte    { return cborAppendHead(dst, 4, uint64(n)) }
func (cborCodec) arrayNext(dst []byte, _ int) []byte     { return dst }
func (cborCodec) arrayEnd(dst []byte) []byte             { return dst }
func (cborCodec) appendUint(dst []byte, v uint64) []byte { return cborAppendHead(dst, 0, v) }
func (cborCodec) appendStr(dst []byte, s string) []byte  { return cborAppendText(dst, s) }
func (cborCodec) emptyList() []byte                      { return cborEmptyList }

var cborEmptyList = []byte{0x80}

func cborAppendHead(dst []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(dst, m|byte(n))
	case n <= math.MaxUint8:
		return append(dst, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(dst, m|27), n)
}

func cborAppendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return cborAppendHead(dst, 0, uint64(v))
	}
	return cborAppendHead(dst, 1, uint64(-1-v))
}

// cborAppendText writes s as a text string; invalid UTF-8 (possible in a
// Go string or a MessagePack str) becomes U+FFFD, as CBOR text must be UTF-8.
func cborAppendText(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return append(cborAppendHead(dst, 3, uint64(len(s))), s...)
}

func (c cborCodec) appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, 0xf6), nil
	case bool:
		if v {
			return append(dst, 0xf5), nil
		}
		return append(dst, 0xf4), nil
	case string:
		return cborAppendText(dst, v), nil
	case int64:
		return cborAppendInt(dst, v), nil
	case int:
		return cborAppendInt(dst, int64(v)), nil
	case uint64:
		return cborAppendHead(dst, 0, v), nil
	case float64:
		return binary.BigEndian.AppendUint64(append(dst, 0xfb), math.Float64bits(v)), nil
	case []byte:
		return append(cborAppendHead(dst, 2, uint64(len(v))), v...), nil
	case wamp.List:
		if depth > maxDepth {
			return dst, errDepth()
		}
		dst = cborAppendHead(dst, 4, uint64(len(v)))
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
		dst = cborAppendHead(dst, 5, uint64(len(v)))
		for k, e := range v {
			dst = cborAppendText(dst, k)
			var err error
			if dst, err = c.appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case int32:
		return cborAppendInt(dst, int64(v)), nil
	case int16:
		return cborAppendInt(dst, int64(v)), nil
	case int8:
		return cborAppendInt(dst, int64(v)), nil
	case uint:
		return cborAppendHead(dst, 0, uint64(v)), nil
	case uint32:
		return cborAppendHead(dst, 0, uint64(v)), nil
	case uint16:
		return cborAppendHead(dst, 0, uint64(v)), nil
	case uint8:
		return cborAppendHead(dst, 0, uint64(v)), nil
	case float32:
		return binary.BigEndian.AppendUint32(append(dst, 0xfa), math.Float32bits(v)), nil
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
