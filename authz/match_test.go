package authz

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

type refRule struct {
	uri, match string
	index      int
}

// refLookup is the precedence rule written as plainly as possible: a
// linear scan, used to check the trie.
func refLookup(rules []refRule, uri string) int {
	for _, r := range rules {
		if r.match == wamp.MatchExact && r.uri == uri {
			return r.index
		}
	}
	best, bestPat := -1, ""
	for _, r := range rules {
		if r.match != wamp.MatchWildcard || !refWildcard(r.uri, uri) {
			continue
		}
		if best < 0 || refMoreSpecific(r.uri, bestPat) {
			best, bestPat = r.index, r.uri
		}
	}
	if best >= 0 {
		return best
	}
	bestLen := -1
	for _, r := range rules {
		if r.match == wamp.MatchPrefix && componentPrefix(wamp.URI(r.uri), wamp.URI(uri)) && len(r.uri) > bestLen {
			best, bestLen = r.index, len(r.uri)
		}
	}
	return best
}

func refWildcard(pat, uri string) bool {
	p, u := strings.Split(pat, "."), strings.Split(uri, ".")
	if len(p) != len(u) {
		return false
	}
	for i := range p {
		if p[i] != "" && p[i] != u[i] {
			return false
		}
	}
	return true
}

// refMoreSpecific: a literal component beats an empty one at the first
// position where two matching patterns differ.
func refMoreSpecific(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range pa {
		if (pa[i] == "") != (pb[i] == "") {
			return pa[i] != ""
		}
	}
	return false
}

// TestMatcherAgainstReference compares the trie with refLookup on random
// rule sets and URIs over a small alphabet (so that they collide often).
func TestMatcherAgainstReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	comps := []string{"a", "b", "c", "ab"}
	randURI := func(empty bool) string {
		n := 1 + rng.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			if empty && rng.IntN(3) == 0 {
				continue
			}
			parts[i] = comps[rng.IntN(len(comps))]
		}
		return strings.Join(parts, ".")
	}
	for round := range 300 {
		m := newMatcher()
		var rules []refRule
		seen := map[string]bool{}
		for i := range 1 + rng.IntN(12) {
			var r refRule
			switch rng.IntN(3) {
			case 0:
				r = refRule{randURI(false), wamp.MatchExact, i}
			case 1:
				r = refRule{randURI(false), wamp.MatchPrefix, i}
				if rng.IntN(8) == 0 {
					r.uri = ""
				}
			default:
				r = refRule{randURI(true), wamp.MatchWildcard, i}
			}
			if seen[r.match+" "+r.uri] {
				continue
			}
			seen[r.match+" "+r.uri] = true
			rules = append(rules, r)
			m.add(r.uri, r.match, &rule{index: i})
		}
		for range 50 {
			uri := randURI(rng.IntN(10) == 0)
			want := refLookup(rules, uri)
			got := -1
			if r := m.lookup(uri); r != nil {
				got = r.index
			}
			if got != want {
				t.Fatalf("round %d: rules %v, uri %q: trie chose %d, reference %d", round, rules, uri, got, want)
			}
		}
	}
}

// FuzzStaticLookup: any URI against a fixed role never panics and agrees
// with the reference.
func FuzzStaticLookup(f *testing.F) {
	perms := typicalPermissions()
	var rules []refRule
	for i, p := range perms {
		uri, match := p.URI, p.Match
		if match == "" {
			uri, match, _ = convertStarred(uri)
		}
		if match == wamp.MatchPrefix {
			uri = strings.TrimSuffix(uri, ".")
		}
		rules = append(rules, refRule{uri, match, i})
	}
	r := staticRealm(f, perms...)
	ro := r.roles["user"]
	for _, s := range []string{"com.example.orders.get", "com.example..x", "", ".", "com.example.chat.rpc.", "a.b.c.d.e.f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		got := -1
		if ru := ro.m.lookup(uri); ru != nil {
			got = ru.index
		}
		if want := refLookup(rules, uri); got != want {
			t.Fatalf("uri %q: trie chose %d, reference %d", uri, got, want)
		}
	})
}
