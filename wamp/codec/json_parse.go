package codec

import (
	"encoding/base64"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/wamp"
)

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
			key, err = p.key()
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
	_, err := p.scanStr(strSkip)
	return err
}

// key parses a dict key at p.i: known keys without escapes are shared.
func (p *jsonParser) key() (string, error) { return p.scanStr(strKey) }

// str parses a string at p.i.
func (p *jsonParser) str() (string, error) {
	return p.scanStr(strBuild)
}

// What scanStr makes of the string it scans.
const (
	strSkip  = iota // nothing: the string is checked and skipped
	strBuild        // a new string
	strKey          // a dict key: a known one without escapes is shared
)

func (p *jsonParser) scanStr(mode int) (string, error) {
	build := mode != strSkip
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
			switch mode {
			case strSkip:
				return "", nil
			case strKey:
				return internKey(b[start:i]), nil
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
