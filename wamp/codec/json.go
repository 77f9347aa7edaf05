package codec

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

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

// jsonParser validates, and optionally builds, JSON values.
type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) errAt(msg string) error {
	return wamp.Protocolf("json: %s at offset %d", msg, p.i)
}

func (p *jsonParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

// value parses one value at p.i. depth is the nesting level of the value
// (1 for a top-level payload list). With build false it only validates and
// returns nil.
func (p *jsonParser) value(depth int, build bool) (any, error) {
	if p.i >= len(p.b) {
		return nil, p.errAt("unexpected end of input")
	}
	switch c := p.b[p.i]; {
	case c == '{':
		if depth > maxDepth {
			return nil, p.errAt("nesting deeper than " + strconv.Itoa(maxDepth) + " levels")
		}
		return p.object(depth, build)
	case c == '[':
		if depth > maxDepth {
			return nil, p.errAt("nesting deeper than " + strconv.Itoa(maxDepth) + " levels")
		}
		return p.array(depth, build)
	case c == '"':
		if !build {
			return nil, p.skipStr()
		}
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		if len(s) > 0 && s[0] == 0 {
			// Binary convention; a string that merely starts with NUL
			// but is not Base64 stays a string.
			if b, err := base64.StdEncoding.DecodeString(s[1:]); err == nil {
				return b, nil
			}
		}
		return s, nil
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number(build)
	}
	return nil, p.errAt("unexpected character " + strconv.QuoteRune(rune(p.b[p.i])))
}

func (p *jsonParser) literal(lit string) error {
	if len(p.b)-p.i < len(lit) || string(p.b[p.i:p.i+len(lit)]) != lit {
		return p.errAt("invalid literal")
	}
	p.i += len(lit)
	return nil
}

func (p *jsonParser) object(depth int, build bool) (any, error) {
	p.i++ // '{'
	var d wamp.Dict
	if build {
		d = wamp.Dict{}
	}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return d, nil
	}
	for {
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.errAt("unexpected end of input")
		}
		if p.b[p.i] != '"' {
			return nil, p.errAt("expected string key in object")
		}
		var key string
		var err error
		if build {
			key, err = p.str()
		} else {
			err = p.skipStr()
		}
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, p.errAt("expected ':' in object")
		}
		p.i++
		p.ws()
		v, err := p.value(depth+1, build)
		if err != nil {
			return nil, err
		}
		if build {
			d[key] = v
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.errAt("unexpected end of input")
		}
		c := p.b[p.i]
		p.i++
		if c == '}' {
			return d, nil
		}
		if c != ',' {
			p.i--
			return nil, p.errAt("expected ',' or '}' in object")
		}
	}
}

func (p *jsonParser) array(depth int, build bool) (any, error) {
	p.i++ // '['
	var l wamp.List
	if build {
		l = wamp.List{}
	}
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return l, nil
	}
	for {
		p.ws()
		v, err := p.value(depth+1, build)
		if err != nil {
			return nil, err
		}
		if build {
			l = append(l, v)
		}
		p.ws()
		if p.i >= len(p.b) {
			return nil, p.errAt("unexpected end of input")
		}
		c := p.b[p.i]
		p.i++
		if c == ']' {
			return l, nil
		}
		if c != ',' {
			p.i--
			return nil, p.errAt("expected ',' or ']' in array")
		}
	}
}

