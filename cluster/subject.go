package cluster

import (
	"errors"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Subjects: <prefix>.<realm>.ev.<topic components…>. Each component is
// escaped on its own (escapeComponent) so that no URI becomes a NATS
// wildcard, an extra token or an empty token; the realm is one token.

// escapeComponent percent-encodes the bytes NATS treats specially: '%'
// (the escape itself), '*' and '>' (wildcards), '.' (the token separator;
// only a realm has one inside a component), whitespace and control bytes
// (invalid in subjects). An empty component, which a URI pattern may have,
// becomes a lone "%", which no escaped non-empty component can be.
func escapeComponent(b *strings.Builder, c string) {
	if c == "" {
		b.WriteByte('%')
		return
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(c); i++ {
		switch x := c[i]; {
		case x == '%' || x == '*' || x == '>' || x == '.' || x <= ' ' || x == 0x7f:
			b.WriteByte('%')
			b.WriteByte(hex[x>>4])
			b.WriteByte(hex[x&15])
		default:
			b.WriteByte(x)
		}
	}
}

func unescapeComponent(b *strings.Builder, t string) error {
	if t == "%" {
		return nil
	}
	for i := 0; i < len(t); i++ {
		if t[i] != '%' {
			b.WriteByte(t[i])
			continue
		}
		if i+2 >= len(t) {
			return errors.New("cluster: truncated escape in subject token " + t)
		}
		hi, lo := unhex(t[i+1]), unhex(t[i+2])
		if hi < 0 || lo < 0 {
			return errors.New("cluster: bad escape in subject token " + t)
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return nil
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// EscapeURI returns the subject tokens of uri, joined by '.'.
func EscapeURI(uri wamp.URI) string {
	var b strings.Builder
	for i, c := range strings.Split(string(uri), ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		escapeComponent(&b, c)
	}
	return b.String()
}

// UnescapeURI inverts EscapeURI.
func UnescapeURI(s string) (wamp.URI, error) {
	var b strings.Builder
	for i, t := range strings.Split(s, ".") {
		if i > 0 {
			b.WriteByte('.')
		}
		if t == "" {
			return "", errors.New("cluster: empty token in subject " + s)
		}
		if err := unescapeComponent(&b, t); err != nil {
			return "", err
		}
	}
	return wamp.URI(b.String()), nil
}

// Subjects builds and parses the event subjects under one prefix.
type Subjects struct{ Prefix string }

func (sj Subjects) realmEvents(realm wamp.URI) string {
	var b strings.Builder
	b.WriteString(sj.Prefix)
	b.WriteByte('.')
	escapeComponent(&b, string(realm))
	b.WriteString(".ev")
	return b.String()
}

// Event is the subject a publication to topic in realm is sent on.
func (sj Subjects) Event(realm, topic wamp.URI) string {
	return sj.realmEvents(realm) + "." + EscapeURI(topic)
}

// Interest is the NATS subscription subject that receives (at least) every
// publication matching the WAMP subscription (uri, match). Exact and
// wildcard map exactly (an empty WAMP component and NATS '*' both match
// one non-empty component); a prefix maps to its last complete
// components plus '>', a superset the receiving node's own matcher narrows
// (WAMP prefixes are string prefixes: "a.b" matches "a.bc").
func (sj Subjects) Interest(realm, uri wamp.URI, match string) string {
	base := sj.realmEvents(realm)
	switch match {
	case wamp.MatchPrefix:
		u := string(uri)
		i := strings.LastIndexByte(u, '.')
		if i < 0 {
			return base + ".>"
		}
		return base + "." + EscapeURI(wamp.URI(u[:i])) + ".>"
	case wamp.MatchWildcard:
		var b strings.Builder
		b.WriteString(base)
		for _, c := range strings.Split(string(uri), ".") {
			b.WriteByte('.')
			if c == "" {
				b.WriteByte('*')
			} else {
				escapeComponent(&b, c)
			}
		}
		return b.String()
	}
	return sj.Event(realm, uri)
}

// ParseEvent returns the realm and topic of an event subject.
func (sj Subjects) ParseEvent(subject string) (realm, topic wamp.URI, err error) {
	rest, ok := strings.CutPrefix(subject, sj.Prefix+".")
	if !ok {
		return "", "", errors.New("cluster: subject outside prefix: " + subject)
	}
	rt, rest, ok := strings.Cut(rest, ".ev.")
	if !ok || strings.Contains(rt, ".") {
		return "", "", errors.New("cluster: not an event subject: " + subject)
	}
	if realm, err = UnescapeURI(rt); err != nil {
		return "", "", err
	}
	topic, err = UnescapeURI(rest)
	return realm, topic, err
}
