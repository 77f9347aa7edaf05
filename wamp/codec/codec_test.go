package codec

import (
	"bytes"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// sampleArgs exercises every value kind the codecs normalize.
func sampleArgs() (wamp.List, wamp.Dict) {
	args := wamp.List{
		"hello", int64(-1), int64(-129), int64(-40000), int64(math.MinInt64), int64(300), int64(70000),
		uint64(math.MaxUint64), 1.5, -0.25, 3.0, 1e300, true, false, nil, []byte{0, 1, 2, 0xff},
		wamp.List{}, wamp.Dict{}, "", "ünïcode ✓", "\x00not base64!",
	}
	kwargs := wamp.Dict{
		"nested": wamp.Dict{"a": wamp.List{int64(1), wamp.Dict{"b": []byte("bin")}}, "c": nil},
		"long":   strings.Repeat("x", 70000),
		"blob":   bytes.Repeat([]byte{7}, 300),
		"neg":    int64(-7),
		"f":      -2.5e-10,
	}
	return args, kwargs
}

// allMessages returns one message of every type, with payloads where the
// type has one.
func allMessages() []wamp.Message {
	args, kwargs := sampleArgs()
	pl := wamp.Payload{Args: args, Kwargs: kwargs}
	d := wamp.Dict{"k": "v", "n": int64(3)}
	return []wamp.Message{
		&wamp.Hello{Realm: "realm1", Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}},
		&wamp.Hello{Details: wamp.Dict{"roles": wamp.Dict{"caller": wamp.Dict{}}}}, // sent as null
		&wamp.Welcome{Session: wamp.MaxID, Details: d},
		&wamp.Abort{Details: d, Reason: wamp.ErrNoSuchRealm, Payload: pl},
		&wamp.Abort{Details: wamp.Dict{}, Reason: wamp.ErrNoSuchRealm},
		&wamp.Challenge{AuthMethod: "wampcra", Extra: d},
		&wamp.Authenticate{Signature: "sig", Extra: wamp.Dict{}},
		&wamp.Goodbye{Details: wamp.Dict{}, Reason: wamp.CloseNormal},
		&wamp.Error{RequestType: wamp.TypeCall, Request: 5, Details: d, Error: "com.err", Payload: pl},
		&wamp.Error{RequestType: wamp.TypeInvocation, Request: 5, Details: d, Error: "com.err", Payload: wamp.Payload{Args: args}},
		&wamp.Publish{Request: 1, Options: d, Topic: "com.t", Payload: wamp.Payload{Kwargs: kwargs}},
		&wamp.Published{Request: 1, Publication: 1 << 40},
		&wamp.Subscribe{Request: 2, Options: wamp.Dict{"match": "prefix"}, Topic: "com."},
		&wamp.Subscribed{Request: 2, Subscription: 3},
		&wamp.Unsubscribe{Request: 4, Subscription: 3},
		&wamp.Unsubscribed{Request: 4},
		&wamp.Unsubscribed{Request: 0, Details: wamp.Dict{"subscription": int64(3), "reason": "gone"}},
		&wamp.Event{Subscription: 3, Publication: 9, Details: d, Payload: pl},
		&wamp.Call{Request: 7, Options: wamp.Dict{}, Procedure: "com.p", Payload: pl},
		&wamp.Call{Request: 8, Options: wamp.Dict{}, Procedure: "com.p"},
		&wamp.Cancel{Request: 7, Options: wamp.Dict{"mode": "kill"}},
		&wamp.Result{Request: 7, Details: wamp.Dict{}, Payload: pl},
		&wamp.Register{Request: 9, Options: wamp.Dict{}, Procedure: "com.p"},
		&wamp.Registered{Request: 9, Registration: 10},
		&wamp.Unregister{Request: 11, Registration: 10},
		&wamp.Unregistered{Request: 11},
		&wamp.Unregistered{Request: 0, Details: wamp.Dict{"registration": int64(10)}},
		&wamp.Invocation{Request: 12, Registration: 10, Details: d, Payload: pl},
		&wamp.Interrupt{Request: 12, Options: wamp.Dict{}},
		&wamp.Yield{Request: 12, Options: wamp.Dict{}, Payload: pl},
	}
}

