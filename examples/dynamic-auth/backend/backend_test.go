package main

import "testing"

func TestPermitted(t *testing.T) {
	t.Parallel()
	cases := []struct {
		role, uri, action string
		want              bool
	}{
		{"regular", "public.hello", "call", true},
		{"regular", "public.news", "subscribe", true},
		{"regular", "public.", "subscribe", true}, // prefix subscription
		{"regular", "public.news", "publish", false},
		{"regular", "public.mine", "register", false},
		{"regular", "private.hello", "call", false},
		{"regular", "public", "subscribe", false},
		{"regular", "publicity.stunt", "call", false},
		{"regular", "", "subscribe", false},
		{"admin", "private.hello", "call", true},
		{"admin", "anything", "subscribe", true},
		{"admin", "private.news", "publish", true},
		{"admin", "public.mine", "register", false},
		{"server", "public.hello", "call", false}, // static in the config, never asked
		{"", "public.hello", "call", false},
		{"regular", "public.hello", "CALL", false},
	}
	for _, c := range cases {
		if got := permitted(c.role, c.uri, c.action); got != c.want {
			t.Errorf("permitted(%q, %q, %q) = %v, want %v", c.role, c.uri, c.action, got, c.want)
		}
	}
}
