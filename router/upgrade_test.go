package router_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/routertest"
)

// upgradeHead is a WAMP WebSocket upgrade request for path; extra are
// more header lines.
func upgradeHead(path string, extra ...string) string {
	h := "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: wamp.2.json\r\n"
	for _, e := range extra {
		h += e + "\r\n"
	}
	return h + "\r\n"
}

// maskedText is a client text frame of p (mask key 0).
func maskedText(p string) []byte {
	b := []byte{0x81}
	if len(p) < 126 {
		b = append(b, 0x80|byte(len(p)))
	} else {
		b = binary.BigEndian.AppendUint16(append(b, 0x80|126), uint16(len(p)))
	}
	return append(append(b, 0, 0, 0, 0), p...)
}

// upgradeOver writes the chunks to a new connection to addr and returns
// the response's status and a reader positioned after its head.
func upgradeOver(t *testing.T, addr string, chunks ...[]byte) (*http.Response, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	for _, ch := range chunks {
		if _, err := c.Write(ch); err != nil {
			t.Fatal(err)
		}
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, br
}

// The upgrade fast path (router/upgrade.go) and its hand-over to net/http:
// a head in pieces, frames sent right behind the head, a head too long
// for the fast path, and refusals worded by net/http and Accept.
func TestUpgradeFastPath(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	addr := srv.Serve(t, "tcp", router.Transport{Name: "o", WebSocket: map[string]router.WebSocketOptions{
		"/ws": {AllowedOrigins: []string{"good.example"}}}})
	addr = strings.TrimSuffix(strings.TrimPrefix(addr, "ws://"), "/ws")
	head := upgradeHead("/ws")

	var pieces [][]byte
	for i := range len(head) {
		pieces = append(pieces, []byte{head[i]})
	}
	if resp, _ := upgradeOver(t, addr, pieces...); resp.StatusCode != http.StatusSwitchingProtocols ||
		resp.Header.Get("Sec-WebSocket-Protocol") != "wamp.2.json" ||
		resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("head in pieces: %d %v", resp.StatusCode, resp.Header)
	}

	hello := maskedText(`[1,"` + routertest.Realm + `",{"roles":{"caller":{}}}]`)
	resp, br := upgradeOver(t, addr, append([]byte(head), hello...))
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("head and HELLO in one write: %d", resp.StatusCode)
	}
	var fh [4]byte
	if _, err := io.ReadFull(br, fh[:2]); err != nil {
		t.Fatal(err)
	}
	n := int(fh[1] & 0x7F)
	if n == 126 {
		io.ReadFull(br, fh[2:4])
		n = int(binary.BigEndian.Uint16(fh[2:4]))
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(br, msg); err != nil || !strings.HasPrefix(string(msg), "[2,") {
		t.Fatalf("answer to the HELLO behind the head: %q %v", msg, err)
	}

	long := upgradeHead("/ws", "X-Pad: "+strings.Repeat("p", 6000))
	if resp, _ := upgradeOver(t, addr, []byte(long)); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("head over 4 KiB: %d", resp.StatusCode)
	}

	for name, c := range map[string]struct {
		head   string
		status int
		body   string
	}{
		"origin":      {upgradeHead("/ws", "Origin: http://evil.example"), http.StatusForbidden, "not authorized"},
		"subprotocol": {strings.Replace(head, "wamp.2.json", "mqtt", 1), http.StatusBadRequest, "no common WAMP subprotocol"},
		"version":     {strings.Replace(head, "Version: 13", "Version: 8", 1), http.StatusBadRequest, "unsupported protocol version"},
		"path":        {upgradeHead("/other"), http.StatusNotFound, "nothing served at /other"},
		"POST":        {strings.Replace(head, "GET", "POST", 1), http.StatusMethodNotAllowed, "not GET"},
	} {
		resp, _ := upgradeOver(t, addr, []byte(c.head))
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.body) {
			t.Errorf("%s: %d %q, want %d %q", name, resp.StatusCode, body, c.status, c.body)
		}
	}
	if resp, _ := upgradeOver(t, addr, []byte(upgradeHead("/ws", "Origin: https://good.example"))); resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("allowed origin: %d", resp.StatusCode)
	}
}