func TestRoundTripAllTypes(t *testing.T) {
	t.Parallel()
	for _, c := range All() {
		for _, m := range allMessages() {
			t.Run(c.Name()+"/"+m.MessageType().String(), func(t *testing.T) {
				t.Parallel()
				b, err := c.Encode([]byte("prefix"), m)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				if !bytes.HasPrefix(b, []byte("prefix")) {
					t.Fatal("Encode did not append to dst")
				}
				got, err := c.Decode(b[len("prefix"):])
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if !sameMessage(t, m, got) {
					t.Fatalf("round trip mismatch:\nsent %s\ngot  %s", describe(t, m), describe(t, got))
				}
				// A decoded payload stays raw and belongs to this codec.
				if p := wamp.PayloadOf(got); p != nil && !wamp.PayloadOf(m).Empty() {
					if p.Raw == nil || p.Raw.Codec.SerializerID() != c.SerializerID() {
						t.Fatalf("payload not kept raw: %+v", p)
					}
				}
				// Re-encoding a decoded message copies the raw payload:
				// byte-identical output.
				b2, err := c.Encode(nil, got)
				if err != nil {
					t.Fatal(err)
				}
				got2, err := c.Decode(b2)
				if err != nil || !sameMessage(t, got, got2) {
					t.Fatalf("second round trip: %v", err)
				}
			})
		}
	}
}

func TestTranscode(t *testing.T) {
	t.Parallel()
	args, kwargs := sampleArgs()
	for _, from := range All() {
		for _, to := range All() {
			t.Run(from.Name()+"->"+to.Name(), func(t *testing.T) {
				t.Parallel()
				src, err := from.Encode(nil, &wamp.Call{Request: 1, Procedure: "com.p", Payload: wamp.Payload{Args: args, Kwargs: kwargs}})
				if err != nil {
					t.Fatal(err)
				}
				m, err := from.Decode(src)
				if err != nil {
					t.Fatal(err)
				}
				out, err := to.Encode(nil, m)
				if err != nil {
					t.Fatal(err)
				}
				if to == JSON && !bytes.Contains(out, []byte(`"\u0000AAEC/w=="`)) {
					t.Errorf("JSON output lacks binary convention: %.200s", out)
				}
				got, err := to.Decode(out)
				if err != nil {
					t.Fatal(err)
				}
				a, k, err := wamp.PayloadOf(got).Values()
				if err != nil {
					t.Fatal(err)
				}
				// "\x00not base64!" survives JSON as a string: only a NUL
				// followed by valid Base64 is taken for bytes.
				if !equalValues(a, args) || !equalValues(k, kwargs) {
					t.Fatalf("values changed:\n got %#v\nwant %#v", a, args)
				}
			})
		}
	}
}

