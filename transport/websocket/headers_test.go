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
