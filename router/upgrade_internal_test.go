package router

import (
	"strings"
	"testing"
)

func TestParseUpgrade(t *testing.T) {
	const ok = "GET /ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nconnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Protocol: wamp.2.json\r\nSec-WebSocket-Protocol:  wamp.2.cbor \r\nCookie: a=b\r\n\r\n"
	req := parseUpgrade(ok)
	if req == nil {
		t.Fatal("a plain upgrade request was not parsed")
	}
	if req.URL.Path != "/ws" || req.URL.RawQuery != "x=1" || req.Host != "127.0.0.1:8080" || req.Header.Get("Host") != "" {
		t.Fatalf("path %q query %q host %q", req.URL.Path, req.URL.RawQuery, req.Host)
	}
	if got := strings.Join(req.Header.Values("Sec-WebSocket-Protocol"), ","); got != "wamp.2.json,wamp.2.cbor" {
		t.Fatalf("protocols %q", got)
	}
	if req.Header.Get("Connection") != "Upgrade" || req.Header.Get("Cookie") != "a=b" {
		t.Fatalf("headers %v", req.Header)
	}
	// Each of these is net/http's to read (or refuse), not the fast path's.
	for name, head := range map[string]string{
		"POST":              strings.Replace(ok, "GET", "POST", 1),
		"HTTP/1.0":          strings.Replace(ok, "HTTP/1.1", "HTTP/1.0", 1),
		"absolute target":   strings.Replace(ok, "/ws?x=1", "http://h/ws", 1),
		"escaped path":      strings.Replace(ok, "/ws?x=1", "/w%73", 1),
		"no host":           strings.Replace(ok, "Host: 127.0.0.1:8080\r\n", "", 1),
		"two hosts":         strings.Replace(ok, "Host: 127.0.0.1:8080\r\n", "Host: a\r\nHost: b\r\n", 1),
		"bad host":          strings.Replace(ok, "127.0.0.1:8080", "a b", 1),
		"folded header":     strings.Replace(ok, "Upgrade: websocket\r\n", "Upgrade:\r\n websocket\r\n", 1),
		"bad header name":   strings.Replace(ok, "Cookie:", "Coo kie:", 1),
		"no colon":          strings.Replace(ok, "Cookie: a=b", "Cookie", 1),
		"body":              strings.Replace(ok, "Cookie: a=b", "Content-Length: 3", 1),
		"chunked":           strings.Replace(ok, "Cookie: a=b", "Transfer-Encoding: chunked", 1),
		"expect":            strings.Replace(ok, "Cookie: a=b", "Expect: 100-continue", 1),
		"bare LF in value":  strings.Replace(ok, "a=b", "a\nb", 1),
		"NUL in value":      strings.Replace(ok, "a=b", "a\x00b", 1),
		"empty header name": strings.Replace(ok, "Cookie: a=b", ": a=b", 1),
	} {
		if parseUpgrade(head) != nil {
			t.Errorf("%s: parsed by the fast path", name)
		}
	}
}

func TestUpgradeRoutes(t *testing.T) {
	a, any := &wsEndpoint{}, &wsEndpoint{}
	u := &upgradeRoutes{ws: map[string]*wsEndpoint{"/ws": a, "": any}, other: map[string]bool{"/metrics": true},
		mounts: []string{"/static"}}
	for path, want := range map[string]*wsEndpoint{"/ws": a, "/other": any, "/metrics": nil, "/static/x": nil, "/staticx": any} {
		if got := u.endpoint(path); got != want {
			t.Errorf("%s: endpoint %p, want %p", path, got, want)
		}
	}
	if (&upgradeRoutes{ws: map[string]*wsEndpoint{"/ws": a}}).endpoint("/x") != nil {
		t.Error("a path no endpoint serves was taken")
	}
}