// TestTranscodeFromLibraryMsgPack decodes a CALL produced by an independent
// MessagePack encoder, so integer widths and float32 are whatever it picks.
func TestTranscodeFromLibraryMsgPack(t *testing.T) {
	t.Parallel()
	src, err := msgpack.Marshal([]any{48, uint32(77), map[string]any{}, "com.p",
		[]any{int8(-5), int16(-300), uint16(60000), float32(0.5), []byte{1, 2, 3}, nil, map[string]any{"x": []any{"y"}}},
		map[string]any{"k": int64(-1 << 40)}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := MsgPack.Decode(src)
	if err != nil {
		t.Fatal(err)
	}
	js, err := JSON.Encode(nil, m)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[48,77,{},"com.p",[-5,-300,60000,0.5,"\u0000AQID",null,{"x":["y"]}],{"k":-1099511627776}]`
	if string(js) != want {
		t.Fatalf("JSON = %s\nwant  %s", js, want)
	}
	back, err := JSON.Decode(js)
	if err != nil {
		t.Fatal(err)
	}
	a, k, _ := wamp.PayloadOf(back).Values()
	if !equalValues(a, wamp.List{int64(-5), int64(-300), int64(60000), 0.5, []byte{1, 2, 3}, nil, wamp.Dict{"x": wamp.List{"y"}}}) ||
		!equalValues(k, wamp.Dict{"k": int64(-1 << 40)}) {
		t.Fatalf("got %#v %#v", a, k)
	}
}

func TestEncodePayloadShapes(t *testing.T) {
	t.Parallel()
	rawJSON := func(args, kwargs string) *wamp.RawPayload {
		rp := &wamp.RawPayload{Codec: JSON}
		if args != "" {
			rp.Args = []byte(args)
		}
		if kwargs != "" {
			rp.Kwargs = []byte(kwargs)
		}
		return rp
	}
	tests := []struct {
		name string
		m    wamp.Message
		want string
	}{
		{"no payload", &wamp.Call{Request: 1, Procedure: "p"}, `[48,1,{},"p"]`},
		{"empty args", &wamp.Call{Request: 1, Procedure: "p", Payload: wamp.Payload{Args: wamp.List{}}}, `[48,1,{},"p"]`},
		{"empty kwargs dropped", &wamp.Call{Request: 1, Procedure: "p", Payload: wamp.Payload{Args: wamp.List{int64(1)}, Kwargs: wamp.Dict{}}}, `[48,1,{},"p",[1]]`},
		{"kwargs only", &wamp.Call{Request: 1, Procedure: "p", Payload: wamp.Payload{Kwargs: wamp.Dict{"a": true}}}, `[48,1,{},"p",[],{"a":true}]`},
		{"raw args", &wamp.Result{Request: 1, Payload: wamp.Payload{Raw: rawJSON(`[ 1 ]`, "")}}, `[50,1,{},[ 1 ]]`},
		{"raw kwargs only", &wamp.Result{Request: 1, Payload: wamp.Payload{Raw: rawJSON("", `{"a":1}`)}}, `[50,1,{},[],{"a":1}]`},
		{"raw ignores Args", &wamp.Result{Request: 1, Payload: wamp.Payload{Args: wamp.List{int64(9)}, Raw: rawJSON("", "")}}, `[50,1,{}]`},
		{"unsubscribed short", &wamp.Unsubscribed{Request: 3}, `[35,3]`},
		{"unsubscribed revocation", &wamp.Unsubscribed{Details: wamp.Dict{"reason": "x"}}, `[35,0,{"reason":"x"}]`},
		{"unregistered short", &wamp.Unregistered{Request: 3}, `[67,3]`},
		{"nil details", &wamp.Welcome{Session: 1}, `[2,1,{}]`},
		{"escapes", &wamp.Goodbye{Reason: "a\"b\\c\n\x01\u2028\xff"}, `[6,{},"a\"b\\c\n\u0001\u2028\ufffd"]`},
		{"floats", &wamp.Yield{Request: 1, Payload: wamp.Payload{Args: wamp.List{1.0, 1e21, 1e-7, -0.5, float32(2)}}}, `[70,1,{},[1.0,1e+21,1e-07,-0.5,2.0]]`},
		{"typed values", &wamp.Yield{Request: 1, Payload: wamp.Payload{Args: wamp.List{[]string{"a"}, map[string]int{"n": 1}, wamp.ID(5), wamp.URI("u"), int8(-1), uint16(2), (*int)(nil)}}}, `[70,1,{},[["a"],{"n":1},5,"u",-1,2,null]]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := JSON.Encode(nil, tt.m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	self := wamp.Dict{}
	self["me"] = self
	deep := any(int64(1))
	for range maxDepth + 1 {
		deep = wamp.List{deep}
	}
	type weird struct{ X int }
	tests := []struct {
		name string
		m    wamp.Message
		want string
	}{
		{"nil", nil, "nil message"},
		{"nil pointer", (*wamp.Call)(nil), "nil message"},
		{"self reference", &wamp.Call{Request: 1, Options: self}, "nested deeper"},
		{"too deep", &wamp.Call{Request: 1, Payload: wamp.Payload{Args: wamp.List{deep}}}, "nested deeper"},
		{"struct", &wamp.Call{Request: 1, Payload: wamp.Payload{Args: wamp.List{weird{}}}}, "cannot encode value of type codec.weird"},
		{"int keys", &wamp.Call{Request: 1, Payload: wamp.Payload{Args: wamp.List{map[int]int{1: 1}}}}, "keys"},
		{"raw without codec", &wamp.Call{Request: 1, Payload: wamp.Payload{Raw: &wamp.RawPayload{Args: []byte{0x90}}}}, "without a codec"},
		{"bad raw from other codec", &wamp.Call{Request: 1, Payload: wamp.Payload{Raw: &wamp.RawPayload{Codec: fakeCodec{}, Args: []byte("x")}}}, "transcoding"},
	}
	for _, c := range All() {
		for _, tt := range tests {
			t.Run(c.Name()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				out, err := c.Encode([]byte("keep"), tt.m)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Encode err = %v, want %q", err, tt.want)
				}
				if string(out) != "keep" {
					t.Fatalf("dst changed on error: %q", out)
				}
			})
		}
	}
	t.Run("json NaN", func(t *testing.T) {
		t.Parallel()
		if _, err := JSON.EncodeValue(nil, math.NaN()); err == nil {
			t.Fatal("NaN encoded as JSON")
		}
		if _, err := JSON.EncodeValue(nil, math.Inf(-1)); err == nil {
			t.Fatal("-Inf encoded as JSON")
		}
	})
}

// fakeCodec is a ValueCodec of an unknown serializer whose data never decodes.
type fakeCodec struct{}

func (fakeCodec) SerializerID() uint8 { return 99 }
func (fakeCodec) DecodeList([]byte) (wamp.List, error) {
	return nil, wamp.Protocolf("fake: broken")
}
func (fakeCodec) DecodeDict([]byte) (wamp.Dict, error) {
	return nil, wamp.Protocolf("fake: broken")
}

// malformed cases built as values and encoded by each codec.
var malformedValues = []struct {
	name string
	v    any
	want string
}{
	{"dict", wamp.Dict{"a": int64(1)}, "message must be a list, got dict"},
	{"string", "x", "message must be a list, got string"},
	{"empty", wamp.List{}, "empty message list"},
	{"type string", wamp.List{"48"}, "element 0 (message type) must be an integer, got string"},
	{"unknown type", wamp.List{int64(7), int64(1)}, "unknown message type 7"},
	{"negative type", wamp.List{int64(-48)}, "unknown message type -48"},
	{"huge type", wamp.List{uint64(1<<16 + 48)}, "unknown message type 65584"},
	{"call short", wamp.List{int64(48), int64(1), wamp.Dict{}}, "CALL: got 3 elements, want 4 to 6"},
	{"call long", wamp.List{int64(48), int64(1), wamp.Dict{}, "p", wamp.List{}, wamp.Dict{}, nil}, "CALL: got 7 elements, want 4 to 6"},
	{"hello long", wamp.List{int64(1), "r", wamp.Dict{}, nil}, "HELLO: got 4 elements, want 3"},
	{"unsubscribed long", wamp.List{int64(35), int64(1), wamp.Dict{}, nil}, "UNSUBSCRIBED: got 4 elements, want 2 to 3"},
	{"procedure int", wamp.List{int64(48), int64(1), wamp.Dict{}, int64(3)}, "CALL: element 3 (Procedure) must be a string, got int"},
	{"request string", wamp.List{int64(48), "1", wamp.Dict{}, "p"}, "CALL: element 1 (Request) must be an id, got string"},
	{"request zero", wamp.List{int64(48), int64(0), wamp.Dict{}, "p"}, "CALL: element 1 (Request) must be an id in [1, 2^53], got 0"},
	{"request too big", wamp.List{int64(48), int64(1<<53 + 1), wamp.Dict{}, "p"}, "must be an id in [1, 2^53], got 9007199254740993"},
	{"request negative", wamp.List{int64(48), int64(-1), wamp.Dict{}, "p"}, "got -1"},
	{"request bool", wamp.List{int64(48), true, wamp.Dict{}, "p"}, "must be an id, got bool"},
	{"options list", wamp.List{int64(48), int64(1), wamp.List{}, "p"}, "CALL: element 2 (Options) must be a dict, got list"},
	{"options null", wamp.List{int64(48), int64(1), nil, "p"}, "must be a dict, got null"},
	{"args dict", wamp.List{int64(48), int64(1), wamp.Dict{}, "p", wamp.Dict{}}, "CALL: element 4 (Arguments) must be a list, got dict"},
	{"args string", wamp.List{int64(36), int64(1), int64(2), wamp.Dict{}, "payload"}, "EVENT: element 4 (Arguments) must be a list, got string"},
	{"kwargs list", wamp.List{int64(50), int64(1), wamp.Dict{}, wamp.List{}, wamp.List{}}, "RESULT: element 4 (ArgumentsKw) must be a dict, got list"},
	{"error request type", wamp.List{int64(8), int64(49), int64(1), wamp.Dict{}, "e"}, "ERROR: element 1 (RequestType) must be a request message type, got 49"},
	{"error request type string", wamp.List{int64(8), "x", int64(1), wamp.Dict{}, "e"}, "ERROR: element 1 (RequestType) must be an integer, got string"},
	{"unsubscribed zero short", wamp.List{int64(35), int64(0)}, "UNSUBSCRIBED: element 1 (Request) must be an id in [1, 2^53], got 0"},
	{"unregistered details list", wamp.List{int64(67), int64(0), wamp.List{}}, "UNREGISTERED: element 2 (Details) must be a dict, got list"},
	{"session zero", wamp.List{int64(2), int64(0), wamp.Dict{}}, "WELCOME: element 1 (Session) must be an id in [1, 2^53], got 0"},
	{"published float", wamp.List{int64(17), int64(1), 2.5}, "PUBLISHED: element 2 (Publication)"},
	{"realm bytes", wamp.List{int64(1), []byte("r"), wamp.Dict{}}, "HELLO: element 1 (Realm) must be a string, got bytes"},
	{"challenge extra", wamp.List{int64(4), "cra", "x"}, "CHALLENGE: element 2 (Extra) must be a dict, got string"},
	{"deep args", wamp.List{int64(48), int64(1), wamp.Dict{}, "p", nestList(maxDepth + 1)}, "nesting deeper than 64 levels"},
	{"deep options", wamp.List{int64(48), int64(1), wamp.Dict{"a": nestList(maxDepth)}, "p"}, "nesting deeper than 64 levels"},
}

func nestList(n int) any {
	var v any = int64(1)
	for range n - 1 {
		v = wamp.List{v}
	}
	return wamp.List{v}
}

// encodeUnchecked encodes v bypassing the encoder's depth limit, so that
// malformed-depth inputs can be built.
func encodeUnchecked(t *testing.T, c Codec, v any) []byte {
	t.Helper()
	var b []byte
	var err error
	switch c := c.(type) {
	case jsonCodec:
		b, err = c.appendValue(nil, v, -1000)
	case msgpackCodec:
		b, err = c.appendValue(nil, v, -1000)
	case cborCodec:
		b, err = c.appendValue(nil, v, -1000)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	for _, c := range All() {
		for _, tt := range malformedValues {
			t.Run(c.Name()+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				if c == JSON && tt.name == "realm bytes" {
					// JSON bytes are a string starting with NUL; in the
					// envelope it stays a string (see jsonWire.str).
					t.Skip("not distinguishable in JSON")
				}
				data := encodeUnchecked(t, c, tt.v)
				checkProtocolError(t, c, data, tt.want)
			})
		}
	}
}

func checkProtocolError(t *testing.T, c Codec, data []byte, want string) {
	t.Helper()
	m, err := c.Decode(data)
	if err == nil {
		t.Fatalf("Decode(%q) = %#v, want error containing %q", data, m, want)
	}
	if !wamp.IsProtocolError(err) {
		t.Fatalf("Decode(%q) error %T %v is not a ProtocolError", data, err, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Decode(%q) error %q, want it to contain %q", data, err, want)
	}
}

func TestDecodeMalformedBytes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		codec Codec
		name  string
		data  string
		want  string
	}{
		{JSON, "garbage", "\xff\xfe", "json: unexpected character"},
		{JSON, "nothing", "  ", "json: empty input"},
		{JSON, "truncated", `[48,1,{},"p"`, "unexpected end of input"},
		{JSON, "truncated string", `[48,1,{},"p`, "unexpected end of input in string"},
		{JSON, "trailing", `[48,1,{},"p"] x`, "trailing data"},
		{JSON, "two messages", `[35,1][35,1]`, "trailing data"},
		{JSON, "non-string key", `[48,1,{1:2},"p"]`, "expected string key"},
		{JSON, "bad literal", `[48,1,{},"p",[tru]]`, "invalid literal"},
		{JSON, "leading zero", `[48,01,{},"p"]`, "leading zero"},
		{JSON, "bad number", `[48,1.,{},"p"]`, "invalid number"},
		{JSON, "missing comma", `[48 1,{},"p"]`, "expected ',' or ']'"},
		{JSON, "control char", "[48,1,{},\"p\x01\"]", "control character"},
		{JSON, "invalid utf8", "[48,1,{},\"p\xc3\"]", "invalid UTF-8"},
		{JSON, "bad escape", `[48,1,{},"\q"]`, "invalid escape"},
		{JSON, "bad unicode escape", `[48,1,{},"\u12"]`, "invalid \\u escape"},
		{JSON, "float id", `[48,1.5,{},"p"]`, "must be an id, got float"},
		{JSON, "huge number in options", `[48,1,{"a":1e999},"p"]`, "number out of range"},
		{JSON, "deep garbage", strings.Repeat("[", 100000), "nesting deeper"},
		{MsgPack, "garbage", "\xc1", "invalid byte 0xc1"},
		{MsgPack, "nothing", "", "msgpack: empty input"},
		{MsgPack, "truncated", "\x94\x30\x01\x80", "unexpected end of input"},
		{MsgPack, "truncated str", "\x94\x30\x01\x80\xa5ab", "unexpected end of input"},
		{MsgPack, "huge array count", "\xdd\xff\xff\xff\xff", "unexpected end of input"},
		{MsgPack, "huge map count", "\x94\x30\x01\xdf\xff\xff\xff\xff", "unexpected end of input"},
		{MsgPack, "trailing", "\x92\x23\x01\x00", "trailing data"},
		{MsgPack, "non-string key", "\x94\x30\x01\x81\x01\x02\xa1p", "dict key must be a string, got int"},
		{MsgPack, "nested non-string key", "\x95\x30\x01\x80\xa1p\x91\x81\xc0\x01", "dict key must be a string, got null"},
		{MsgPack, "ext", "\x94\x30\x01\x80\xd4\x01\x00", "ext type 0xd4 not supported"},
		{MsgPack, "timestamp", "\x95\x30\x01\x80\xa1p\x91\xd6\xff\x00\x00\x00\x01", "ext type 0xd6 not supported"},
		{MsgPack, "float id", "\x94\x30\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00\x80\xa1p", "must be an id, got float"},
		{MsgPack, "deep garbage", strings.Repeat("\x91", 100000), "nesting deeper"},
		{CBOR, "garbage", "\xff", "unexpected break"},
		{CBOR, "nothing", "", "cbor: empty input"},
		{CBOR, "truncated", "\x84\x18\x30\x01\xa0", "unexpected end of input"},
		{CBOR, "truncated head", "\x84\x18", "unexpected end of input"},
		{CBOR, "huge array count", "\x9b\xff\xff\xff\xff\xff\xff\xff\xff", "unexpected end of input"},
		{CBOR, "trailing", "\x82\x18\x23\x01\x00", "trailing data"},
		{CBOR, "indefinite array", "\x9f\x18\x23\x01\xff", "indefinite-length item not supported"},
		{CBOR, "indefinite string", "\x84\x18\x30\x01\xa0\x7f\xff", "indefinite-length"},
		{CBOR, "non-string key", "\x84\x18\x30\x01\xa1\x01\x02\x61p", "dict key must be a string, got int"},
		{CBOR, "tag", "\x84\x18\x30\x01\xa0\xc1\x01", "tags not supported"},
		{CBOR, "reserved ai", "\x84\x18\x30\x1c\xa0\x61p", "reserved additional information"},
		{CBOR, "simple value", "\x85\x18\x30\x01\xa0\x61p\xe0", "simple value 0 not supported"},
		{CBOR, "simple value in args", "\x85\x18\x30\x01\xa0\x61p\x81\xe0", "simple value 0 not supported"},
		{CBOR, "invalid utf8", "\x84\x18\x30\x01\xa0\x61\xff", "invalid UTF-8"},
		{CBOR, "negative out of range", "\x85\x18\x30\x01\xa0\x61p\x81\x3b\xff\xff\xff\xff\xff\xff\xff\xff", "negative integer out of range"},
		{CBOR, "float id", "\x84\x18\x30\xf9\x3c\x00\xa0\x61p", "must be an id, got float"},
		{CBOR, "deep garbage", strings.Repeat("\x81", 100000), "nesting deeper"},
	}
	for _, tt := range tests {
		t.Run(tt.codec.Name()+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			checkProtocolError(t, tt.codec, []byte(tt.data), tt.want)
		})
	}
	// Every proper prefix of a valid message is rejected cleanly.
	for _, c := range All() {
		t.Run(c.Name()+"/prefixes", func(t *testing.T) {
			t.Parallel()
			for _, m := range allMessages() {
				b, err := c.Encode(nil, m)
				if err != nil {
					t.Fatal(err)
				}
				step := 1
				if len(b) > 2000 {
					step = 97 // keep the quadratic scan fast on big payloads
				}
				for n := 0; n < len(b); n += step {
					if _, err := c.Decode(b[:n]); !wamp.IsProtocolError(err) {
						t.Fatalf("%v prefix %d/%d: err = %v", m.MessageType(), n, len(b), err)
					}
				}
			}
		})
	}
}

