package codec

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestMsgPackUTF8: a MessagePack str must be valid UTF-8 wherever it
// appears, as JSON and CBOR strings must; the error is a ProtocolError
// like theirs. bin is bytes and stays unchecked.
func TestMsgPackUTF8(t *testing.T) {
	t.Parallel()
	bad := []struct{ name, data string }{
		{"uri", "\x94\x30\x01\x80\xa2p\xff"},
		{"uri str8", "\x94\x30\x01\x80\xd9\x02p\xff"},
		{"uri truncated rune", "\x94\x30\x01\x80\xa2p\xc3"},
		{"uri surrogate", "\x94\x30\x01\x80\xa3\xed\xa0\x80"},
		{"uri overlong", "\x94\x30\x01\x80\xa2\xc0\xaf"},
		{"options key", "\x94\x30\x01\x81\xa1\xff\xc0\xa1p"},
		{"options value", "\x94\x30\x01\x81\xa1k\xa1\xff\xa1p"},
		{"nested options value", "\x94\x30\x01\x81\xa1k\x91\xa1\xff\xa1p"},
		{"args", "\x95\x30\x01\x80\xa1p\x91\xa2\xc3\x28"},
		{"kwargs key", "\x96\x30\x01\x80\xa1p\x90\x81\xa1\xfe\x01"},
		{"kwargs value", "\x96\x30\x01\x80\xa1p\x90\x81\xa1k\xa1\xfe"},
		{"challenge authmethod", "\x93\x04\xa1\xff\x80"},
		{"hello realm", "\x93\x01\xa1\x80\x80"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkProtocolError(t, MsgPack, []byte(tt.data), "invalid UTF-8")
		})
	}
	for _, tt := range bad {
		// The same bytes through DecodeList/DecodeDict (raw payloads).
		data := []byte(tt.data)
		if _, err := MsgPack.DecodeList(data); err == nil || !wamp.IsProtocolError(err) {
			t.Errorf("%s: DecodeList error %v, want a ProtocolError", tt.name, err)
		}
	}

	good := []struct {
		name, data string
		ok         func(wamp.Message) bool
	}{
		{"utf-8 uri", "\x94\x30\x01\x80\xa9com.\xc3\xa9t\xc3\xa9", func(m wamp.Message) bool { return m.(*wamp.Call).Procedure == "com.été" }},
		{"bin with invalid bytes", "\x95\x30\x01\x80\xa1p\x91\xc4\x01\xff", func(m wamp.Message) bool {
			args, _, err := m.(*wamp.Call).Payload.Values()
			b, _ := args[0].([]byte)
			return err == nil && len(b) == 1 && b[0] == 0xff
		}},
	}
	for _, tt := range good {
		m, err := MsgPack.Decode([]byte(tt.data))
		if err != nil || !tt.ok(m) {
			t.Errorf("%s: Decode = %#v, %v", tt.name, m, err)
		}
	}
}

// TestMsgPackEncodeInvalidUTF8: a Go string with invalid UTF-8 is written
// with U+FFFD in its place (as JSON and CBOR do), so the output is
// something the decoder accepts.
func TestMsgPackEncodeInvalidUTF8(t *testing.T) {
	t.Parallel()
	m := &wamp.Call{Request: 1, Procedure: "p\xff", Payload: wamp.Payload{Args: wamp.List{"a\xc3"}, Kwargs: wamp.Dict{"k\xfe": "v"}}}
	b, err := MsgPack.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := MsgPack.Decode(b)
	if err != nil {
		t.Fatalf("Decode(Encode(m)): %v", err)
	}
	c := got.(*wamp.Call)
	args, kwargs, err := c.Payload.Values()
	if err != nil {
		t.Fatal(err)
	}
	if c.Procedure != "p\uFFFD" || args[0] != "a\uFFFD" || kwargs["k\uFFFD"] != "v" {
		t.Fatalf("decoded %q %v %v", c.Procedure, args, kwargs)
	}
}
