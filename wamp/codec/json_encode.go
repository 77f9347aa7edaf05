package codec

import (
	"encoding/base64"
	"errors"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/wamp"
)

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
