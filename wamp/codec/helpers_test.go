package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"testing"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stdJSON decodes JSON with encoding/json (the independent oracle) and
// normalizes numbers to int64/uint64/float64.
func stdJSON(t testing.TB, s string) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("oracle decode %q: %v", s, err)
	}
	return canon(v)
}

// canon brings a value into the one form the codecs decode to, so values
// from different sources compare with reflect.DeepEqual.
func canon(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return n
		}
		var u uint64
		if _, err := fmt.Sscan(string(v), &u); err == nil {
			return u
		}
		f, _ := v.Float64()
		return f
	case []any:
		out := make(wamp.List, len(v))
		for i, e := range v {
			out[i] = canon(e)
		}
		return out
	case map[string]any:
		out := make(wamp.Dict, len(v))
		for k, e := range v {
			out[k] = canon(e)
		}
		return out
	case map[any]any:
		out := make(wamp.Dict, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = canon(e)
		}
		return out
	case int:
		return int64(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint:
		return canon(uint64(v))
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v)
		}
		return v
	case float32:
		return float64(v)
	}
	return v
}

// equalValues compares normalized values; NaN equals NaN.
func equalValues(a, b any) bool {
	a, b = canon(a), canon(b)
	if fa, ok := a.(float64); ok {
		if fb, ok := b.(float64); ok {
			return fa == fb || math.IsNaN(fa) && math.IsNaN(fb)
		}
		return false
	}
	switch av := a.(type) {
	case wamp.List:
		bv, ok := b.(wamp.List)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equalValues(av[i], bv[i]) {
				return false
			}
		}
		return true
	case wamp.Dict:
		bv, ok := b.(wamp.Dict)
		if !ok || len(av) != len(bv) {
			return false
		}
		for k, e := range av {
			f, ok := bv[k]
			if !ok || !equalValues(e, f) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// fields flattens a message into comparable named fields, decoding any raw
// payload. Empty dicts/lists and nil compare equal through emptyToNil.
func fields(t testing.TB, m wamp.Message) map[string]any {
	t.Helper()
	f := map[string]any{"message_type": int64(m.MessageType())}
	switch m := m.(type) {
	case *wamp.Hello:
		f["realm"], f["details"] = string(m.Realm), m.Details
	case *wamp.Welcome:
		f["session_id"], f["details"] = uint64(m.Session), m.Details
	case *wamp.Abort:
		f["details"], f["reason"] = m.Details, string(m.Reason)
	case *wamp.Challenge:
		f["method"], f["extra"] = m.AuthMethod, m.Extra
	case *wamp.Authenticate:
		f["signature"], f["extra"] = m.Signature, m.Extra
	case *wamp.Goodbye:
		f["details"], f["reason"] = m.Details, string(m.Reason)
	case *wamp.Error:
		f["request_type"], f["request_id"], f["details"], f["error"] = int64(m.RequestType), uint64(m.Request), m.Details, string(m.Error)
	case *wamp.Publish:
		f["request_id"], f["options"], f["topic"] = uint64(m.Request), m.Options, string(m.Topic)
	case *wamp.Published:
		f["request_id"], f["publication_id"] = uint64(m.Request), uint64(m.Publication)
	case *wamp.Subscribe:
		f["request_id"], f["options"], f["topic"] = uint64(m.Request), m.Options, string(m.Topic)
	case *wamp.Subscribed:
		f["request_id"], f["subscription_id"] = uint64(m.Request), uint64(m.Subscription)
	case *wamp.Unsubscribe:
		f["request_id"], f["subscription_id"] = uint64(m.Request), uint64(m.Subscription)
	case *wamp.Unsubscribed:
		f["request_id"], f["details"] = uint64(m.Request), m.Details
	case *wamp.Event:
		f["subscription"], f["publication"], f["details"] = uint64(m.Subscription), uint64(m.Publication), m.Details
	case *wamp.Call:
		f["request_id"], f["options"], f["procedure"] = uint64(m.Request), m.Options, string(m.Procedure)
	case *wamp.Cancel:
		f["request_id"], f["options"] = uint64(m.Request), m.Options
	case *wamp.Result:
		f["request_id"], f["details"] = uint64(m.Request), m.Details
	case *wamp.Register:
		f["request_id"], f["options"], f["procedure"] = uint64(m.Request), m.Options, string(m.Procedure)
	case *wamp.Registered:
		f["request_id"], f["registration_id"] = uint64(m.Request), uint64(m.Registration)
	case *wamp.Unregister:
		f["request_id"], f["registration_id"] = uint64(m.Request), uint64(m.Registration)
	case *wamp.Unregistered:
		f["request_id"], f["details"] = uint64(m.Request), m.Details
	case *wamp.Invocation:
		f["request_id"], f["registration_id"], f["details"] = uint64(m.Request), uint64(m.Registration), m.Details
	case *wamp.Interrupt:
		f["request_id"], f["options"] = uint64(m.Request), m.Options
	case *wamp.Yield:
		f["request_id"], f["options"] = uint64(m.Request), m.Options
	default:
		t.Fatalf("fields: unexpected %T", m)
	}
	if p := wamp.PayloadOf(m); p != nil {
		args, kwargs, err := p.Values()
		if err != nil {
			t.Fatalf("payload of %T: %v", m, err)
		}
		f["args"], f["kwargs"] = args, kwargs
	}
	for k, v := range f {
		f[k] = emptyToNil(v)
	}
	return f
}

func emptyToNil(v any) any {
	switch v := v.(type) {
	case wamp.Dict:
		if len(v) == 0 {
			return nil
		}
	case wamp.List:
		if len(v) == 0 {
			return nil
		}
	}
	return v
}

// sameMessage compares two messages field by field.
func sameMessage(t testing.TB, a, b wamp.Message) bool {
	t.Helper()
	if a.MessageType() != b.MessageType() {
		return false
	}
	fa, fb := fields(t, a), fields(t, b)
	return equalValues(wamp.Dict(fa), wamp.Dict(fb))
}

func describe(t testing.TB, m wamp.Message) string {
	f := fields(t, m)
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var buf bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&buf, "%s=%#v ", k, f[k])
	}
	return buf.String()
}