func TestDecodeLenient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		codec Codec
		name  string
		data  string
		check func(wamp.Message) bool
	}{
		{JSON, "integral float id", `[48,7.0,{},"p"]`, func(m wamp.Message) bool { return m.(*wamp.Call).Request == 7 }},
		{JSON, "exponent id", `[48,1e3,{},"p"]`, func(m wamp.Message) bool { return m.(*wamp.Call).Request == 1000 }},
		{JSON, "max id", `[48,9007199254740992,{},"p"]`, func(m wamp.Message) bool { return m.(*wamp.Call).Request == wamp.MaxID }},
		{JSON, "whitespace", " \n[ 48 ,\t1 , { } , \"p\" , [ ] , { } ] \r\n", func(m wamp.Message) bool {
			p := m.(*wamp.Call).Payload
			return string(p.Raw.Args) == "[ ]" && string(p.Raw.Kwargs) == "{ }"
		}},
		{JSON, "escaped uri", `[48,1,{},"a\u00e9\ud83d\ude00\/"]`, func(m wamp.Message) bool { return m.(*wamp.Call).Procedure == "aé😀/" }},
		{JSON, "lone surrogate", `[48,1,{},"\ud83d"]`, func(m wamp.Message) bool { return m.(*wamp.Call).Procedure == "\ufffd" }},
		{JSON, "unsubscribed revocation", `[35,0,{"reason":"r"}]`, func(m wamp.Message) bool {
			u := m.(*wamp.Unsubscribed)
			return u.Request == 0 && u.Details["reason"] == "r"
		}},
		{JSON, "unregistered long with id", `[67,5,{}]`, func(m wamp.Message) bool { return m.(*wamp.Unregistered).Request == 5 }},
		{MsgPack, "int8 id", "\x94\x30\xd0\x05\x80\xa1p", func(m wamp.Message) bool { return m.(*wamp.Call).Request == 5 }},
		{MsgPack, "int64 id", "\x94\x30\xd3\x00\x00\x00\x00\x00\x00\x00\x05\x80\xa1p", func(m wamp.Message) bool { return m.(*wamp.Call).Request == 5 }},
		{MsgPack, "uint64 type", "\x94\xcf\x00\x00\x00\x00\x00\x00\x00\x30\x05\x80\xa1p", func(m wamp.Message) bool { return m.(*wamp.Call).Request == 5 }},
		{MsgPack, "str8 uri and map16", "\x94\x30\x05\xde\x00\x00\xd9\x01p", func(m wamp.Message) bool { return m.(*wamp.Call).Procedure == "p" }},
		{CBOR, "uint64 id", "\x84\x18\x30\x1b\x00\x00\x00\x00\x00\x00\x00\x05\xa0\x61p", func(m wamp.Message) bool { return m.(*wamp.Call).Request == 5 }},
		// A null/undefined option is an absent option (JS clients send them).
		{CBOR, "undefined in options", "\x84\x18\x30\x01\xa2\x61a\xf7\x61b\x01\x61p", func(m wamp.Message) bool {
			_, ok := m.(*wamp.Call).Options["a"]
			return !ok && len(m.(*wamp.Call).Options) == 1
		}},
		{JSON, "null in options", `[48,1,{"match":null,"b":1},"p"]`, func(m wamp.Message) bool {
			_, ok := m.(*wamp.Call).Options["match"]
			return !ok && len(m.(*wamp.Call).Options) == 1
		}},
		// wampy.js (msgpackr) sends undefined as fixext1 type 0.
		{MsgPack, "undefined ext in options", "\x94\x20\x01\x82\xa5match\xd4\x00\x00\xa1b\x01\xa1p", func(m wamp.Message) bool {
			_, ok := m.(*wamp.Subscribe).Options["match"]
			return !ok && len(m.(*wamp.Subscribe).Options) == 1
		}},
		// Autobahn sends a null realm when the app names none; the router chooses.
		{JSON, "null realm", `[1,null,{"roles":{}}]`, func(m wamp.Message) bool { return m.(*wamp.Hello).Realm == "" }},
		{MsgPack, "null realm", "\x93\x01\xc0\x80", func(m wamp.Message) bool { return m.(*wamp.Hello).Realm == "" }},
		{CBOR, "null realm", "\x83\x01\xf6\xa0", func(m wamp.Message) bool { return m.(*wamp.Hello).Realm == "" }},
		// JS CBOR encoders send a Uint8Array as tag 64 around a byte string.
		{CBOR, "tag 64 byte array", "\x85\x18\x30\x01\xa0\x61p\x81\xd8\x40\x43\x01\x02\x03", func(m wamp.Message) bool {
			args, _, err := m.(*wamp.Call).Values()
			b, ok := args[0].([]byte)
			return err == nil && ok && string(b) == "\x01\x02\x03"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.codec.Name()+"/"+tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := tt.codec.Decode([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(m) {
				t.Fatalf("unexpected result %#v", m)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	t.Parallel()
	t.Run("json numbers and binary", func(t *testing.T) {
		t.Parallel()
		l, err := JSON.DecodeList([]byte(`[1,-1,9223372036854775807,9223372036854775808,18446744073709551616,1.5,-0,1E2,"\u0000AQID","\u0000!!","x",true,null,{"k":[]}]`))
		if err != nil {
			t.Fatal(err)
		}
		want := wamp.List{int64(1), int64(-1), int64(math.MaxInt64), uint64(1 << 63), 18446744073709551616.0, 1.5, int64(0), 100.0,
			[]byte{1, 2, 3}, "\x00!!", "x", true, nil, wamp.Dict{"k": wamp.List{}}}
		if len(l) != len(want) {
			t.Fatalf("got %d values", len(l))
		}
		for i := range want {
			if !equalValues(l[i], want[i]) {
				t.Errorf("[%d] = %#v (%T), want %#v (%T)", i, l[i], l[i], want[i], want[i])
			}
		}
	})
	t.Run("cbor half floats", func(t *testing.T) {
		t.Parallel()
		// 1.0, -2.0, 65504, smallest subnormal, +Inf, NaN as half floats.
		l, err := CBOR.DecodeList([]byte("\x86\xf9\x3c\x00\xf9\xc0\x00\xf9\x7b\xff\xf9\x00\x01\xf9\x7c\x00\xf9\x7e\x00"))
		if err != nil {
			t.Fatal(err)
		}
		want := wamp.List{1.0, -2.0, 65504.0, math.Ldexp(1, -24), math.Inf(1), math.NaN()}
		if !equalValues(l, want) {
			t.Fatalf("got %#v", l)
		}
	})
	for _, c := range All() {
		t.Run(c.Name()+"/wrong kind", func(t *testing.T) {
			t.Parallel()
			l, _ := c.EncodeValue(nil, wamp.List{})
			d, _ := c.EncodeValue(nil, wamp.Dict{})
			if _, err := c.DecodeDict(l); !wamp.IsProtocolError(err) {
				t.Errorf("DecodeDict(list) err = %v", err)
			}
			if _, err := c.DecodeList(d); !wamp.IsProtocolError(err) {
				t.Errorf("DecodeList(dict) err = %v", err)
			}
			if _, err := c.DecodeList(append(l, l...)); !wamp.IsProtocolError(err) {
				t.Errorf("DecodeList(two lists) err = %v", err)
			}
		})
	}
}

// Oracles: the third-party MessagePack and CBOR libraries must agree with
// our encoders and decoders on every sample value.

func libMsgpackDecode(b []byte) (any, error) {
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	dec.SetMapDecoder(func(d *msgpack.Decoder) (any, error) { return d.DecodeMap() })
	return dec.DecodeInterface()
}

var reflectTypeOfDict = reflect.TypeOf(wamp.Dict(nil))

var libCBOR = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DefaultMapType:  reflectTypeOfDict,
		MaxNestedLevels: 256,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

func TestLibraryOracles(t *testing.T) {
	t.Parallel()
	args, kwargs := sampleArgs()
	values := []any{wamp.List(args), wamp.Dict(kwargs), nestList(maxDepth)}
	for i, v := range values {
		t.Run("msgpack/"+string(rune('a'+i)), func(t *testing.T) {
			t.Parallel()
			ours, err := MsgPack.EncodeValue(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			got, err := libMsgpackDecode(ours)
			if err != nil {
				t.Fatalf("library cannot decode our msgpack: %v", err)
			}
			if !equalValues(got, v) {
				t.Fatalf("library decoded a different value (%.300v)", got)
			}
			theirs, err := msgpack.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			back, err := mpDecodeValue(theirs)
			if err != nil || !equalValues(back, v) {
				t.Fatalf("we decoded library msgpack differently (%.300v), %v", back, err)
			}
		})
		t.Run("cbor/"+string(rune('a'+i)), func(t *testing.T) {
			t.Parallel()
			ours, err := CBOR.EncodeValue(nil, v)
			if err != nil {
				t.Fatal(err)
			}
			var got any
			if err := libCBOR.Unmarshal(ours, &got); err != nil {
				t.Fatalf("library cannot decode our cbor: %v", err)
			}
			if !equalValues(got, v) {
				t.Fatalf("library decoded a different value (%.300v)", got)
			}
			theirs, err := cbor.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			back, err := cborDecodeValue(theirs)
			if err != nil || !equalValues(back, v) {
				t.Fatalf("we decoded library cbor differently (%.300v), %v", back, err)
			}
		})
	}
}
