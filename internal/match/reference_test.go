package match

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// ref is the naive reference the trie is checked against: a list of
// patterns scanned in full for every lookup.
type ref struct {
	entries map[[2]string]int // (uri, policy) → value
}

func newRef() *ref { return &ref{entries: map[[2]string]int{}} }

// refPrefixMatch: a plain byte-string prefix (spec §11.7, §12.5).
func refPrefixMatch(p, uri string) bool { return strings.HasPrefix(uri, p) }

// refMoreSpecific: wildcard a beats b when its runs of literal components,
// compared left to right, are longer (spec §11.7).
func refMoreSpecific(a, b string) bool {
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

func literalRuns(pat string) []int {
	var runs []int
	n := 0
	for c := range strings.SplitSeq(pat, ".") {
		if c == "" {
			runs = append(runs, n)
			n = 0
			continue
		}
		n++
	}
	return append(runs, n)
}

// matches returns the values matching uri in the order All must report
// them: exact, prefixes longest first, wildcards most specific first.
func (r *ref) matches(uri string) []int {
	var out []int
	if v, ok := r.entries[[2]string{uri, wamp.MatchExact}]; ok {
		out = append(out, v)
	}
	var pre, wild []string
	for k := range r.entries {
		switch {
		case k[1] == wamp.MatchPrefix && refPrefixMatch(k[0], uri):
			pre = append(pre, k[0])
		case k[1] == wamp.MatchWildcard && WildcardMatch(wamp.URI(k[0]), wamp.URI(uri)):
			wild = append(wild, k[0])
		}
	}
	slices.SortFunc(pre, func(a, b string) int { return len(b) - len(a) })
	slices.SortFunc(wild, func(a, b string) int {
		if refMoreSpecific(a, b) {
			return -1
		}
		return 1
	})
	for _, p := range pre {
		out = append(out, r.entries[[2]string{p, wamp.MatchPrefix}])
	}
	for _, w := range wild {
		out = append(out, r.entries[[2]string{w, wamp.MatchWildcard}])
	}
	return out
}

// randomURI draws 1..5 components from a small alphabet so patterns
// collide often; empty components appear where policy allows them.
func randomURI(rng *rand.Rand, policy string) string {
	comps := []string{"a", "b", "c", "dd", "e_1"}
	n := 1 + rng.IntN(5)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = comps[rng.IntN(len(comps))]
		if policy == wamp.MatchWildcard && rng.IntN(3) == 0 {
			parts[i] = ""
		}
	}
	s := strings.Join(parts, ".")
	if policy == wamp.MatchPrefix {
		switch rng.IntN(6) {
		case 0:
			s += "."
		case 1:
			s = ""
		case 2, 3:
			// End inside a component ("a.d" of "a.dd", "a.e_" of
			// "a.e_1"): byte prefixes must match there too.
			s = s[:rng.IntN(len(s)+1)]
		}
	}
	return s
}

