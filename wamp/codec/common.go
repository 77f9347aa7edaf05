package codec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// maxDepth bounds the nesting of lists and dicts in a payload value (the
// args list itself is level 1). Input is untrusted: without a bound a few
// kilobytes of '[' would recurse deep enough to exhaust the stack. The
// encoders apply the same bound so that we never emit what we would refuse,
// and so that a self-referencing Dict fails instead of recursing forever.
const maxDepth = 64

// maxElems is the longest message (ERROR with args and kwargs).
const maxElems = 7

// kind classifies one encoded element for type checks and error messages.
type kind uint8

const (
	kindInvalid kind = iota
	kindNull
	kindBool
	kindInt
	kindFloat
	kindString
	kindBytes
	kindList
	kindDict
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindBool:
		return "bool"
	case kindInt:
		return "int"
	case kindFloat:
		return "float"
	case kindString:
		return "string"
	case kindBytes:
		return "bytes"
	case kindList:
		return "list"
	case kindDict:
		return "dict"
	}
	return "invalid"
}

// elems holds the top-level elements of a message as sub-slices of the
// input. Only the first maxElems are kept; n is the real count.
type elems struct {
	n   int
	raw [maxElems][]byte
}

func (e *elems) add(b []byte) {
	if e.n < maxElems {
		e.raw[e.n] = b[:len(b):len(b)]
	}
	e.n++
}

// intVal is an integer element: its magnitude and sign.
type intVal struct {
	abs uint64
	neg bool
}

func (v intVal) String() string {
	if v.neg {
		return "-" + strconv.FormatUint(v.abs, 10)
	}
	return strconv.FormatUint(v.abs, 10)
}

// wire is what the shared message decoder needs from a serializer: split a
// message into raw elements and read the envelope element types. Payload
// elements are only classified, never decoded.
type wire interface {
	// split parses data as one array, checking it is well formed
	// throughout, and returns its elements.
	split(data []byte) (elems, error)
	kind(raw []byte) kind
	// integer reads an integer element (ok=false if raw is not one).
	integer(raw []byte) (intVal, bool)
	// str reads a string element (ok=false if raw is not one).
	str(raw []byte) (string, bool)
	// dict decodes a dict element into normalized values.
	dict(raw []byte) (wamp.Dict, error)
}

// decoder decodes one message; the first error sticks.
type decoder struct {
	w     wire
	vc    wamp.ValueCodec
	name  string
	el    elems
	err   error
	names []string
}

func (d *decoder) fail(i int, what string, got string) {
	if d.err == nil {
		d.err = wamp.Protocolf("%s: element %d (%s) must be %s, got %s", d.name, i, d.names[i], what, got)
	}
}

func (d *decoder) id(i int) wamp.ID {
	raw := d.el.raw[i]
	v, ok := d.w.integer(raw)
	if !ok {
		d.fail(i, "an id", d.w.kind(raw).String())
		return 0
	}
	if v.neg || !wamp.ID(v.abs).Valid() {
		d.fail(i, "an id in [1, 2^53]", v.String())
		return 0
	}
	return wamp.ID(v.abs)
}

// revocationID reads the request id of the long UNSUBSCRIBED/UNREGISTERED
// form, which is 0 for a router-initiated revocation.
func (d *decoder) revocationID(i int) wamp.ID {
	raw := d.el.raw[i]
	if v, ok := d.w.integer(raw); ok && !v.neg && v.abs == 0 {
		return 0
	}
	return d.id(i)
}

func (d *decoder) str(i int) string {
	raw := d.el.raw[i]
	s, ok := d.w.str(raw)
	if !ok {
		d.fail(i, "a string", d.w.kind(raw).String())
	}
	return s
}

func (d *decoder) uri(i int) wamp.URI { return wamp.URI(d.str(i)) }

// realm reads HELLO's realm; null (what Autobahn sends when the app names
// none) is "", for the router to choose (docs/auth.md).
func (d *decoder) realm(i int) wamp.URI {
	if d.w.kind(d.el.raw[i]) == kindNull {
		return ""
	}
	return d.uri(i)
}

