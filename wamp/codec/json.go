package codec

import (
	"math"
	"strconv"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// jsonCodec is WAMP JSON with the binary convention of spec §3.3: []byte
// travels as a string holding U+0000 followed by standard Base64.
//
// Decoding uses a hand-written parser: one pass checks the whole message is
// well-formed JSON (valid UTF-8, nesting at most maxDepth) and splits it
// into elements; envelope elements are then read individually and payload
// elements kept raw. Integers decode to int64 (uint64 above MaxInt64),
// other numbers to float64.
type jsonCodec struct{}

func (jsonCodec) Name() string        { return "json" }
func (jsonCodec) Binary() bool        { return false }
func (jsonCodec) SerializerID() uint8 { return IDJSON }

func (c jsonCodec) Decode(data []byte) (wamp.Message, error) {
	return decodeMessage(jsonWire{}, c, data)
}

func (c jsonCodec) Encode(dst []byte, m wamp.Message) ([]byte, error) {
	return encodeMessage(c, dst, m)
}

func (c jsonCodec) EncodeValue(dst []byte, v any) ([]byte, error) {
	return c.appendValue(dst, v, 1)
}

func (jsonCodec) DecodeList(b []byte) (wamp.List, error) {
	return decodeAs[wamp.List]("json", "list", jsonDecodeValue, b)
}

func (jsonCodec) DecodeDict(b []byte) (wamp.Dict, error) {
	return decodeAs[wamp.Dict]("json", "dict", jsonDecodeValue, b)
}

// jsonDecodeValue decodes exactly one JSON value, surrounded by optional
// whitespace.
func jsonDecodeValue(b []byte) (any, error) {
	p := jsonParser{b: b}
	p.ws()
	v, err := p.value(1, true)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(b) {
		return nil, p.errAt("trailing data after value")
	}
	return v, nil
}

// kindOfValue names a decoded value's type for error messages.
func kindOfValue(v any) kind {
	switch v.(type) {
	case nil:
		return kindNull
	case bool:
		return kindBool
	case int64, uint64:
		return kindInt
	case float64:
		return kindFloat
	case string:
		return kindString
	case []byte:
		return kindBytes
	case wamp.List:
		return kindList
	case wamp.Dict:
		return kindDict
	}
	return kindInvalid
}

// jsonWire implements wire for JSON.
type jsonWire struct{}

func (jsonWire) split(data []byte) (elems, error) {
	var el elems
	p := jsonParser{b: data}
	p.ws()
	if p.i >= len(data) {
		return el, wamp.Protocolf("json: empty input")
	}
	if data[p.i] != '[' {
		// Report what the message is, if it is valid JSON at all.
		start := p.i
		if _, err := p.value(1, false); err != nil {
			return el, err
		}
		return el, wamp.Protocolf("message must be a list, got %s", jsonWire{}.kind(data[start:p.i]))
	}
	p.i++
	p.ws()
	if p.i < len(data) && data[p.i] == ']' {
		p.i++
	} else {
		for {
			p.ws()
			start := p.i
			if _, err := p.value(1, false); err != nil {
				return el, err
			}
			el.add(data[start:p.i])
			p.ws()
			if p.i >= len(data) {
				return el, p.errAt("unexpected end of input")
			}
			c := data[p.i]
			p.i++
			if c == ']' {
				break
			}
			if c != ',' {
				p.i--
				return el, p.errAt("expected ',' or ']' in array")
			}
		}
	}
	p.ws()
	if p.i != len(data) {
		return el, p.errAt("trailing data after message")
	}
	return el, nil
}

func (jsonWire) kind(raw []byte) kind {
	if len(raw) == 0 {
		return kindInvalid
	}
	switch raw[0] {
	case '{':
		return kindDict
	case '[':
		return kindList
	case '"':
		if len(raw) >= 8 && string(raw[1:7]) == `\u0000` {
			return kindBytes
		}
		return kindString
	case 't', 'f':
		return kindBool
	case 'n':
		return kindNull
	}
	for _, c := range raw {
		if c == '.' || c == 'e' || c == 'E' {
			return kindFloat
		}
	}
	return kindInt
}

func (jsonWire) integer(raw []byte) (intVal, bool) {
	if len(raw) == 0 || !(raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return intVal{}, false
	}
	s := raw
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if u, ok := parseDigits(s); ok {
		return intVal{abs: u, neg: neg && u != 0}, true
	}
	// A float with an integral value (JSON peers may send 1.0 or 1e3).
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<64 {
		return intVal{}, false
	}
	if f < 0 {
		return intVal{abs: uint64(-f), neg: true}, true
	}
	return intVal{abs: uint64(f)}, true
}

// parseDigits parses a non-empty run of decimal digits that fits uint64.
func parseDigits(s []byte) (uint64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	var u uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if u > (math.MaxUint64-d)/10 {
			return 0, false
		}
		u = u*10 + d
	}
	return u, true
}

func (jsonWire) str(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	p := jsonParser{b: raw}
	s, err := p.str()
	if err != nil {
		return "", false
	}
	// The binary convention is not applied to envelope strings (URIs,
	// auth method, signature): they must be strings, and reading one that
	// starts with NUL as bytes would make a string from a MessagePack or
	// CBOR peer impossible to forward to a JSON peer.
	return s, true
}

func (jsonWire) dict(raw []byte) (wamp.Dict, error) {
	p := jsonParser{b: raw}
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
