package codec

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// msgpackCodec is WAMP MessagePack in the v5 format (separate str and bin
// families). Decoding and encoding are hand-written: the format is small,
// and owning it lets one pass validate a whole message (nesting at most
// maxDepth, string map keys only, no ext types) without reflection. Ext
// types, including the timestamp extension, have no WAMP meaning and are
// rejected. A str must be valid UTF-8 (MessagePack says str is UTF-8; JSON
// and CBOR are held to it too), wherever it appears: URIs, dict keys,
// envelope and payload values. Integers of any width decode to int64
// (uint64 above MaxInt64), float32/float64 to float64, str to string, bin
// to []byte.
type msgpackCodec struct{}

func (msgpackCodec) Name() string        { return "msgpack" }
func (msgpackCodec) Binary() bool        { return true }
func (msgpackCodec) SerializerID() uint8 { return IDMsgPack }

func (c msgpackCodec) Decode(data []byte) (wamp.Message, error) {
	return decodeMessage(mpWire{}, c, data)
}

func (c msgpackCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	return encodeMessage(c, dst, m)
}

func (c msgpackCodec) EncodeValue(dst []byte, v any) ([]byte, error) {
	return c.appendValue(dst, v, 1)
}

func (msgpackCodec) DecodeList(b []byte) (wamp.List, error) {
	return decodeAs[wamp.List]("msgpack", "list", mpDecodeValue, b)
}

func (msgpackCodec) DecodeDict(b []byte) (wamp.Dict, error) {
	return decodeAs[wamp.Dict]("msgpack", "dict", mpDecodeValue, b)
}

func mpDecodeValue(b []byte) (any, error) {
	p := mpParser{b: b}
	v, err := p.value(1, true)
	if err != nil {
		return nil, err
	}
	if p.i != len(b) {
		return nil, p.errAt("trailing data after value")
	}
	return v, nil
}

type mpWire struct{}