func (d *decoder) dict(i int) wamp.Dict {
	if d.err != nil {
		return nil
	}
	raw := d.el.raw[i]
	if k := d.w.kind(raw); k != kindDict {
		d.fail(i, "a dict", k.String())
		return nil
	}
	m, err := d.w.dict(raw)
	if err != nil {
		d.err = wamp.Protocolf("%s: element %d (%s): %s", d.name, i, d.names[i], errText(err))
		return nil
	}
	// An Options/Details key whose value is null (or JavaScript's
	// undefined) means the option is not given: JS clients send
	// {match: undefined} for "no match policy".
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	return m
}

// payload keeps elements i (Arguments) and i+1 (ArgumentsKw), if present,
// as raw bytes after checking their types.
func (d *decoder) payload(i int) wamp.Payload {
	if d.el.n <= i || d.err != nil {
		return wamp.Payload{}
	}
	rp := &wamp.RawPayload{Codec: d.vc}
	if k := d.w.kind(d.el.raw[i]); k != kindList {
		d.fail(i, "a list", k.String())
		return wamp.Payload{}
	}
	rp.Args = d.el.raw[i]
	if d.el.n > i+1 {
		if k := d.w.kind(d.el.raw[i+1]); k != kindDict {
			d.fail(i+1, "a dict", k.String())
			return wamp.Payload{}
		}
		rp.Kwargs = d.el.raw[i+1]
	}
	return wamp.Payload{Raw: rp}
}

// errText strips the "wamp: protocol violation: " prefix of nested errors.
func errText(err error) string {
	var pe *wamp.ProtocolError
	if errors.As(err, &pe) {
		return pe.Msg
	}
	return err.Error()
}

// Element names per message type, index 0 being the type itself.
var (
	namesHello        = []string{"type", "Realm", "Details"}
	namesWelcome      = []string{"type", "Session", "Details"}
	namesAbort        = []string{"type", "Details", "Reason", "Arguments", "ArgumentsKw"}
	namesChallenge    = []string{"type", "AuthMethod", "Extra"}
	namesAuthenticate = []string{"type", "Signature", "Extra"}
	namesGoodbye      = []string{"type", "Details", "Reason"}
	namesError        = []string{"type", "RequestType", "Request", "Details", "Error", "Arguments", "ArgumentsKw"}
	namesPublish      = []string{"type", "Request", "Options", "Topic", "Arguments", "ArgumentsKw"}
	namesPublished    = []string{"type", "Request", "Publication"}
	namesSubscribe    = []string{"type", "Request", "Options", "Topic"}
	namesSubscribed   = []string{"type", "Request", "Subscription"}
	namesUnsubscribe  = []string{"type", "Request", "Subscription"}
	namesUnsubscribed = []string{"type", "Request", "Details"}
	namesEvent        = []string{"type", "Subscription", "Publication", "Details", "Arguments", "ArgumentsKw"}
	namesCall         = []string{"type", "Request", "Options", "Procedure", "Arguments", "ArgumentsKw"}
	namesCancel       = []string{"type", "Request", "Options"}
	namesResult       = []string{"type", "Request", "Details", "Arguments", "ArgumentsKw"}
	namesRegister     = []string{"type", "Request", "Options", "Procedure"}
	namesRegistered   = []string{"type", "Request", "Registration"}
	namesUnregister   = []string{"type", "Request", "Registration"}
	namesUnregistered = []string{"type", "Request", "Details"}
	namesInvocation   = []string{"type", "Request", "Registration", "Details", "Arguments", "ArgumentsKw"}
	namesInterrupt    = []string{"type", "Request", "Options"}
	namesYield        = []string{"type", "Request", "Options", "Arguments", "ArgumentsKw"}
)

