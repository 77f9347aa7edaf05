// Package match indexes URIs registered with a match policy (exact, prefix,
// wildcard) and finds the entries that match a concrete URI.
//
// Exact entries sit in a map. Prefix entries sit in a byte-wise radix trie:
// a prefix matches as a plain byte-string prefix of the URI, as the WAMP
// spec says (§11.7, §12.5: "com.a.obj1" matches "com.a.obj1-x" and
// "com.a.obj1.y"), so a lookup walks the URI's bytes once. Wildcard entries
// sit in a component trie; a lookup visits only the branches that can still
// match. Lookups cost O(len(URI)) whatever the number of patterns and do
// not allocate.
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
	prefix   pnode[V] // radix trie of prefix patterns; the root holds ""
	wildcard *node[V] // components of wildcard patterns; "" edges are wildcards
	nPrefix  int
	nWild    int
}

// pnode is a node of the prefix radix trie. The path from the root to a
// node spells a byte string; val is the prefix pattern equal to it. Every
// edge label is non-empty and a node's children start with distinct bytes
// (first[i] is kids[i].label[0]), so at most one child can continue a URI.
type pnode[V any] struct {
	label string
	first []byte
	kids  []*pnode[V]
	val   V
	has   bool
}

// child returns the child whose label starts with b. Fan-out is small
// (bytes that follow a common prefix), so a scan beats a map.
func (n *pnode[V]) child(b byte) (int, *pnode[V]) {
	for i, c := range n.first {
		if c == b {
			return i, n.kids[i]
		}
	}
	return -1, nil
}

// node is one component of the wildcard trie; val is the pattern ending
// here and the "" child is the wildcard component.
type node[V any] struct {
	children map[string]*node[V]
	val      V
	has      bool
}

// New returns an empty index.
func New[V any]() *Index[V] {
	return &Index[V]{exact: map[wamp.URI]V{}, wildcard: &node[V]{}}
}

// Get returns the value stored for (uri, policy).
func (ix *Index[V]) Get(uri wamp.URI, policy string) (V, bool) {
	var zero V
	switch policy {
	case wamp.MatchPrefix:
		n := ix.findPrefix(string(uri))
		if n == nil {
			return zero, false
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
		n := ix.insertPrefix(string(uri))
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
		if removePrefix(&ix.prefix, string(uri)) {
			ix.nPrefix--
		}
	case wamp.MatchWildcard:
		if remove(ix.wildcard, string(uri)) {
			ix.nWild--
		}
	default:
		delete(ix.exact, uri)
	}
}

// Len is the number of entries.
func (ix *Index[V]) Len() int { return len(ix.exact) + ix.nPrefix + ix.nWild }

// findPrefix returns the node spelling exactly p, or nil.
func (ix *Index[V]) findPrefix(p string) *pnode[V] {
	n := &ix.prefix
	for p != "" {
		_, c := n.child(p[0])
		if c == nil || !strings.HasPrefix(p, c.label) {
			return nil
		}
		p, n = p[len(c.label):], c
	}
	return n
}

// insertPrefix returns the node spelling p, splitting an edge or adding a
// leaf as needed.
func (ix *Index[V]) insertPrefix(p string) *pnode[V] {
	n := &ix.prefix
	for p != "" {
		i, c := n.child(p[0])
		if c == nil {
			c = &pnode[V]{label: p}
			n.first = append(n.first, p[0])
			n.kids = append(n.kids, c)
			return c
		}
		l := commonLen(p, c.label)
		if l < len(c.label) {
			// p leaves c's label after l bytes: put a node there.
			mid := &pnode[V]{label: c.label[:l], first: []byte{c.label[l]}, kids: []*pnode[V]{c}}
			c.label = c.label[l:]
			n.kids[i] = mid
			c = mid
		}
		p, n = p[l:], c
	}
	return n
}

func commonLen(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// removePrefix clears the value spelled by p below n and keeps the trie
// compact: an emptied leaf is dropped and a valueless node with one child
// merges into it. It reports whether a value was removed.
func removePrefix[V any](n *pnode[V], p string) bool {
	var zero V
	if p == "" {
		if !n.has {
			return false
		}
		n.val, n.has = zero, false
		return true
	}
	i, c := n.child(p[0])
	if c == nil || !strings.HasPrefix(p, c.label) || !removePrefix(c, p[len(c.label):]) {
		return false
	}
	switch {
	case c.has:
	case len(c.kids) == 0:
		last := len(n.kids) - 1
		n.first[i], n.kids[i] = n.first[last], n.kids[last]
		n.kids[last] = nil
		n.first, n.kids = n.first[:last], n.kids[:last]
	case len(c.kids) == 1:
		g := c.kids[0]
		g.label = c.label + g.label
		n.kids[i] = g
	}
	return true
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

// remove clears the value at path s below n and prunes emptied nodes. It
// reports whether a value was removed.
func remove[V any](n *node[V], s string) bool {
	c, rest, more := strings.Cut(s, ".")
	child := n.children[c]
	if child == nil {
		return false
	}
	var removed bool
	if more {
		removed = remove(child, rest)
	} else if child.has {
		var zero V
		child.val, child.has, removed = zero, false, true
	}
	if !child.has && len(child.children) == 0 {
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
	if ix.nPrefix > 0 && !prefixes(&ix.prefix, string(uri), fn) {
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
	if ix.nPrefix > 0 {
		if n := ix.longestPrefix(string(uri)); n != nil {
			return n.val, true
		}
	}
	var (
		best  V
		found bool
	)
	if ix.nWild > 0 {
		wildcards(ix.wildcard, string(uri), func(v V) bool { best, found = v, true; return false })
	}
	return best, found
}

// longestPrefix returns the deepest node on uri's path that holds a
// prefix pattern, or nil.
func (ix *Index[V]) longestPrefix(s string) *pnode[V] {
	var best *pnode[V]
	n := &ix.prefix
	for {
		if n.has {
			best = n
		}
		if s == "" {
			return best
		}
		_, c := n.child(s[0])
		if c == nil || !strings.HasPrefix(s, c.label) {
			return best
		}
		s, n = s[len(c.label):], c
	}
}

// prefixes calls fn for every prefix pattern that is a byte prefix of s
// below n, longest first, until fn returns false (then it returns false).
// The recursion depth is at most the number of trie nodes on s's path.
func prefixes[V any](n *pnode[V], s string, fn func(V) bool) bool {
	if s != "" {
		if _, c := n.child(s[0]); c != nil && strings.HasPrefix(s, c.label) {
			if !prefixes(c, s[len(c.label):], fn) {
				return false
			}
		}
	}
	return !n.has || fn(n.val)
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
