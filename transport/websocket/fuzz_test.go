package websocket

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

const fuzzLimit = 1024

// fuzzSeeds are well-formed and malformed client streams; the committed
// corpus in testdata/fuzz/FuzzReadFrames holds more.
func fuzzSeeds() [][]byte {
	join := func(fs ...[]byte) []byte {
		var b []byte
		for _, f := range fs {
			b = append(b, f...)
		}
		return b
	}
	return [][]byte{
		mkFrame(0x81, true, []byte(`[1,"realm1",{}]`)),
		join(mkFrame(0x01, true, []byte("[1,")), mkFrame(0x89, true, []byte("p")), mkFrame(0x80, true, []byte("2]"))),
		join(mkFrame(0x81, true, []byte("[1]\x18[2]\x1e")), closeFrame(1000, "bye")),
		mkFrame(0x82, true, []byte{0, 0, 0, 1, 0xC0}),
		mkFrame(0x81, true, make([]byte, fuzzLimit+1)),
		{0x81, 0xFF, 0, 0, 0, 0, 0x40, 0, 0, 0, 1, 2, 3, 4},
		mkFrame(0x81, false, []byte("[1]")),
	}
}

// FuzzReadFrames feeds arbitrary client bytes to a server Conn (each
// subprotocol flavour picked by the first byte) and checks Read never
// panics or hangs, ends in an error once the input is consumed, and only
// returns messages within the limit, valid UTF-8 for JSON.
func FuzzReadFrames(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(byte(0), s)
		f.Add(byte(1), s)
	}
	f.Fuzz(func(t *testing.T, flavour byte, in []byte) {
		cd := []codec.Codec{codec.JSON, codec.JSON, codec.MsgPack, codec.CBOR}[flavour&3]
		batched := flavour&1 == 1
		ours, peer := net.Pipe()
		c := newConn(ours, connConfig{codec: cd, batched: batched, maxSize: fuzzLimit})
		defer c.Close()
		go func() { // what the Conn sends (pongs, close frames) is discarded
			_, _ = io.Copy(io.Discard, peer)
		}()
		go func() {
			_, _ = peer.Write(in)
			peer.Close()
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for range len(in) + 1 { // every message costs at least one input byte
			m, err := c.Read(ctx)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Read hung: %v", err)
				}
				return
			}
			if len(m) > fuzzLimit {
				t.Fatalf("Read returned %d bytes over the %d-byte limit", len(m), fuzzLimit)
			}
			if !cd.Binary() && !utf8.Valid(m) {
				t.Fatalf("Read returned invalid UTF-8 for %s", c.info.Protocol)
			}
			if len(m) == 0 && batched {
				t.Fatal("Read returned an empty message from a batch")
			}
		}
		t.Fatal("Read kept returning messages after the input ended")
	})
}

// FuzzHandshake runs the upgrade checks on arbitrary header values: no
// panic, and a request they accept has a 16-byte key and an allowed
// subprotocol the client offered.
func FuzzHandshake(f *testing.F) {
	f.Add("Upgrade", "websocket", "13", "dGhlIHNhbXBsZSBub25jZQ==", "wamp.2.json, wamp.2.cbor.batched", "https://a.example.com", "a.example.com")
	f.Add("keep-alive, Upgrade", "WebSocket", "8", "short", "WAMP.2.MSGPACK", "null", "")
	f.Add("upgrade", "websocket", "13", " dGhlIHNhbXBsZSBub25jZQ== ", ",,", "http://[::1", "x")
	f.Fuzz(func(t *testing.T, connection, upgrade, version, key, protocols, origin, host string) {
		r := httptest.NewRequest(http.MethodGet, "/ws", nil)
		r.Host = host
		for k, v := range map[string]string{"Connection": connection, "Upgrade": upgrade, "Sec-WebSocket-Version": version,
			"Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": protocols, "Origin": origin} {
			r.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		if status, err := checkUpgrade(w.Header(), r); err != nil {
			if status < 400 || status > 499 {
				t.Fatalf("refusal with status %d", status)
			}
			return
		}
		if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(key)); err != nil || len(k) != 16 {
			t.Fatalf("accepted key %q", key)
		}
		_ = checkOrigin(r, []string{"*.example.com", "https://b.example.org"})
		token, cd, _, _ := selectSubprotocol(r, []codec.Codec{codec.JSON, codec.CBOR})
		if cd != nil && (cd == codec.MsgPack || !strings.Contains(protocols, token)) {
			t.Fatalf("selected %q (%s) from %q", token, cd.Name(), protocols)
		}
	})
}
