package cluster

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestCallRoundTrip(t *testing.T) {
	for _, m := range []*CallMsg{
		{Kind: KindInvoke, From: "n.a", Call: 1, Realm: "realm.1", Registration: 1 << 53, Callee: 42, Procedure: "com.x",
			Details: wamp.Dict{"caller": uint64(7), "receive_progress": true}, Payload: wamp.Payload{Args: wamp.List{"a", uint64(1)}}},
		{Kind: KindChunk, From: "b", Call: 2, Progress: true, Details: wamp.Dict{}},
		{Kind: KindCancel, From: "b", Call: 3, Mode: wamp.CancelKill},
		{Kind: KindResult, From: "c", Call: 4, Progress: true, Details: wamp.Dict{"progress": true}, Payload: wamp.Payload{Kwargs: wamp.Dict{"k": "v"}}},
		{Kind: KindError, From: "c", Call: 5, Error: "com.app.oops", Details: wamp.Dict{"reason": "x"}},
		{Kind: KindError, From: "c", Call: 6, Error: wamp.ErrNoAvailableCallee, NotDelivered: true, Details: wamp.Dict{}},
	} {
		b, err := AppendCall(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeCall(b)
		if err != nil {
			t.Fatalf("%+v: %v", m, err)
		}
		args, kwargs, err := got.Payload.Values()
		if err != nil {
			t.Fatal(err)
		}
		got.Payload = wamp.Payload{Args: args, Kwargs: kwargs}
		if m.Details == nil {
			m.Details = wamp.Dict{}
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", m) { // numbers decode as any integer type
			t.Errorf("round trip:\n got %+v\nwant %+v", got, m)
		}
		if m.Final() != (m.Kind == KindError || m.Kind == KindResult && !m.Progress) {
			t.Errorf("Final of %+v", m)
		}
	}
	for _, b := range [][]byte{nil, {callVersion}, {1, 2, 3}, append([]byte{callVersion, 9}, make([]byte, 40)...)} {
		if _, err := DecodeCall(b); err == nil {
			t.Errorf("DecodeCall(%x) accepted", b)
		}
	}
}

// TestRegistryKey: keys are valid KV keys (no empty token) and distinct
// for distinct (realm, match, uri).
func TestRegistryKey(t *testing.T) {
	valid := regexp.MustCompile(`^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$`)
	seen := map[string]bool{}
	for _, realm := range []wamp.URI{"realm1", "a.b", "é"} {
		for _, match := range []string{wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard} {
			for _, uri := range []wamp.URI{"", "com.x", "com..x", "a*b>%", "com.x."} {
				k := RegistryKey(realm, uri, match)
				if !valid.MatchString(k) || seen[k] {
					t.Fatalf("key %q for (%s, %s, %q): invalid or repeated", k, realm, match, uri)
				}
				seen[k] = true
			}
		}
	}
	for _, node := range []string{"a", "a.b", "*", ">"} {
		checkSubject(t, Subjects{Prefix: "tg"}.Inbox(node))
		checkSubject(t, Subjects{Prefix: "tg"}.ReplyTo(node, 1))
	}
}
