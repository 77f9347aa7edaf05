package codec

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func FuzzDecodeJSON(f *testing.F)    { fuzzDecode(f, JSON) }
func FuzzDecodeMsgPack(f *testing.F) { fuzzDecode(f, MsgPack) }
func FuzzDecodeCBOR(f *testing.F)    { fuzzDecode(f, CBOR) }

// fuzzDecode checks that Decode never panics, fails only with a
// ProtocolError, and that whatever it accepts re-encodes to something it
// accepts again with the same content, in its own and in the other codecs.
func fuzzDecode(f *testing.F, c Codec) {
	for _, s := range vectorSeeds(f, c.Name()) {
		f.Add(s)
	}
	for _, m := range allMessages() {
		if b, err := c.Encode(nil, m); err == nil && len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := c.Decode(data)
		if err != nil {
			if !wamp.IsProtocolError(err) {
				t.Fatalf("non-protocol error %T: %v", err, err)
			}
			return
		}
		b, err := c.Encode(nil, m)
		if err != nil {
			t.Fatalf("Encode of decoded message: %v", err)
		}
		m2, err := c.Decode(b)
		if err != nil {
			t.Fatalf("Decode(Encode(m)): %v\n%q", err, b)
		}
		b2, err := c.Encode(nil, m2)
		if err != nil {
			t.Fatal(err)
		}
		m3, err := c.Decode(b2)
		if err != nil || !sameMessage(t, m2, m3) {
			t.Fatalf("encode/decode not stable: %v", err)
		}
		// Payload and dicts must decode fully, and transcoding may fail
		// only with an error, never a panic.
		if p := wamp.PayloadOf(m); p != nil {
			if _, _, err := p.Values(); err != nil {
				// JSON numbers beyond float64 range pass the syntax
				// check but cannot become values.
				if !wamp.IsProtocolError(err) {
					t.Fatalf("Values: %v", err)
				}
				return
			}
		}
		for _, other := range All() {
			if ob, err := other.Encode(nil, m); err == nil {
				if _, err := other.Decode(ob); err != nil {
					t.Fatalf("%s cannot decode its transcoding: %v", other.Name(), err)
				}
			}
		}
	})
}
