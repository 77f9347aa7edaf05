package match

import (
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
	if v, ok := ix.Best("com.ab"); ok {
		t.Errorf("Best(com.ab) = %q, want no match (prefixes match whole components)", v)
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

func TestBestSpecExample(t *testing.T) {
	t.Parallel()
	ix := New[string]()
	ix.Put("a.b.c.d.e55", wamp.MatchExact, "exact")
	ix.Put("a.b.c", wamp.MatchPrefix, "prefix a.b.c")
	ix.Put("a.b.c.d", wamp.MatchPrefix, "prefix a.b.c.d")
	for _, w := range []string{"a.b..d.e5", "a.b.c33..e5", "a.b..d.e5..g7", "a.b..d..f6.g7"} {
		ix.Put(wamp.URI(w), wamp.MatchWildcard, w)
	}
	cases := map[string]string{
		"a.b.c.d.e55":        "exact",
		"a.b.c.d98.e74":      "prefix a.b.c",
		"a.b.c.d.e325":       "prefix a.b.c.d",
		"a.b.c55.d.e5":       "a.b..d.e5",
		"a.b.c33.d.e5":       "a.b.c33..e5",
		"a.b.c88.d.e5.f6.g7": "a.b..d.e5..g7",
		"a2.b2.c2.d2.e2":     "",
	}
	for call, want := range cases {
		if got, _ := ix.Best(wamp.URI(call)); got != want {
			t.Errorf("Best(%q) = %q, want %q", call, got, want)
		}
	}
}