func (mpWire) split(data []byte) (elems, error) {
	var el elems
	p := mpParser{b: data}
	if len(data) == 0 {
		return el, wamp.Protocolf("msgpack: empty input")
	}
	n, ok, err := p.arrayHeader()
	if err != nil {
		return el, err
	}
	if !ok {
		if _, err := p.value(1, false); err != nil {
			return el, err
		}
		return el, wamp.Protocolf("message must be a list, got %s", mpWire{}.kind(data))
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

func (mpWire) kind(raw []byte) kind {
	if len(raw) == 0 {
		return kindInvalid
	}
	c := raw[0]
	switch {
	case c <= 0x7f || c >= 0xe0 || c >= 0xcc && c <= 0xd3:
		return kindInt
	case c <= 0x8f || c == 0xde || c == 0xdf:
		return kindDict
	case c <= 0x9f || c == 0xdc || c == 0xdd:
		return kindList
	case c <= 0xbf || c >= 0xd9 && c <= 0xdb:
		return kindString
	case c == 0xc0:
		return kindNull
	case c == 0xc2 || c == 0xc3:
		return kindBool
	case c >= 0xc4 && c <= 0xc6:
		return kindBytes
	case c == 0xca || c == 0xcb:
		return kindFloat
	}
	return kindInvalid
}

func (mpWire) integer(raw []byte) (intVal, bool) {
	if len(raw) == 0 {
		return intVal{}, false
	}
	c := raw[0]
	switch {
	case c <= 0x7f:
		return intVal{abs: uint64(c)}, true
	case c >= 0xe0:
		return signed(int64(int8(c))), true
	}
	var size int
	switch c {
	case 0xcc, 0xd0:
		size = 1
	case 0xcd, 0xd1:
		size = 2
	case 0xce, 0xd2:
		size = 4
	case 0xcf, 0xd3:
		size = 8
	default:
		return intVal{}, false
	}
	if len(raw) < 1+size {
		return intVal{}, false
	}
	u := beUint(raw[1 : 1+size])
	if c >= 0xd0 { // signed
		switch size {
		case 1:
			return signed(int64(int8(u))), true
		case 2:
			return signed(int64(int16(u))), true
		case 4:
			return signed(int64(int32(u))), true
		}
		return signed(int64(u)), true
	}
	return intVal{abs: u}, true
}

func signed(n int64) intVal {
	if n < 0 {
		return intVal{abs: uint64(-(n + 1)) + 1, neg: true}
	}
	return intVal{abs: uint64(n)}
}

func beUint(b []byte) uint64 {
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return u
}

// str reads the string directly, not through value, which would box it
// (one more allocation per decoded URI). split has checked its UTF-8.
func (mpWire) str(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	p := mpParser{b: raw, i: 1}
	var n uint64
	switch c := raw[0]; {
	case c >= 0xa0 && c <= 0xbf:
		n = uint64(c & 0x1f)
	case c >= 0xd9 && c <= 0xdb:
		var err error
		if n, err = p.uintN(1 << (c - 0xd9)); err != nil {
			return "", false
		}
	default:
		return "", false
	}
	b, err := p.take(n)
	if err != nil {
		return "", false
	}
	return string(b), true
}

func (mpWire) dict(raw []byte) (wamp.Dict, error) {
	p := mpParser{b: raw}
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

// mpParser validates, and optionally builds, MessagePack values.
type mpParser struct {
	b []byte
	i int
}

func (p *mpParser) errAt(msg string) error {
	return wamp.Protocolf("msgpack: %s at offset %d", msg, p.i)
}

func (p *mpParser) truncated() error { return p.errAt("unexpected end of input") }

// take returns the next n bytes.
func (p *mpParser) take(n uint64) ([]byte, error) {
	if n > uint64(len(p.b)-p.i) {
		return nil, p.truncated()
	}
	b := p.b[p.i : p.i+int(n)]
	p.i += int(n)
	return b, nil
}

func (p *mpParser) uintN(size int) (uint64, error) {
	b, err := p.take(uint64(size))
	if err != nil {
		return 0, err
	}
	return beUint(b), nil
}

// arrayHeader reads an array header; ok is false (and nothing consumed)
// if the next value is not an array.
func (p *mpParser) arrayHeader() (n uint64, ok bool, err error) {
	if p.i >= len(p.b) {
		return 0, false, p.truncated()
	}
	c := p.b[p.i]
	switch {
	case c >= 0x90 && c <= 0x9f:
		p.i++
		n = uint64(c & 0x0f)
	case c == 0xdc:
		p.i++
		n, err = p.uintN(2)
	case c == 0xdd:
		p.i++
		n, err = p.uintN(4)
	default:
		return 0, false, nil
	}
	if err != nil {
		return 0, true, err
	}
	// Every element takes at least one byte; refuse a count the input
	// cannot hold before allocating for it.
	if n > uint64(len(p.b)-p.i) {
		return 0, true, p.truncated()
	}
	return n, true, nil
}

func (p *mpParser) value(depth int, build bool) (any, error) {
	if p.i >= len(p.b) {
		return nil, p.truncated()
	}
	c := p.b[p.i]
	switch {
	case c <= 0x7f:
		p.i++
		return int64(c), nil
	case c >= 0xe0:
		p.i++
		return int64(int8(c)), nil
	case c >= 0x80 && c <= 0x8f:
		p.i++
		return p.mapBody(uint64(c&0x0f), depth, build)
	case c >= 0x90 && c <= 0x9f:
		p.i++
		return p.arrayBody(uint64(c&0x0f), depth, build)
	case c >= 0xa0 && c <= 0xbf:
		p.i++
		return p.strBody(uint64(c&0x1f), build)
	}
	start := p.i
	p.i++
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := p.uintN(1 << (c - 0xc4))
		if err != nil {
			return nil, err
		}
		b, err := p.take(n)
		if err != nil || !build {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3:
		return p.number(c, build)
	case 0xd9, 0xda, 0xdb:
		n, err := p.uintN(1 << (c - 0xd9))
		if err != nil {
			return nil, err
		}
		return p.strBody(n, build)
	case 0xdc, 0xdd:
		n, err := p.uintN(2 << (c - 0xdc))
		if err != nil {
			return nil, err
		}
		return p.arrayBody(n, depth, build)
	case 0xde, 0xdf:
		n, err := p.uintN(2 << (c - 0xde))
		if err != nil {
			return nil, err
		}
		return p.mapBody(n, depth, build)
	}
	p.i = start
	if c == 0xc1 {
		return nil, p.errAt("invalid byte 0xc1")
	}
	// fixext1 with type 0 and data 0 is how msgpackr (wampy.js) encodes
	// JavaScript's undefined: read it as nil. Other ext types are refused.
	if c == 0xd4 && p.i+2 < len(p.b) && p.b[p.i+1] == 0 && p.b[p.i+2] == 0 {
		p.i += 3
		return nil, nil
	}
	return nil, p.errAt("ext type 0x" + strconv.FormatUint(uint64(c), 16) + " not supported")
}

// number reads a float or a wide integer (format byte c, already consumed).
// When only validating it returns nil: boxing the value would allocate for
// every ID in every message.
func (p *mpParser) number(c byte, build bool) (any, error) {
	size := 1 << (c & 0x03) // 0xcc..0xcf and 0xd0..0xd3: 1, 2, 4, 8 bytes
	if c == 0xca {
		size = 4
	} else if c == 0xcb {
		size = 8
	}
	u, err := p.uintN(size)
	if err != nil || !build {
		return nil, err
	}
	switch c {
	case 0xca:
		return float64(math.Float32frombits(uint32(u))), nil
	case 0xcb:
		return math.Float64frombits(u), nil
	case 0xd0:
		return int64(int8(u)), nil
	case 0xd1:
		return int64(int16(u)), nil
	case 0xd2:
		return int64(int32(u)), nil
	case 0xd3:
		return int64(u), nil
	}
	if u > math.MaxInt64 {
		return u, nil
	}
	return int64(u), nil
}

func (p *mpParser) strBody(n uint64, build bool) (any, error) {
	b, err := p.take(n)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		p.i -= len(b)
		return nil, p.errAt("invalid UTF-8 in string")
	}
	if !build {
		return nil, nil
	}
	return string(b), nil
}

func (p *mpParser) arrayBody(n uint64, depth int, build bool) (any, error) {
	if depth > maxDepth {
		return nil, p.errAt("nesting deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
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

func (p *mpParser) mapBody(n uint64, depth int, build bool) (any, error) {
	if depth > maxDepth {
		return nil, p.errAt("nesting deeper than " + strconv.Itoa(maxDepth) + " levels")
	}
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
		if k := (mpWire{}).kind(p.b[p.i:]); k != kindString {
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