// crossCheck runs ops random Put/Delete operations and compares every
// lookup with the reference.
func crossCheck(t testing.TB, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ix := New[int]()
	r := newRef()
	policies := []string{wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard}
	for i := range ops {
		policy := policies[rng.IntN(3)]
		u := randomURI(rng, policy)
		if !wamp.ValidURI(wamp.URI(u), true, policy) {
			continue
		}
		k := [2]string{u, policy}
		if rng.IntN(4) == 0 {
			ix.Delete(wamp.URI(u), policy)
			delete(r.entries, k)
		} else {
			ix.Put(wamp.URI(u), policy, i)
			r.entries[k] = i
		}
		if v, ok := r.entries[k]; ok {
			if got, gok := ix.Get(wamp.URI(u), policy); !gok || got != v {
				t.Fatalf("seed %d op %d: Get(%q, %s) = %d, %v; want %d", seed, i, u, policy, got, gok, v)
			}
		} else if got, gok := ix.Get(wamp.URI(u), policy); gok {
			t.Fatalf("seed %d op %d: Get(%q, %s) = %d after delete", seed, i, u, policy, got)
		}
		checkTrie(t, &ix.prefix, true)
		if ix.Len() != len(r.entries) {
			t.Fatalf("seed %d op %d: Len = %d, want %d", seed, i, ix.Len(), len(r.entries))
		}
		uri := randomURI(rng, wamp.MatchExact)
		want := r.matches(uri)
		var got []int
		ix.All(wamp.URI(uri), func(v int) bool { got = append(got, v); return true })
		if !slices.Equal(got, want) {
			t.Fatalf("seed %d op %d: All(%q) = %v, want %v (entries %v)", seed, i, uri, got, want, r.entries)
		}
		best, ok := ix.Best(wamp.URI(uri))
		if ok != (len(want) > 0) || ok && best != want[0] {
			t.Fatalf("seed %d op %d: Best(%q) = %d, %v; want %v", seed, i, uri, best, ok, want)
		}
		// Stopping early stops.
		if len(want) > 1 {
			n := 0
			ix.All(wamp.URI(uri), func(int) bool { n++; return false })
			if n != 1 {
				t.Fatalf("All kept calling after false: %d calls", n)
			}
		}
	}
}

// checkTrie fails unless the radix trie below n is well-formed and
// compact: non-empty labels, first[i] = kids[i].label[0] with no repeats,
// and every node but the root holds a value or branches.
func checkTrie[V any](t testing.TB, n *pnode[V], root bool) {
	t.Helper()
	if !root && (n.label == "" || !n.has && len(n.kids) < 2) {
		t.Fatalf("trie node %q: has %v, %d children (empty label or not compact)", n.label, n.has, len(n.kids))
	}
	if len(n.first) != len(n.kids) {
		t.Fatalf("trie node %q: %d first bytes, %d children", n.label, len(n.first), len(n.kids))
	}
	seen := map[byte]bool{}
	for i, c := range n.kids {
		if seen[n.first[i]] || c.label == "" || c.label[0] != n.first[i] {
			t.Fatalf("trie node %q: child %d label %q, first byte %q (repeated: %v)", n.label, i, c.label, n.first[i], seen[n.first[i]])
		}
		seen[n.first[i]] = true
		checkTrie(t, c, false)
	}
}

func TestIndexAgainstReference(t *testing.T) {
	t.Parallel()
	for seed := range uint64(20) {
		crossCheck(t, seed, 2000)
	}
}

func FuzzIndexAgainstReference(f *testing.F) {
	for _, s := range []uint64{1, 42, 1 << 40} {
		f.Add(s, uint16(300))
	}
	f.Fuzz(func(t *testing.T, seed uint64, ops uint16) {
		crossCheck(t, seed, int(ops%2000))
	})
}

func TestDeletePrunes(t *testing.T) {
	t.Parallel()
	ix := New[int]()
	ix.Put("a.b.c", wamp.MatchPrefix, 1)
	ix.Put("a.b.c.", wamp.MatchPrefix, 2)
	ix.Put("", wamp.MatchPrefix, 3)
	ix.Put("a..c", wamp.MatchWildcard, 4)
	ix.Delete("a.b.c", wamp.MatchPrefix)
	if v, ok := ix.Get("a.b.c.", wamp.MatchPrefix); !ok || v != 2 {
		t.Fatalf("deleting a.b.c removed a.b.c. too (%d, %v)", v, ok)
	}
	ix.Delete("a.b.c.", wamp.MatchPrefix)
	ix.Delete("", wamp.MatchPrefix)
	ix.Delete("a..c", wamp.MatchWildcard)
	ix.Delete("x.y", wamp.MatchWildcard) // absent: no effect
	if ix.Len() != 0 || len(ix.prefix.kids) != 0 || len(ix.wildcard.children) != 0 || ix.prefix.has {
		t.Fatalf("index not empty after deleting everything: len %d, prefix %v, wildcard %v", ix.Len(), ix.prefix.kids, ix.wildcard.children)
	}
}

