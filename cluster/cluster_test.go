package cluster

import (
	"slices"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// checkSubject fails unless every token of s is non-empty, no wildcard and
// free of the whitespace NATS refuses (ASCII; U+0085 and friends are
// ordinary bytes to NATS).
func checkSubject(t *testing.T, s string) {
	t.Helper()
	for _, tok := range strings.Split(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, "\t\n\v\f\r \x00") {
			t.Fatalf("subject %q has a bad token %q", s, tok)
		}
	}
}

func FuzzEscapeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "a", "a.b.c", "a..b", ".", "a.*", ">", "%2A", "%", "a b", "é.x", "$SYS.x", "a.%.>", "\x7f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sub := EscapeURI(wamp.URI(s))
		checkSubject(t, sub)
		back, err := UnescapeURI(sub)
		if err != nil || back != wamp.URI(s) {
			t.Fatalf("round trip of %q: %q → %q, %v", s, sub, back, err)
		}
		sj := Subjects{Prefix: "tg"}
		ev := sj.Event(wamp.URI(s), wamp.URI(s))
		checkSubject(t, ev)
		r, top, err := sj.ParseEvent(ev)
		if err != nil || r != wamp.URI(s) || top != wamp.URI(s) {
			t.Fatalf("ParseEvent(%q) = %q, %q, %v", ev, r, top, err)
		}
	})
}

func TestInterestSubjects(t *testing.T) {
	sj := Subjects{Prefix: "tg"}
	for _, c := range []struct{ uri, match, want string }{
		{"a.b.c", wamp.MatchExact, "tg.r%2E1.ev.a.b.c"},
		{"a..c", wamp.MatchWildcard, "tg.r%2E1.ev.a.*.c"},
		{".b.", wamp.MatchWildcard, "tg.r%2E1.ev.*.b.*"},
		{"a.b.", wamp.MatchPrefix, "tg.r%2E1.ev.a.b.>"},
		{"a.b.c", wamp.MatchPrefix, "tg.r%2E1.ev.a.b.>"},
		{"a", wamp.MatchPrefix, "tg.r%2E1.ev.>"},
		{"", wamp.MatchPrefix, "tg.r%2E1.ev.>"},
		{"a.*", wamp.MatchExact, "tg.r%2E1.ev.a.%2A"},
		{"x.>", wamp.MatchWildcard, "tg.r%2E1.ev.x.%3E"},
	} {
		if got := sj.Interest("r.1", wamp.URI(c.uri), c.match); got != c.want {
			t.Errorf("Interest(%q, %s) = %q, want %q", c.uri, c.match, got, c.want)
		}
	}
	if _, _, err := sj.ParseEvent("tg.r.ev.a.%zz"); err == nil {
		t.Error("bad escape accepted")
	}
	if _, _, err := sj.ParseEvent("tg.r.ev.a.%2"); err == nil {
		t.Error("truncated escape accepted")
	}
}

func TestEnvelopeRoundTrip(t *testing.T) {
	in := &Publication{
		ID: 7, Disclose: true, Publisher: 42, AuthID: "alice", AuthRole: "user",
		Exclude: []wamp.ID{1, 2}, Eligible: []wamp.ID{3}, ExcludeAuthID: []string{"bob"},
		EligibleAuthRole: []string{}, Retain: true, Extra: wamp.Dict{"ppt_scheme": "x"},
		Payload: wamp.Payload{Args: wamp.List{"hi", int64(1)}, Kwargs: wamp.Dict{"k": "v"}},
	}
	b, err := AppendEnvelope(nil, Header{Origin: 9, Seq: 3}, in)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(b)
	if err != nil || h != (Header{9, 3}) {
		t.Fatalf("header %+v, %v", h, err)
	}
	out, err := DecodePublication(b)
	if err != nil {
		t.Fatal(err)
	}
	args, kw, err := out.Payload.Values()
	if err != nil || len(args) != 2 || args[0] != "hi" || kw["k"] != "v" {
		t.Fatalf("payload %v %v %v", args, kw, err)
	}
	if !out.Disclose || out.Publisher != 42 || out.AuthID != "alice" || out.AuthRole != "user" || !out.Retain ||
		!slices.Equal(out.Exclude, in.Exclude) || !slices.Equal(out.Eligible, in.Eligible) ||
		!slices.Equal(out.ExcludeAuthID, in.ExcludeAuthID) || out.EligibleAuthRole == nil || out.EligibleAuthID != nil ||
		out.Extra["ppt_scheme"] != "x" {
		t.Fatalf("decoded %+v", out)
	}
	if _, err := ReadHeader(b[:5]); err == nil {
		t.Error("short envelope accepted")
	}
	anon, _ := AppendEnvelope(nil, Header{}, &Publication{ID: 1})
	if p, err := DecodePublication(anon); err != nil || p.Disclose || p.Publisher != 0 {
		t.Fatalf("undisclosed publication decoded as %+v, %v", p, err)
	}
}
