// Package match indexes URIs registered with a match policy (exact, prefix,
// wildcard) and finds the entries that match a concrete URI.
//
// Exact entries sit in a map. Prefix and wildcard entries sit in two
// component tries, so a lookup costs O(components of the URI) map probes
// for prefixes and visits only the trie branches that can still match for
// wildcards, whatever the number of patterns. Lookups do not allocate.
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
	prefix   *node[V] // components of prefix patterns
	wildcard *node[V] // components of wildcard patterns; "" edges are wildcards
	nPrefix  int
	nWild    int
}

// node is one component of a trie. For the prefix trie, val is the prefix
// "a.b" ending here (matches "a.b" and "a.b.…") and dot the prefix "a.b."
// (matches "a.b.…" only). For the wildcard trie, val is the pattern ending
// here; the "" child is the wildcard component.
type node[V any] struct {
	children map[string]*node[V]
	val      V
	has      bool
	dot      V
	hasDot   bool
}

func (n *node[V]) empty() bool { return !n.has && !n.hasDot && len(n.children) == 0 }

// New returns an empty index.
func New[V any]() *Index[V] {
	return &Index[V]{exact: map[wamp.URI]V{}, prefix: &node[V]{}, wildcard: &node[V]{}}
}

// Get returns the value stored for (uri, policy).
func (ix *Index[V]) Get(uri wamp.URI, policy string) (V, bool) {
	var zero V
	switch policy {
	case wamp.MatchPrefix:
		n, dot := ix.prefixNode(string(uri), false)
		if n == nil {
			return zero, false
		}
		if dot {
			return n.dot, n.hasDot
		}
		return n.val, n.has
	case wamp.MatchWildcard:
		n, _ := walk(ix.wildcard, string(uri), false)
		if n == nil {
			return zero, false
		}
		return n.val, n.has
	}
	v, ok := ix.exact[uri]
	return v, ok
}

// Put stores v for (uri, policy), replacing any value stored for it.
func (ix *Index[V]) Put(uri wamp.URI, policy string, v V) {
	switch policy {
	case wamp.MatchPrefix:
		n, dot := ix.prefixNode(string(uri), true)
		if dot {
			if !n.hasDot {
				ix.nPrefix++
			}
			n.dot, n.hasDot = v, true
			return
		}
		if !n.has {
			ix.nPrefix++
		}
		n.val, n.has = v, true
	case wamp.MatchWildcard:
		n, _ := walk(ix.wildcard, string(uri), true)
		if !n.has {
			ix.nWild++
		}
		n.val, n.has = v, true
	default:
		ix.exact[uri] = v
	}
}

// Delete removes (uri, policy); trie nodes left empty are dropped.
func (ix *Index[V]) Delete(uri wamp.URI, policy string) {
	switch policy {
	case wamp.MatchPrefix:
		s, dot := splitDot(string(uri))
		if s == "" {
			// "" and "." live on the root itself.
			var zero V
			r := ix.prefix
			if dot && r.hasDot {
				r.dot, r.hasDot = zero, false
				ix.nPrefix--
			} else if !dot && r.has {
				r.val, r.has = zero, false
				ix.nPrefix--
			}
			return
		}
		if remove(ix.prefix, s, dot) {
			ix.nPrefix--
		}
	case wamp.MatchWildcard:
		if remove(ix.wildcard, string(uri), false) {
			ix.nWild--
		}
	default:
		delete(ix.exact, uri)
	}
}

// Len is the number of entries.
func (ix *Index[V]) Len() int { return len(ix.exact) + ix.nPrefix + ix.nWild }

// prefixNode finds (or creates) the node of prefix pattern p; dot reports
// a trailing '.' ("a.b." is the dot value of node a→b). The root holds ""
// (and ".", which no valid URI check admits).
func (ix *Index[V]) prefixNode(p string, create bool) (n *node[V], dot bool) {
	p, dot = splitDot(p)
	if p == "" {
		return ix.prefix, dot
	}
	n, _ = walk(ix.prefix, p, create)
	return n, dot
}

// splitDot removes one trailing '.' from a prefix pattern.
func splitDot(p string) (string, bool) {
	if strings.HasSuffix(p, ".") {
		return p[:len(p)-1], true
	}
	return p, false
}