func (p *jsonParser) number(build bool) (any, error) {
	start := p.i
	b := p.b
	i := p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	intStart := i
	if digits() == 0 {
		p.i = i
		return nil, p.errAt("invalid number")
	}
	if b[intStart] == '0' && i-intStart > 1 {
		p.i = intStart
		return nil, p.errAt("invalid number (leading zero)")
	}
	isFloat := false
	if i < len(b) && b[i] == '.' {
		isFloat = true
		i++
		if digits() == 0 {
			p.i = i
			return nil, p.errAt("invalid number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isFloat = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.i = i
			return nil, p.errAt("invalid number")
		}
	}
	p.i = i
	if !build {
		return nil, nil
	}
	s := string(b[start:i])
	if !isFloat {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, nil
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		p.i = start
		return nil, p.errAt("number out of range")
	}
	return f, nil
}

// skipStr validates a string at p.i without building it.
func (p *jsonParser) skipStr() error {
	_, err := p.scanStr(false)
	return err
}

// str parses a string at p.i.
func (p *jsonParser) str() (string, error) {
	return p.scanStr(true)
}

func (p *jsonParser) scanStr(build bool) (string, error) {
	b := p.b
	i := p.i + 1 // past '"'
	start := i
	// Fast path: no escapes.
	ascii := true
	for i < len(b) {
		c := b[i]
		if c == '"' {
			if !ascii && !utf8.Valid(b[start:i]) {
				p.i = start
				return "", p.errAt("invalid UTF-8 in string")
			}
			p.i = i + 1
			if !build {
				return "", nil
			}
			return string(b[start:i]), nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			p.i = i
			return "", p.errAt("control character in string")
		}
		if c >= 0x80 {
			ascii = false
		}
		i++
	}
	if i >= len(b) {
		p.i = i
		return "", p.errAt("unexpected end of input in string")
	}
	// Slow path with escapes.
	var out []byte
	if build {
		out = append(make([]byte, 0, i-start+16), b[start:i]...)
	}
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			if !utf8.Valid(b[start:i]) {
				p.i = start
				return "", p.errAt("invalid UTF-8 in string")
			}
			p.i = i + 1
			return string(out), nil
		case c < 0x20:
			p.i = i
			return "", p.errAt("control character in string")
		case c != '\\':
			if build {
				out = append(out, c)
			}
			i++
			continue
		}
		// Escape.
		if i+1 >= len(b) {
			p.i = i
			return "", p.errAt("unexpected end of input in string")
		}
		e := b[i+1]
		i += 2
		var r byte
		switch e {
		case '"', '\\', '/':
			r = e
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			u, ok := hex4(b, i)
			if !ok {
				p.i = i
				return "", p.errAt("invalid \\u escape")
			}
			i += 4
			rn := rune(u)
			if utf16.IsSurrogate(rn) {
				// Pair with a following low surrogate if there is one;
				// a lone surrogate becomes U+FFFD, as in encoding/json.
				rn = utf8.RuneError
				if i+6 <= len(b) && b[i] == '\\' && b[i+1] == 'u' {
					if u2, ok := hex4(b, i+2); ok {
						if dec := utf16.DecodeRune(rune(u), rune(u2)); dec != utf8.RuneError {
							rn = dec
							i += 6
						}
					}
				}
			}
			if build {
				out = utf8.AppendRune(out, rn)
			}
			continue
		default:
			p.i = i - 1
			return "", p.errAt("invalid escape in string")
		}
		if build {
			out = append(out, r)
		}
	}
	p.i = i
	return "", p.errAt("unexpected end of input in string")
}

func hex4(b []byte, i int) (uint16, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var u uint16
	for _, c := range b[i : i+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		u = u<<4 | uint16(d)
	}
	return u, true
}

// Encoding.

func (jsonCodec) arrayStart(dst []byte, _ int) []byte { return append(dst, '[') }
func (jsonCodec) arrayNext(dst []byte, i int) []byte {
	if i > 0 {
		dst = append(dst, ',')
	}
	return dst
}
func (jsonCodec) arrayEnd(dst []byte) []byte             { return append(dst, ']') }
func (jsonCodec) appendUint(dst []byte, v uint64) []byte { return strconv.AppendUint(dst, v, 10) }
func (jsonCodec) appendStr(dst []byte, s string) []byte  { return jsonAppendString(dst, s) }
func (jsonCodec) emptyList() []byte                      { return jsonEmptyList }

var jsonEmptyList = []byte("[]")

var errJSONNonFinite = errors.New("codec: JSON cannot encode NaN or infinity")

func jsonAppendFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, errJSONNonFinite
	}
	start := len(dst)
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmtc = 'e'
	}
	dst = strconv.AppendFloat(dst, f, fmtc, -1, 64)
	// Keep floats floats: 1.0 must not come back as the integer 1.
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst, nil
		}
	}
	return append(dst, '.', '0'), nil
}

func (c jsonCodec) appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case string:
		return jsonAppendString(dst, v), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case float64:
		return jsonAppendFloat(dst, v)
	case []byte:
		dst = append(dst, `"\u0000`...)
		dst = base64.StdEncoding.AppendEncode(dst, v)
		return append(dst, '"'), nil
	case wamp.List:
		if depth > maxDepth {
			return dst, errDepth()
		}
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = c.appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	case wamp.Dict:
		if depth > maxDepth {
			return dst, errDepth()
		}
		dst = append(dst, '{')
		first := true
		for k, e := range v {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonAppendString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = c.appendValue(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case float32:
		return jsonAppendFloat(dst, float64(v))
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

const hexDigits = "0123456789abcdef"

// jsonAppendString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD
// so that the output is always valid UTF-8 text.
func jsonAppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript parsers
		// that eval; escape them like encoding/json does.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
