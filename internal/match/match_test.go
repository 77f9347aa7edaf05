package match

import (
	"fmt"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestWildcardMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pat, uri string
		want     bool
	}{
		{"com..create", "com.user.create", true},
		{"com..create", "com.user.delete", false},
		{"com..create", "com.user.x.create", false},
		{"..", "a.b.c", true},
		{"..", "a.b", false},
		{"a.b.", "a.b.c", true},
		{"a.b.", "a.b", false},
		{".b", "a.b", true},
		{"a.b.c", "a.b.c", true},
		{"a.b.c", "a.b.d", false},
	}
	for _, c := range cases {
		if got := WildcardMatch(wamp.URI(c.pat), wamp.URI(c.uri)); got != c.want {
			t.Errorf("WildcardMatch(%q, %q) = %v, want %v", c.pat, c.uri, got, c.want)
		}
	}
}

func TestIndexBestAndAll(t *testing.T) {
	t.Parallel()
	ix := New[string]()
	ix.Put("com.a.b", wamp.MatchExact, "exact")
	ix.Put("com.a", wamp.MatchPrefix, "prefix-short")
	ix.Put("com.a.", wamp.MatchPrefix, "prefix-long")
	ix.Put("com..b", wamp.MatchWildcard, "wild-1")
	ix.Put("com.a.", wamp.MatchWildcard, "wild-2")

	if v, _ := ix.Best("com.a.b"); v != "exact" {
		t.Errorf("Best(com.a.b) = %q, want exact", v)
	}
	if v, _ := ix.Best("com.a.c"); v != "prefix-long" {
		t.Errorf("Best(com.a.c) = %q, want prefix-long", v)
	}
	if v, _ := ix.Best("com.ab"); v != "prefix-short" {
		t.Errorf("Best(com.ab) = %q, want prefix-short (byte-string prefix)", v)
	}
	if v, _ := ix.Best("com.a"); v != "prefix-short" {
		t.Errorf("Best(com.a) = %q, want prefix-short", v)
	}
	if v, _ := ix.Best("com.x.b"); v != "wild-1" {
		t.Errorf("Best(com.x.b) = %q, want wild-1", v)
	}
	ix.Delete("com.a", wamp.MatchPrefix)
	ix.Delete("com.a.", wamp.MatchPrefix)
	if v, _ := ix.Best("com.a.b.x"); v != "" {
		t.Errorf("Best(com.a.b.x) = %q, want no match", v)
	}
	// com.a.b: wild-2 (first empty at 2) beats wild-1 (first empty at 1).
	ix.Delete("com.a.b", wamp.MatchExact)
	if v, _ := ix.Best("com.a.b"); v != "wild-2" {
		t.Errorf("Best(com.a.b) = %q, want wild-2", v)
	}

	ix.Put("com.a.b", wamp.MatchExact, "exact")
	ix.Put("", wamp.MatchPrefix, "all")
	got := map[string]bool{}
	ix.All("com.a.b", func(v string) bool { got[v] = true; return true })
	for _, w := range []string{"exact", "all", "wild-1", "wild-2"} {
		if !got[w] {
			t.Errorf("All(com.a.b) missed %q (got %v)", w, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("All(com.a.b) = %v, want 4 entries", got)
	}
}

// TestBestSpecExample is the resolution example of the spec's
// pattern-based registration section, with its URIs as written there
// (renaming components would change which byte prefixes match).
func TestBestSpecExample(t *testing.T) {
	t.Parallel()
	ix := New[string]()
	ix.Put("a1.b2.c3.d4.e55", wamp.MatchExact, "1")
	ix.Put("a1.b2.c3", wamp.MatchPrefix, "2")
	ix.Put("a1.b2.c3.d4", wamp.MatchPrefix, "3")
	for i, w := range []string{"a1.b2..d4.e5", "a1.b2.c3..e5", "a1.b2..d4.e5..g7", "a1.b2..d4..f6.g7"} {
		ix.Put(wamp.URI(w), wamp.MatchWildcard, fmt.Sprint(i+4))
	}
	cases := map[string]string{
		"a1.b2.c3.d4.e55":  "1",
		"a1.b2.c3.d98.e74": "2",
		"a1.b2.c3.d4.e325": "3",
		"a1.b2.c55.d4.e5":  "4",
		// The spec's text says RPC 5 here, but prefixes 2 and 3 both
		// match (by bytes and by components) and its rule 2 puts the
		// longest prefix before any wildcard.
		"a1.b2.c3.d4.e5":        "3",
		"a1.b2.c88.d4.e5.f6.g7": "6",
		"a2.b2.c2.d2.e2":        "",
	}
	for call, want := range cases {
		if got, _ := ix.Best(wamp.URI(call)); got != want {
			t.Errorf("Best(%q) = %q, want %q", call, got, want)
		}
	}
	// RPC 5 wins where no prefix applies.
	if got, _ := ix.Best("a1.b2.c44.d4.e5"); got != "4" {
		t.Errorf("Best(a1.b2.c44.d4.e5) = %q, want 4", got)
	}
	ix.Put("a1.b2.c44..e5", wamp.MatchWildcard, "5'")
	if got, _ := ix.Best("a1.b2.c44.d4.e5"); got != "5'" {
		t.Errorf("Best(a1.b2.c44.d4.e5) = %q, want 5' (first literal run 3 > 2)", got)
	}
}

// TestSpecPrefixExamples: the spec's examples for prefix matching (§12.5
// pattern-based subscription, §11.7 pattern-based registration).
func TestSpecPrefixExamples(t *testing.T) {
	t.Parallel()
	ix := New[string]()
	ix.Put("com.myapp.topic.emergency", wamp.MatchPrefix, "emergency")
	for _, topic := range []wamp.URI{
		"com.myapp.topic.emergency.11",
		"com.myapp.topic.emergency-low",
		"com.myapp.topic.emergency.category.severe",
		"com.myapp.topic.emergency",
	} {
		var got []string
		ix.All(topic, func(v string) bool { got = append(got, v); return true })
		if len(got) != 1 || got[0] != "emergency" {
			t.Errorf("All(%q) = %v, want [emergency]", topic, got)
		}
	}
	ix.All("com.myapp.topic.emerge", func(v string) bool {
		t.Errorf("All(com.myapp.topic.emerge) matched %q", v)
		return true
	})

	rpc := New[string]()
	rpc.Put("com.myapp.myobject1", wamp.MatchPrefix, "myobject1")
	for _, p := range []wamp.URI{"com.myapp.myobject1-mysubobject1", "com.myapp.myobject1.myproc1", "com.myapp.myobject1"} {
		if v, ok := rpc.Best(p); !ok || v != "myobject1" {
			t.Errorf("Best(%q) = %q, %v; want myobject1", p, v, ok)
		}
	}
	if v, ok := rpc.Best("com.myapp.myobject"); ok {
		t.Errorf("Best(com.myapp.myobject) = %q, want no match", v)
	}
	// The longest byte prefix wins, wherever it ends.
	rpc.Put("com.myapp.myobject1-", wamp.MatchPrefix, "dash")
	if v, _ := rpc.Best("com.myapp.myobject1-mysubobject1"); v != "dash" {
		t.Errorf("Best(com.myapp.myobject1-mysubobject1) = %q, want dash", v)
	}
	if v, _ := rpc.Best("com.myapp.myobject1.x"); v != "myobject1" {
		t.Errorf("Best(com.myapp.myobject1.x) = %q, want myobject1", v)
	}
}