// walk follows the components of s from root (one edge per component; an
// empty component is the "" edge). With create it makes missing nodes.
func walk[V any](root *node[V], s string, create bool) (*node[V], bool) {
	n := root
	for {
		c, rest, more := strings.Cut(s, ".")
		next := n.children[c]
		if next == nil {
			if !create {
				return nil, false
			}
			if n.children == nil {
				n.children = map[string]*node[V]{}
			}
			next = &node[V]{}
			n.children[c] = next
		}
		n = next
		if !more {
			return n, true
		}
		s = rest
	}
}

// remove clears the value (dot: the dot value) at path s below n and prunes
// emptied nodes. It reports whether a value was removed.
func remove[V any](n *node[V], s string, dot bool) bool {
	c, rest, more := strings.Cut(s, ".")
	child := n.children[c]
	if child == nil {
		return false
	}
	var removed bool
	if more {
		removed = remove(child, rest, dot)
	} else {
		var zero V
		if dot && child.hasDot {
			child.dot, child.hasDot, removed = zero, false, true
		} else if !dot && child.has {
			child.val, child.has, removed = zero, false, true
		}
	}
	if child.empty() {
		delete(n.children, c)
	}
	return removed
}

// All calls fn for every match of uri: the exact entry, every prefix entry
// (longest first) and every wildcard entry (most specific first). fn
// returning false stops.
func (ix *Index[V]) All(uri wamp.URI, fn func(V) bool) {
	if v, ok := ix.exact[uri]; ok && !fn(v) {
		return
	}
	if ix.nPrefix > 0 && !ix.prefixes(string(uri), fn) {
		return
	}
	if ix.nWild > 0 {
		wildcards(ix.wildcard, string(uri), fn)
	}
}

// Best returns the single best match for uri: exact, else the longest
// prefix, else the most specific wildcard (spec §11.7).
func (ix *Index[V]) Best(uri wamp.URI) (V, bool) {
	if v, ok := ix.exact[uri]; ok {
		return v, true
	}
	var (
		best  V
		found bool
	)
	first := func(v V) bool { best, found = v, true; return false }
	if ix.nPrefix > 0 {
		if ix.prefixes(string(uri), first); found {
			return best, true
		}
	}
	if ix.nWild > 0 {
		wildcards(ix.wildcard, string(uri), first)
	}
	return best, found
}

// prefixes calls fn for every prefix entry matching uri, longest first,
// until fn returns false (then it returns false). Prefixes match whole
// components: "a.b" and "a.b." match "a.b.c" but not "a.bc" (the spec's
// resolution example; Crossbar matches characters, see docs/features.md).
// The empty prefix matches every non-empty URI.
func (ix *Index[V]) prefixes(uri string, fn func(V) bool) bool {
	if uri == "" {
		return true
	}
	if !prefixesBelow(ix.prefix, uri, fn) {
		return false
	}
	if r := ix.prefix; r.has && !fn(r.val) {
		return false
	}
	return true
}

// prefixesBelow walks the components of uri below n, deepest match first.
// The recursion depth is the number of components of uri.
func prefixesBelow[V any](n *node[V], uri string, fn func(V) bool) bool {
	c, rest, more := strings.Cut(uri, ".")
	child := n.children[c]
	if child == nil {
		return true
	}
	if more {
		if !prefixesBelow(child, rest, fn) {
			return false
		}
		// The dot form "…c." needs at least one more component.
		if child.hasDot && !fn(child.dot) {
			return false
		}
	}
	if child.has && !fn(child.val) {
		return false
	}
	return true
}

// wildcards calls fn for every wildcard pattern below n matching the
// components of uri, literal branches before the wildcard branch at each
// component. That order is the spec's precedence: the pattern whose first
// wildcard comes later (the longer literal run) is visited first, ties go
// to the next run, and so on.
func wildcards[V any](n *node[V], uri string, fn func(V) bool) bool {
	c, rest, more := strings.Cut(uri, ".")
	for i, key := range [2]string{c, ""} {
		if i == 1 && c == "" {
			break // c itself was the empty component: already visited
		}
		child := n.children[key]
		if child == nil {
			continue
		}
		if more {
			if !wildcards(child, rest, fn) {
				return false
			}
		} else if child.has && !fn(child.val) {
			return false
		}
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