// BenchmarkMatch looks up realistic URIs among 10k patterns of one policy
// (and all three together, and 10k nesting byte prefixes). ns/op is the time per looked-up URI; a
// quarter of the URIs match nothing.
func BenchmarkMatch(b *testing.B) {
	const n = 10000
	build := func(policies ...string) *Index[int] {
		ix := New[int]()
		for i := range n {
			for _, p := range policies {
				switch p {
				case wamp.MatchExact:
					ix.Put(wamp.URI(fmt.Sprintf("com.app.%d.user.update", i)), p, i)
				case wamp.MatchPrefix:
					ix.Put(wamp.URI(fmt.Sprintf("com.app.%d.user", i)), p, i)
				case wamp.MatchWildcard:
					ix.Put(wamp.URI(fmt.Sprintf("com.app.%d.user..update", i)), p, i)
				}
			}
		}
		return ix
	}
	uris := make([]wamp.URI, 1024)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range uris {
		if i%4 == 0 {
			uris[i] = wamp.URI(fmt.Sprintf("org.other.%d.user.x%d.update", rng.IntN(n), i))
			continue
		}
		uris[i] = wamp.URI(fmt.Sprintf("com.app.%d.user.x%d.update", rng.IntN(n), i))
	}
	cases := []struct {
		name     string
		policies []string
	}{
		{"exact", []string{wamp.MatchExact}},
		{"prefix", []string{wamp.MatchPrefix}},
		{"wildcard", []string{wamp.MatchWildcard}},
		{"mixed", []string{wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard}},
	}
	// Byte prefixes nest: "com.app.1", "com.app.12", … all match
	// "com.app.1234.…", so All reports up to five prefixes per lookup.
	nested := New[int]()
	for i := range n {
		nested.Put(wamp.URI(fmt.Sprintf("com.app.%d", i)), wamp.MatchPrefix, i)
	}
	for _, c := range cases {
		ix := build(c.policies...)
		lookups := uris
		if c.name == "exact" {
			// Exact patterns need exact URIs to be worth measuring.
			lookups = make([]wamp.URI, len(uris))
			for i := range lookups {
				lookups[i] = wamp.URI(fmt.Sprintf("com.app.%d.user.update", rng.IntN(n+n/3)))
			}
		}
		b.Run(c.name+"/Best", func(b *testing.B) {
			b.ReportAllocs()
			found := 0
			for i := 0; b.Loop(); i++ {
				if _, ok := ix.Best(lookups[i%len(lookups)]); ok {
					found++
				}
			}
			if found == 0 {
				b.Fatal("no lookup matched")
			}
		})
		b.Run(c.name+"/All", func(b *testing.B) {
			b.ReportAllocs()
			found := 0
			count := func(int) bool { found++; return true }
			for i := 0; b.Loop(); i++ {
				ix.All(lookups[i%len(lookups)], count)
			}
			if found == 0 {
				b.Fatal("no lookup matched")
			}
		})
	}
	b.Run("prefix-nested/Best", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			nested.Best(uris[i%len(uris)])
		}
	})
	b.Run("prefix-nested/All", func(b *testing.B) {
		b.ReportAllocs()
		found := 0
		count := func(int) bool { found++; return true }
		for i := 0; b.Loop(); i++ {
			nested.All(uris[i%len(uris)], count)
		}
		if found <= b.N {
			b.Fatalf("%d matches for %d lookups: prefixes do not nest", found, b.N)
		}
	})
	// The linear scan this package used to do for wildcards, for scale.
	pats := make([]wamp.URI, n)
	for i := range pats {
		pats[i] = wamp.URI(fmt.Sprintf("com.app.%d.user..update", i))
	}
	b.Run("wildcard/linear-scan-reference", func(b *testing.B) {
		b.ReportAllocs()
		found := 0
		for i := 0; b.Loop(); i++ {
			u := uris[i%len(uris)]
			for _, p := range pats {
				if WildcardMatch(p, u) {
					found++
				}
			}
		}
		if found == 0 {
			b.Fatal("no lookup matched")
		}
	})
}