// layout returns the element names and the minimum element count of t; the
// maximum is len(names).
func layout(t wamp.MessageType) ([]string, int) {
	switch t {
	case wamp.TypeHello:
		return namesHello, 3
	case wamp.TypeWelcome:
		return namesWelcome, 3
	case wamp.TypeAbort:
		return namesAbort, 3
	case wamp.TypeChallenge:
		return namesChallenge, 3
	case wamp.TypeAuthenticate:
		return namesAuthenticate, 3
	case wamp.TypeGoodbye:
		return namesGoodbye, 3
	case wamp.TypeError:
		return namesError, 5
	case wamp.TypePublish:
		return namesPublish, 4
	case wamp.TypePublished:
		return namesPublished, 3
	case wamp.TypeSubscribe:
		return namesSubscribe, 4
	case wamp.TypeSubscribed:
		return namesSubscribed, 3
	case wamp.TypeUnsubscribe:
		return namesUnsubscribe, 3
	case wamp.TypeUnsubscribed:
		return namesUnsubscribed, 2
	case wamp.TypeEvent:
		return namesEvent, 4
	case wamp.TypeCall:
		return namesCall, 4
	case wamp.TypeCancel:
		return namesCancel, 3
	case wamp.TypeResult:
		return namesResult, 3
	case wamp.TypeRegister:
		return namesRegister, 4
	case wamp.TypeRegistered:
		return namesRegistered, 3
	case wamp.TypeUnregister:
		return namesUnregister, 3
	case wamp.TypeUnregistered:
		return namesUnregistered, 2
	case wamp.TypeInvocation:
		return namesInvocation, 4
	case wamp.TypeInterrupt:
		return namesInterrupt, 3
	case wamp.TypeYield:
		return namesYield, 3
	}
	return nil, 0
}

// decodeMessage is the serializer-independent part of Decode.
func decodeMessage(w wire, vc wamp.ValueCodec, data []byte) (wamp.Message, error) {
	el, err := w.split(data)
	if err != nil {
		return nil, err
	}
	if el.n == 0 {
		return nil, wamp.Protocolf("empty message list")
	}
	tv, ok := w.integer(el.raw[0])
	if !ok {
		return nil, wamp.Protocolf("element 0 (message type) must be an integer, got %s", w.kind(el.raw[0]))
	}
	t := wamp.MessageType(tv.abs)
	if tv.neg || tv.abs > math.MaxUint16 || !t.Known() {
		return nil, wamp.Protocolf("unknown message type %s", tv)
	}
	names, lo := layout(t)
	if el.n < lo || el.n > len(names) {
		if lo == len(names) {
			return nil, wamp.Protocolf("%s: got %d elements, want %d", t, el.n, lo)
		}
		return nil, wamp.Protocolf("%s: got %d elements, want %d to %d", t, el.n, lo, len(names))
	}
	d := decoder{w: w, vc: vc, name: t.String(), el: el, names: names}
	var m wamp.Message
	switch t {
	case wamp.TypeHello:
		m = &wamp.Hello{Realm: d.realm(1), Details: d.dict(2)}
	case wamp.TypeWelcome:
		m = &wamp.Welcome{Session: d.id(1), Details: d.dict(2)}
	case wamp.TypeAbort:
		m = &wamp.Abort{Details: d.dict(1), Reason: d.uri(2), Payload: d.payload(3)}
	case wamp.TypeChallenge:
		m = &wamp.Challenge{AuthMethod: d.str(1), Extra: d.dict(2)}
	case wamp.TypeAuthenticate:
		m = &wamp.Authenticate{Signature: d.str(1), Extra: d.dict(2)}
	case wamp.TypeGoodbye:
		m = &wamp.Goodbye{Details: d.dict(1), Reason: d.uri(2)}
	case wamp.TypeError:
		rt := d.requestType()
		m = &wamp.Error{RequestType: rt, Request: d.id(2), Details: d.dict(3), Error: d.uri(4), Payload: d.payload(5)}
	case wamp.TypePublish:
		m = &wamp.Publish{Request: d.id(1), Options: d.dict(2), Topic: d.uri(3), Payload: d.payload(4)}
	case wamp.TypePublished:
		m = &wamp.Published{Request: d.id(1), Publication: d.id(2)}
	case wamp.TypeSubscribe:
		m = &wamp.Subscribe{Request: d.id(1), Options: d.dict(2), Topic: d.uri(3)}
	case wamp.TypeSubscribed:
		m = &wamp.Subscribed{Request: d.id(1), Subscription: d.id(2)}
	case wamp.TypeUnsubscribe:
		m = &wamp.Unsubscribe{Request: d.id(1), Subscription: d.id(2)}
	case wamp.TypeUnsubscribed:
		u := &wamp.Unsubscribed{}
		if el.n == 2 {
			u.Request = d.id(1)
		} else {
			u.Request, u.Details = d.revocationID(1), d.dict(2)
		}
		m = u
	case wamp.TypeEvent:
		m = &wamp.Event{Subscription: d.id(1), Publication: d.id(2), Details: d.dict(3), Payload: d.payload(4)}
	case wamp.TypeCall:
		m = &wamp.Call{Request: d.id(1), Options: d.dict(2), Procedure: d.uri(3), Payload: d.payload(4)}
	case wamp.TypeCancel:
		m = &wamp.Cancel{Request: d.id(1), Options: d.dict(2)}
	case wamp.TypeResult:
		m = &wamp.Result{Request: d.id(1), Details: d.dict(2), Payload: d.payload(3)}
	case wamp.TypeRegister:
		m = &wamp.Register{Request: d.id(1), Options: d.dict(2), Procedure: d.uri(3)}
	case wamp.TypeRegistered:
		m = &wamp.Registered{Request: d.id(1), Registration: d.id(2)}
	case wamp.TypeUnregister:
		m = &wamp.Unregister{Request: d.id(1), Registration: d.id(2)}
	case wamp.TypeUnregistered:
		u := &wamp.Unregistered{}
		if el.n == 2 {
			u.Request = d.id(1)
		} else {
			u.Request, u.Details = d.revocationID(1), d.dict(2)
		}
		m = u
	case wamp.TypeInvocation:
		m = &wamp.Invocation{Request: d.id(1), Registration: d.id(2), Details: d.dict(3), Payload: d.payload(4)}
	case wamp.TypeInterrupt:
		m = &wamp.Interrupt{Request: d.id(1), Options: d.dict(2)}
	case wamp.TypeYield:
		m = &wamp.Yield{Request: d.id(1), Options: d.dict(2), Payload: d.payload(3)}
	}
	if d.err != nil {
		return nil, d.err
	}
	return m, nil
}

