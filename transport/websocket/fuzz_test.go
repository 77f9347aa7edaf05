package websocket

import (
	"context"
	"errors"
	"io"
	"net"
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
