package authz

import (
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Action slots in rule arrays and cache keys.
const (
	aCall = iota
	aRegister
	aPublish
	aSubscribe
	numActions
)

func actionIndex(a Action) int {
	switch a {
	case ActionCall:
		return aCall
	case ActionRegister:
		return aRegister
	case ActionPublish:
		return aPublish
	case ActionSubscribe:
		return aSubscribe
	}
	return -1
}

// rule is one compiled permission: what it allows and discloses per action.
type rule struct {
	allow    [numActions]bool
	disclose [numActions]bool // only the call and publish slots are ever set
	index    int              // position in the role's permission list
	// uri and match as compiled (a starred URI converted), for Explain.
	uri, match string
	// named: the actions a per-session grant's allow dict names (the
	// ones it decides; Rules). Unused for role permissions.
	named [numActions]bool
	// prefix: the rule is a prefix permission, the only kind that covers
	// a prefix registration (see Realm.Authorize).
	prefix bool
}

func newRule(p *Permission, index int) *rule {
	r := &rule{index: index}
	r.allow = [numActions]bool{p.Allow.Call, p.Allow.Register, p.Allow.Publish, p.Allow.Subscribe}
	r.disclose[aCall] = p.Disclose.Caller
	r.disclose[aPublish] = p.Disclose.Publisher
	return r
}

// node is one URI component of a matcher trie.
type node struct {
	children map[string]*node
	// any is the edge for an empty wildcard component (wildcard trie only).
	any *node
	// Rules ending at this node: exact and prefix in the literal trie,
	// wild in the wildcard trie.
	exact, prefix, wild *rule
}

func (n *node) child(c string) *node {
	if n.children == nil {
		n.children = map[string]*node{}
	}
	ch := n.children[c]
	if ch == nil {
		ch = &node{}
		n.children[c] = ch
	}
	return ch
}

// matcher answers "which permission governs this URI" for one static role.
// It is immutable after compilePermissions and so safe for concurrent use.
//
// Precedence: exact > wildcard (most specific: a literal component beats an
// empty one at the first position where two patterns differ, which orders
// them as wamp-spec §11.7's literal runs do) > longest prefix > none. All
// matching is per URI component; prefixes match whole components.
type matcher struct {
	lit     node // exact and prefix rules, keyed by literal components
	wild    node // wildcard rules; empty components use node.any
	hasWild bool
}

func newMatcher() *matcher { return &matcher{} }

// add stores a validated rule. uri of a prefix rule has no trailing '.'.
func (m *matcher) add(uri, match string, r *rule) {
	switch match {
	case wamp.MatchPrefix:
		n := &m.lit
		if uri != "" {
			for c := range strings.SplitSeq(uri, ".") {
				n = n.child(c)
			}
		}
		n.prefix = r
	case wamp.MatchWildcard:
		m.hasWild = true
		n := &m.wild
		for c := range strings.SplitSeq(uri, ".") {
			if c == "" {
				if n.any == nil {
					n.any = &node{}
				}
				n = n.any
				continue
			}
			n = n.child(c)
		}
		n.wild = r
	default:
		n := &m.lit
		for c := range strings.SplitSeq(uri, ".") {
			n = n.child(c)
		}
		n.exact = r
	}
}

// lookup returns the rule governing uri, or nil (deny). It walks the URI
// once through the literal trie (exact and longest prefix together) and, if
// no exact rule matched, once more through the wildcard trie, which may
// backtrack but visits each trie node at most once. It never allocates.
func (m *matcher) lookup(uri string) *rule {
	n := &m.lit
	best := n.prefix
	complete := false
	for rest := uri; ; {
		c, tail, last := cut(rest)
		next := n.children[c]
		if next == nil {
			break
		}
		n = next
		if n.prefix != nil {
			best = n.prefix
		}
		if last {
			complete = true
			break
		}
		rest = tail
	}
	if complete && n.exact != nil {
		return n.exact
	}
	if m.hasWild {
		if r := matchWild(&m.wild, uri); r != nil {
			return r
		}
	}
	return best
}

// cut splits off the first component of s.
func cut(s string) (comp, rest string, last bool) {
	i := strings.IndexByte(s, '.')
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i+1:], false
}

// matchWild finds the most specific wildcard rule matching uri below n:
// literal edges are tried before the empty-component edge.
func matchWild(n *node, uri string) *rule {
	c, rest, last := cut(uri)
	if next := n.children[c]; next != nil {
		if last {
			if next.wild != nil {
				return next.wild
			}
		} else if r := matchWild(next, rest); r != nil {
			return r
		}
	}
	if n.any != nil {
		if last {
			return n.any.wild
		}
		return matchWild(n.any, rest)
	}
	return nil
}
