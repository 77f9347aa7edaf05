package websocket

import (
	"net/http"
	"slices"
	"testing"
)

// The upgrade headers a connection keeps for the authenticator and
// authorizer: none by default, the listed ones whatever their case, and
// with "*" everything but the credential headers not named.
func TestAuthHeaders(t *testing.T) {
	t.Parallel()
	sent := http.Header{
		"User-Agent":      {"ua/1"},
		"X-Forwarded-For": {"10.0.0.1", "10.0.0.2"},
		"Cookie":          {"session=secret"},
		"Authorization":   {"Bearer secret"},
	}
	tests := []struct {
		allow []string
		want  []string // canonical names kept, besides the upgrade's own with "*"
		all   bool
	}{
		{nil, nil, false},
		{[]string{}, nil, false},
		{[]string{"x-forwarded-for", "USER-AGENT", "x-absent"}, []string{"User-Agent", "X-Forwarded-For"}, false},
		{[]string{"cookie"}, []string{"Cookie"}, false},
		{[]string{"*"}, []string{"User-Agent", "X-Forwarded-For"}, true},
		{[]string{"*", "Authorization"}, []string{"Authorization", "User-Agent", "X-Forwarded-For"}, true},
	}
	for _, tt := range tests {
		s := startServer(t, ServerOptions{AuthHeaders: tt.allow}, false)
		_, sc := dial(t, s, DialOptions{HTTPHeader: sent})
		got := sc.Info().HTTPHeaders
		if got == nil {
			t.Fatalf("%v: HTTPHeaders nil, want a (maybe empty) header", tt.allow)
		}
		for _, k := range tt.want {
			if !slices.Equal(got[k], sent[k]) {
				t.Errorf("%v: %s = %q, want %q", tt.allow, k, got[k], sent[k])
			}
		}
		for k := range got {
			if slices.Contains(tt.want, k) {
				continue
			}
			if !tt.all || sent[k] != nil {
				t.Errorf("%v: kept %s: %q", tt.allow, k, got[k])
			}
		}
		if tt.all && got.Get("Sec-WebSocket-Key") == "" {
			t.Errorf("%v: * did not keep Sec-WebSocket-Key: %v", tt.allow, got)
		}
	}
}

// BenchmarkKeptHeaders: what a connection keeps of a browser's upgrade
// request for the auth backend, per connection for its whole life: all of
// it (before the allow-list), none (the default), or two headers.
func BenchmarkKeptHeaders(b *testing.B) {
	h := http.Header{
		"Host": {"example.com"}, "Connection": {"Upgrade"}, "Upgrade": {"websocket"},
		"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="},
		"Sec-Websocket-Protocol":   {"wamp.2.json, wamp.2.msgpack"},
		"Sec-Websocket-Extensions": {"permessage-deflate; client_max_window_bits"},
		"Origin":                   {"https://example.com"}, "User-Agent": {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"},
		"Accept-Encoding": {"gzip, deflate, br"}, "Accept-Language": {"en-GB,en;q=0.9"},
		"Cookie":          {"session=0123456789abcdef0123456789abcdef; theme=dark"},
		"X-Forwarded-For": {"203.0.113.7"},
	}
	b.Run("all", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Clone()
		}
	})
	b.Run("none", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = pickHeaders(h, nil)
		}
	})
	b.Run("two", func(b *testing.B) {
		b.ReportAllocs()
		allow := []string{"x-forwarded-for", "user-agent"}
		for b.Loop() {
			_ = pickHeaders(h, allow)
		}
	})
}
