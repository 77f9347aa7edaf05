// Package match indexes URIs registered with a match policy (exact, prefix,
// wildcard) and finds the entries that match a concrete URI.
//
// An Index is not safe for concurrent use; its owner guards it (the broker
// and dealer read it under an RWMutex).
package match

import (
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Index maps (URI, policy) to values of type V.
type Index[V any] struct {
	exact    map[wamp.URI]V
	prefix   map[wamp.URI]V
	wildcard map[wamp.URI]V
	// maxPrefix is the longest prefix length, to bound prefix probing.
	maxPrefix int
}

// New returns an empty index.
func New[V any]() *Index[V] {
	return &Index[V]{exact: map[wamp.URI]V{}, prefix: map[wamp.URI]V{}, wildcard: map[wamp.URI]V{}}
}

func (ix *Index[V]) table(policy string) map[wamp.URI]V {
	switch policy {
	case wamp.MatchPrefix:
		return ix.prefix
	case wamp.MatchWildcard:
		return ix.wildcard
	}
	return ix.exact
}

// Get returns the value stored for (uri, policy).
func (ix *Index[V]) Get(uri wamp.URI, policy string) (V, bool) {
	v, ok := ix.table(policy)[uri]
	return v, ok
}

// Put stores v for (uri, policy).
func (ix *Index[V]) Put(uri wamp.URI, policy string, v V) {
	ix.table(policy)[uri] = v
	if policy == wamp.MatchPrefix && len(uri) > ix.maxPrefix {
		ix.maxPrefix = len(uri)
	}
}

// Delete removes (uri, policy).
func (ix *Index[V]) Delete(uri wamp.URI, policy string) {
	delete(ix.table(policy), uri)
}

// Len is the number of entries.
func (ix *Index[V]) Len() int { return len(ix.exact) + len(ix.prefix) + len(ix.wildcard) }

// All calls fn for every match of uri: the exact entry, every prefix entry
// (longest first) and every wildcard entry. fn returning false stops.
func (ix *Index[V]) All(uri wamp.URI, fn func(V) bool) {
	if v, ok := ix.exact[uri]; ok && !fn(v) {
		return
	}
	if len(ix.prefix) > 0 && !ix.prefixes(uri, fn) {
		return
	}
	for pat, v := range ix.wildcard {
		if WildcardMatch(pat, uri) && !fn(v) {
			return
		}
	}
}

// Best returns the single best match for uri: exact, else the longest
// prefix, else the most specific wildcard (spec §11.7).
func (ix *Index[V]) Best(uri wamp.URI) (V, bool) {
	if v, ok := ix.exact[uri]; ok {
		return v, true
	}
	if len(ix.prefix) > 0 {
		var (
			best  V
			found bool
		)
		ix.prefixes(uri, func(v V) bool { best, found = v, true; return false })
		if found {
			return best, true
		}
	}
	var (
		best    V
		bestPat wamp.URI
		found   bool
	)
	for pat, v := range ix.wildcard {
		if !WildcardMatch(pat, uri) {
			continue
		}
		if !found || moreSpecific(pat, bestPat) {
			best, bestPat, found = v, pat, true
		}
	}
	return best, found
}

// moreSpecific reports whether wildcard pattern a beats b: compare the
// lengths of their runs of literal components left to right (spec §11.7);
// ties are broken by the pattern string so the choice is deterministic.
func moreSpecific(a, b wamp.URI) bool {
	ra, rb := literalRuns(a), literalRuns(b)
	for i := 0; i < len(ra) && i < len(rb); i++ {
		if ra[i] != rb[i] {
			return ra[i] > rb[i]
		}
	}
	if len(ra) != len(rb) {
		return len(ra) > len(rb)
	}
	return a > b
}

func literalRuns(pat wamp.URI) []int {
	runs := make([]int, 0, 4)
	n := 0
	for c := range strings.SplitSeq(string(pat), ".") {
		if c == "" {
			runs = append(runs, n)
			n = 0
			continue
		}
		n++
	}
	return append(runs, n)
}

// prefixes calls fn for every prefix entry matching uri, longest first,
// until fn returns false (then it returns false). Prefixes match whole
// components: "a.b" and "a.b." match "a.b.c" but not "a.bc" (the spec's
// resolution example; Crossbar matches characters, see docs/features.md).
func (ix *Index[V]) prefixes(uri wamp.URI, fn func(V) bool) bool {
	if v, ok := ix.prefix[uri]; ok && !fn(v) {
		return false
	}
	for i := min(len(uri)-1, ix.maxPrefix); i >= 0; i-- {
		if uri[i] != '.' {
			continue
		}
		if v, ok := ix.prefix[uri[:i+1]]; ok && !fn(v) {
			return false
		}
		if v, ok := ix.prefix[uri[:i]]; ok && !fn(v) {
			return false
		}
	}
	if v, ok := ix.prefix[""]; ok && uri != "" && !fn(v) {
		return false
	}
	return true
}

// WildcardMatch reports whether uri matches the wildcard pattern: same
// number of components, and each non-empty pattern component equal.
func WildcardMatch(pattern, uri wamp.URI) bool {
	p, u := string(pattern), string(uri)
	for {
		pi := strings.IndexByte(p, '.')
		ui := strings.IndexByte(u, '.')
		if (pi < 0) != (ui < 0) {
			return false
		}
		if pi < 0 {
			return p == "" || p == u
		}
		if pi > 0 && p[:pi] != u[:ui] {
			return false
		}
		p, u = p[pi+1:], u[ui+1:]
	}
}
