package wamp_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// The validation regexes of wamp-spec.md §2.1, the oracle for ValidURI.
var uriRegex = map[bool]map[string]*regexp.Regexp{
	false: { // loose
		wamp.MatchExact:    regexp.MustCompile(`^([^\s\.#]+\.)*([^\s\.#]+)$`),
		wamp.MatchWildcard: regexp.MustCompile(`^(([^\s\.#]+\.)|\.)*([^\s\.#]+)?$`),
		wamp.MatchPrefix:   regexp.MustCompile(`^([^\s\.#]+\.)*([^\s\.#]*)$`),
	},
	true: { // strict
		wamp.MatchExact:    regexp.MustCompile(`^([0-9a-z_]+\.)*([0-9a-z_]+)$`),
		wamp.MatchWildcard: regexp.MustCompile(`^(([0-9a-z_]+\.)|\.)*([0-9a-z_]+)?$`),
		wamp.MatchPrefix:   regexp.MustCompile(`^([0-9a-z_]+\.)*([0-9a-z_]*)$`),
	},
}

// oracle applies the spec regex plus the two documented refinements of
// ValidURI: Go's \s is ASCII-only, while ValidURI also refuses \v and
// Unicode white space; and an empty wildcard pattern is meaningless.
func oracle(u string, strict bool, match string) bool {
	re := match
	if re == "" {
		re = wamp.MatchExact
	}
	if !uriRegex[strict][re].MatchString(u) {
		return false
	}
	if u == "" && match == wamp.MatchWildcard {
		return false
	}
	return !strings.ContainsFunc(u, unicode.IsSpace)
}

var uriSamples = []string{
	"", ".", "..", "a", "a.", ".a", "a.b", "a..b", "a.b.", "a.b..", ".a.b", "..a", "com.myapp.topic1",
	"com.myapp.Topic", "com.my-app.t", "com.my_app.t1", "wamp.error.x", "a#b", "a b", "a\tb", "a\vb",
	"a\u00a0b", "a\u2003b", "a\u3000b", "com.ünï.x", "a.\x00", "\xff.a", "a.b#", "#", "a.#.b", "A.B", "a..", "a...b",
}

func TestValidURI(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		for _, match := range []string{"", wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard} {
			for _, u := range uriSamples {
				want := oracle(u, strict, match)
				if got := wamp.ValidURI(wamp.URI(u), strict, match); got != want {
					t.Errorf("ValidURI(%q, strict=%v, %q) = %v, want %v", u, strict, match, got, want)
				}
			}
		}
	}
	// A few answers spelled out, so the test does not rest on the oracle.
	fixed := []struct {
		u      string
		strict bool
		match  string
		want   bool
	}{
		{"com.myapp.topic1", true, "", true},
		{"com.myApp.topic", true, "", false},
		{"com.myApp.topic", false, "", true},
		{"com.myapp.", false, wamp.MatchPrefix, true},
		{"com.myapp.", false, wamp.MatchExact, false},
		{"com..topic", false, wamp.MatchWildcard, true},
		{"com..topic", false, wamp.MatchPrefix, false},
		{"", false, wamp.MatchPrefix, true},
		{"", false, wamp.MatchWildcard, false},
		{"", false, "", false},
		{"a\u2028b", false, "", false},
	}
	for _, f := range fixed {
		if got := wamp.ValidURI(wamp.URI(f.u), f.strict, f.match); got != f.want {
			t.Errorf("ValidURI(%q, %v, %q) = %v, want %v", f.u, f.strict, f.match, got, f.want)
		}
	}
}

func TestReserved(t *testing.T) {
	t.Parallel()
	for u, want := range map[wamp.URI]bool{"wamp": true, "wamp.session.get": true, "wampx.a": false, "com.wamp": false, "": false} {
		if got := u.Reserved(); got != want {
			t.Errorf("%q.Reserved() = %v", u, got)
		}
	}
}

func FuzzValidURI(f *testing.F) {
	for _, u := range uriSamples {
		f.Add(u, false, uint8(0))
	}
	matches := []string{"", wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard}
	f.Fuzz(func(t *testing.T, u string, strict bool, m uint8) {
		match := matches[int(m)%len(matches)]
		if got, want := wamp.ValidURI(wamp.URI(u), strict, match), oracle(u, strict, match); got != want {
			t.Fatalf("ValidURI(%q, strict=%v, %q) = %v, regex oracle says %v", u, strict, match, got, want)
		}
	})
}
