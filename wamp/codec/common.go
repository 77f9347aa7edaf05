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

// item is one element of a message to encode.
type item struct {
	k   itemKind
	u   uint64
	s   string
	d   wamp.Dict
	l   wamp.List
	raw []byte
}

type itemKind uint8

const (
	itUint itemKind = iota
	itStr
	itDict
	itList
	itRaw
	itNull
)

// valueEnc is what the shared message encoder needs from a serializer.
type valueEnc interface {
	wamp.ValueCodec
	arrayStart(dst []byte, n int) []byte
	arrayNext(dst []byte, i int) []byte
	arrayEnd(dst []byte) []byte
	appendUint(dst []byte, v uint64) []byte
	appendStr(dst []byte, s string) []byte
	appendValue(dst []byte, v any, depth int) ([]byte, error)
	// emptyList is the encoding of [], written as Arguments when only
	// ArgumentsKw is present.
	emptyList() []byte
}

var errNilMessage = errors.New("codec: nil message")

type items struct {
	n  int
	it [maxElems]item
}

func (is *items) uint(v uint64)      { is.it[is.n] = item{k: itUint, u: v}; is.n++ }
func (is *items) id(v wamp.ID)       { is.uint(uint64(v)) }
func (is *items) str(s string)       { is.it[is.n] = item{k: itStr, s: s}; is.n++ }
func (is *items) uri(u wamp.URI)     { is.str(string(u)) }
func (is *items) dict(d wamp.Dict)   { is.it[is.n] = item{k: itDict, d: d}; is.n++ }
func (is *items) list(l wamp.List)   { is.it[is.n] = item{k: itList, l: l}; is.n++ }
func (is *items) rawItem(raw []byte) { is.it[is.n] = item{k: itRaw, raw: raw}; is.n++ }
func (is *items) null()              { is.it[is.n] = item{k: itNull}; is.n++ }

// payload appends Arguments and ArgumentsKw following spec §3.4.
func (is *items) payload(e valueEnc, p *wamp.Payload) error {
	if p.Raw != nil {
		if p.Raw.Codec != nil && p.Raw.Codec.SerializerID() == e.SerializerID() {
			switch {
			case p.Raw.Kwargs != nil:
				if p.Raw.Args != nil {
					is.rawItem(p.Raw.Args)
				} else {
					is.rawItem(e.emptyList())
				}
				is.rawItem(p.Raw.Kwargs)
			case p.Raw.Args != nil:
				is.rawItem(p.Raw.Args)
			}
			return nil
		}
		if p.Raw.Codec == nil {
			return errors.New("codec: raw payload without a codec")
		}
		args, kwargs, err := p.Values()
		if err != nil {
			return fmt.Errorf("codec: transcoding payload: %w", err)
		}
		return is.values(args, kwargs)
	}
	return is.values(p.Args, p.Kwargs)
}

func (is *items) values(args wamp.List, kwargs wamp.Dict) error {
	switch {
	case len(kwargs) > 0:
		if args == nil {
			args = wamp.List{}
		}
		is.list(args)
		is.dict(kwargs)
	case len(args) > 0:
		is.list(args)
	}
	return nil
}

// encodeMessage is the serializer-independent part of Encode.
func encodeMessage(e valueEnc, dst []byte, m wamp.Message) ([]byte, error) {
	var is items
	var err error
	if m == nil {
		return dst, errNilMessage
	}
	is.uint(uint64(m.MessageType()))
	switch m := m.(type) {
	case *wamp.Hello:
		if m == nil {
			return dst, errNilMessage
		}
		if m.Realm == "" {
			is.null() // no realm: the router chooses (as Autobahn sends it)
		} else {
			is.uri(m.Realm)
		}
		is.dict(m.Details)
	case *wamp.Welcome:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Session)
		is.dict(m.Details)
	case *wamp.Abort:
		if m == nil {
			return dst, errNilMessage
		}
		is.dict(m.Details)
		is.uri(m.Reason)
		err = is.payload(e, &m.Payload)
	case *wamp.Challenge:
		if m == nil {
			return dst, errNilMessage
		}
		is.str(m.AuthMethod)
		is.dict(m.Extra)
	case *wamp.Authenticate:
		if m == nil {
			return dst, errNilMessage
		}
		is.str(m.Signature)
		is.dict(m.Extra)
	case *wamp.Goodbye:
		if m == nil {
			return dst, errNilMessage
		}
		is.dict(m.Details)
		is.uri(m.Reason)
	case *wamp.Error:
		if m == nil {
			return dst, errNilMessage
		}
		is.uint(uint64(m.RequestType))
		is.id(m.Request)
		is.dict(m.Details)
		is.uri(m.Error)
		err = is.payload(e, &m.Payload)
	case *wamp.Publish:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Topic)
		err = is.payload(e, &m.Payload)
	case *wamp.Published:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Publication)
	case *wamp.Subscribe:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Topic)
	case *wamp.Subscribed:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Subscription)
	case *wamp.Unsubscribe:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Subscription)
	case *wamp.Unsubscribed:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		if m.Details != nil {
			is.dict(m.Details)
		}
	case *wamp.Event:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Subscription)
		is.id(m.Publication)
		is.dict(m.Details)
		err = is.payload(e, &m.Payload)
	case *wamp.Call:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Procedure)
		err = is.payload(e, &m.Payload)
	case *wamp.Cancel:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
	case *wamp.Result:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Details)
		err = is.payload(e, &m.Payload)
	case *wamp.Register:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		is.uri(m.Procedure)
	case *wamp.Registered:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Registration)
	case *wamp.Unregister:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Registration)
	case *wamp.Unregistered:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		if m.Details != nil {
			is.dict(m.Details)
		}
	case *wamp.Invocation:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.id(m.Registration)
		is.dict(m.Details)
		err = is.payload(e, &m.Payload)
	case *wamp.Interrupt:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
	case *wamp.Yield:
		if m == nil {
			return dst, errNilMessage
		}
		is.id(m.Request)
		is.dict(m.Options)
		err = is.payload(e, &m.Payload)
	default:
		return dst, fmt.Errorf("codec: cannot encode message type %T", m)
	}
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = e.arrayStart(dst, is.n)
	for i := 0; i < is.n; i++ {
		dst = e.arrayNext(dst, i)
		it := &is.it[i]
		switch it.k {
		case itUint:
			dst = e.appendUint(dst, it.u)
		case itStr:
			dst = e.appendStr(dst, it.s)
		case itNull:
			dst, err = e.appendValue(dst, nil, 1)
		case itDict:
			if it.d == nil {
				dst, err = e.appendValue(dst, wamp.Dict{}, 1)
			} else {
				dst, err = e.appendValue(dst, it.d, 1)
			}
		case itList:
			// Element by element: passing it.l to appendValue would box
			// the slice header, one allocation per message.
			dst = e.arrayStart(dst, len(it.l))
			for j, v := range it.l {
				dst = e.arrayNext(dst, j)
				if dst, err = e.appendValue(dst, v, 2); err != nil {
					break
				}
			}
			dst = e.arrayEnd(dst)
		case itRaw:
			dst = append(dst, it.raw...)
		}
		if err != nil {
			return dst[:start], err
		}
	}
	return e.arrayEnd(dst), nil
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
