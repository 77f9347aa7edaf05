package wamp

import "strings"

// URI is a WAMP URI: dot-separated components.
type URI string

// Match policies for SUBSCRIBE/REGISTER (Options.match).
const (
	MatchExact    = "exact"
	MatchPrefix   = "prefix"
	MatchWildcard = "wildcard"
)

// ValidURI checks u against the spec's URI rules (wamp-spec.md §2.1).
// strict limits components to [0-9a-z_]; otherwise the loose rule applies
// (no '.', '#' or whitespace in a component). match selects which components
// may be empty: none for "" or "exact", the last one for "prefix", any for
// "wildcard".
func ValidURI(u URI, strict bool, match string) bool {
	s := string(u)
	if s == "" {
		// An empty prefix matches everything; an empty exact or wildcard URI is meaningless.
		return match == MatchPrefix
	}
	n := strings.Count(s, ".") + 1
	i := 0
	for comp := range strings.SplitSeq(s, ".") {
		i++
		if comp == "" {
			switch match {
			case MatchWildcard:
				continue
			case MatchPrefix:
				if i == n {
					continue
				}
			}
			return false
		}
		if !validComponent(comp, strict) {
			return false
		}
	}
	return true
}

func validComponent(c string, strict bool) bool {
	for i := 0; i < len(c); i++ {
		b := c[i]
		if strict {
			if !(b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_') {
				return false
			}
			continue
		}
		switch b {
		case '#', ' ', '\t', '\n', '\r', '\v', '\f':
			return false
		}
	}
	if !strict {
		// Unicode whitespace beyond ASCII.
		if strings.IndexFunc(c, isSpace) >= 0 {
			return false
		}
	}
	return true
}

func isSpace(r rune) bool {
	switch r {
	case 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// Reserved reports whether u starts with the component "wamp", which only
// the router (and trusted sessions) may register or publish.
func (u URI) Reserved() bool { return u == "wamp" || strings.HasPrefix(string(u), "wamp.") }