func (d *decoder) requestType() wamp.MessageType {
	raw := d.el.raw[1]
	v, ok := d.w.integer(raw)
	if !ok {
		d.fail(1, "an integer", d.w.kind(raw).String())
		return 0
	}
	t := wamp.MessageType(v.abs)
	if v.neg || v.abs > math.MaxUint16 || !t.IsRequest() {
		d.fail(1, "a request message type", v.String())
		return 0
	}
	return t
}

func errDepth() error {
	return fmt.Errorf("codec: value nested deeper than %d levels", maxDepth)
}

// normalize converts a Go value the fast type switches of the encoders do
// not know (named types, typed slices and maps, pointers) to the basic
// forms: wamp.List, wamp.Dict, int64, uint64, float64, string, []byte, bool
// or nil. It is the slow path; payloads built from wamp.List/wamp.Dict never
// reach it.
func normalize(v any) (any, error) {
	switch v := v.(type) {
	case wamp.ID:
		return uint64(v), nil
	case wamp.URI:
		return string(v), nil
	case wamp.MessageType:
		return uint64(v), nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return rv.Elem().Interface(), nil
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, rv.Len())
			reflect.Copy(reflect.ValueOf(b), rv)
			return b, nil
		}
		l := make(wamp.List, rv.Len())
		for i := range l {
			l[i] = rv.Index(i).Interface()
		}
		return l, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("codec: cannot encode map with %s keys (dict keys must be strings)", rv.Type().Key())
		}
		if rv.IsNil() {
			return nil, nil
		}
		d := make(wamp.Dict, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			d[it.Key().String()] = it.Value().Interface()
		}
		return d, nil
	}
	return nil, fmt.Errorf("codec: cannot encode value of type %T", v)
}

var errTooLong = errors.New("codec: string or bytes longer than 4 GiB")

// decodeAs decodes one payload value with decode and checks that it is a T
// (wamp.List or wamp.Dict); codec and kind name them in the error.
func decodeAs[T wamp.List | wamp.Dict](codec, kind string, decode func([]byte) (any, error), b []byte) (T, error) {
	v, err := decode(b)
	if err != nil {
		return nil, err
	}
	t, ok := v.(T)
	if !ok {
		return nil, wamp.Protocolf("%s: want a %s, got %s", codec, kind, kindOfValue(v))
	}
	return t, nil
}
