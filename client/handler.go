package client

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// HandlerFunc is the plain procedure handler signature. Handlers given to
// Register or Registry.Procedure may also be typed Go functions; see
// Session.Register for the decoding rules.
type HandlerFunc = func(ctx context.Context, inv *Invocation) (Result, error)

// EventFunc is the plain event handler signature. Typed functions are
// accepted too; see Session.Subscribe.
type EventFunc = func(ctx context.Context, ev *Event)

// procHandler and eventHandler are the normalized forms every handler is
// turned into at registration time.
type (
	procHandler  func(cc *CallContext) (Result, error)
	eventHandler func(cc *CallContext) error
)

// ArgumentError reports arguments that do not fit a typed handler's
// parameters. A callee answers it with wamp.error.invalid_argument and the
// error text as the single argument.
type ArgumentError struct {
	Msg string
}

func (e *ArgumentError) Error() string { return e.Msg }

var (
	typeCallContext = reflect.TypeFor[*CallContext]()
	typeContext     = reflect.TypeFor[context.Context]()
	typeError       = reflect.TypeFor[error]()
	typeResult      = reflect.TypeFor[Result]()
	typeResultPtr   = reflect.TypeFor[*Result]()
	typeTime        = reflect.TypeFor[time.Time]()
	typeBytes       = reflect.TypeFor[[]byte]()
)

// typedFunc is a reflected handler function, validated once.
type typedFunc struct {
	fn       reflect.Value
	ctxParam int // 0 none, 1 context.Context, 2 *CallContext
	params   []reflect.Type
	names    []string
	variadic bool
	kwParam  bool // the last param may take kwargs
	result   bool // returns a value before the optional error
	errOut   bool
}

func newTypedFunc(fn any, names []string, event bool) (*typedFunc, error) {
	v := reflect.ValueOf(fn)
	if !v.IsValid() || v.Kind() != reflect.Func || v.IsNil() {
		return nil, fmt.Errorf("client: handler must be a non-nil function, got %T", fn)
	}
	t := v.Type()
	tf := &typedFunc{fn: v, names: names, variadic: t.IsVariadic()}
	start := 0
	if t.NumIn() > 0 {
		switch t.In(0) {
		case typeCallContext:
			tf.ctxParam, start = 2, 1
		case typeContext:
			tf.ctxParam, start = 1, 1
		}
	}
	for i := start; i < t.NumIn(); i++ {
		p := t.In(i)
		if err := checkDecodable(p, map[reflect.Type]bool{}); err != nil {
			return nil, fmt.Errorf("client: handler parameter %d (%s): %w", i-start+1, p, err)
		}
		tf.params = append(tf.params, p)
	}
	if n := len(tf.params); n > 0 && !tf.variadic {
		tf.kwParam = isKwargsType(tf.params[n-1])
	}
	switch t.NumOut() {
	case 0:
	case 1:
		if t.Out(0) == typeError {
			tf.errOut = true
		} else {
			tf.result = true
		}
	case 2:
		if t.Out(1) != typeError {
			return nil, fmt.Errorf("client: handler's second result must be error, got %s", t.Out(1))
		}
		tf.result, tf.errOut = true, true
	default:
		return nil, fmt.Errorf("client: handler returns %d values, want at most (value, error)", t.NumOut())
	}
	if tf.result {
		if event {
			return nil, fmt.Errorf("client: event handler may return only error, got %s", t.Out(0))
		}
		if err := checkEncodable(t.Out(0), map[reflect.Type]bool{}); err != nil {
			return nil, fmt.Errorf("client: handler result %s: %w", t.Out(0), err)
		}
	}
	return tf, nil
}

func isKwargsType(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && t != typeTime || t.Kind() == reflect.Map && t.Key().Kind() == reflect.String
}

func checkDecodable(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return nil
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return fmt.Errorf("cannot decode into interface %s (use any)", t)
		}
		return nil
	case reflect.Slice, reflect.Array, reflect.Pointer:
		return checkDecodable(t.Elem(), seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("map key must be a string kind, got %s", t.Key())
		}
		return checkDecodable(t.Elem(), seen)
	case reflect.Struct:
		if t == typeTime {
			return nil
		}
		for _, f := range structFields(t) {
			if err := checkDecodable(t.Field(f.index).Type, seen); err != nil {
				return fmt.Errorf("field %s: %w", t.Field(f.index).Name, err)
			}
		}
		return nil
	}
	return fmt.Errorf("cannot decode WAMP values into %s", t)
}

func checkEncodable(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128, reflect.Uintptr:
		return fmt.Errorf("cannot encode %s as a WAMP value", t)
	case reflect.Slice, reflect.Array, reflect.Pointer:
		return checkEncodable(t.Elem(), seen)
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("map key must be a string kind, got %s", t.Key())
		}
		return checkEncodable(t.Elem(), seen)
	}
	return nil
}

func (tf *typedFunc) paramName(i int) string {
	if i < len(tf.names) && tf.names[i] != "" {
		return fmt.Sprintf("argument %d (%s)", i+1, tf.names[i])
	}
	return fmt.Sprintf("argument %d", i+1)
}

// call decodes args/kwargs into the parameters and calls the function.
func (tf *typedFunc) call(cc *CallContext, args wamp.List, kwargs wamp.Dict) ([]reflect.Value, error) {
	in := make([]reflect.Value, 0, len(tf.params)+1)
	switch tf.ctxParam {
	case 1:
		in = append(in, reflect.ValueOf(context.Context(cc)))
	case 2:
		in = append(in, reflect.ValueOf(cc))
	}
	n := len(tf.params)
	switch {
	case tf.variadic:
		if len(args) < n-1 {
			return nil, &ArgumentError{Msg: fmt.Sprintf("want at least %d arguments, got %d", n-1, len(args))}
		}
		for i := 0; i < n-1; i++ {
			v, err := tf.decodeParam(i, tf.params[i], args[i])
			if err != nil {
				return nil, err
			}
			in = append(in, v)
		}
		elem := tf.params[n-1].Elem()
		for i := n - 1; i < len(args); i++ {
			v, err := tf.decodeParam(i, elem, args[i])
			if err != nil {
				return nil, err
			}
			in = append(in, v)
		}
	case len(args) == n:
		for i, a := range args {
			v, err := tf.decodeParam(i, tf.params[i], a)
			if err != nil {
				return nil, err
			}
			in = append(in, v)
		}
	case len(args) == n-1 && tf.kwParam:
		for i, a := range args {
			v, err := tf.decodeParam(i, tf.params[i], a)
			if err != nil {
				return nil, err
			}
			in = append(in, v)
		}
		p := tf.params[n-1]
		dst := reflect.New(p).Elem()
		var kw any = kwargs
		if kwargs == nil {
			kw = wamp.Dict{}
		}
		if err := decodeValue(dst, kw, ""); err != nil {
			return nil, &ArgumentError{Msg: "kwargs" + err.Error()}
		}
		in = append(in, dst)
	default:
		want := fmt.Sprintf("%d", n)
		if tf.kwParam {
			want = fmt.Sprintf("%d (or %d plus kwargs)", n, n-1)
		}
		return nil, &ArgumentError{Msg: fmt.Sprintf("want %s arguments, got %d", want, len(args))}
	}
	if tf.variadic {
		return tf.fn.Call(in), nil
	}
	return tf.fn.Call(in), nil
}

func (tf *typedFunc) decodeParam(i int, t reflect.Type, v any) (reflect.Value, error) {
	dst := reflect.New(t).Elem()
	if err := decodeValue(dst, v, ""); err != nil {
		return reflect.Value{}, &ArgumentError{Msg: tf.paramName(i) + err.Error()}
	}
	return dst, nil
}

// procHandlerOf validates fn and returns its normalized form.
func procHandlerOf(fn any, names []string) (procHandler, error) {
	switch f := fn.(type) {
	case nil:
		return nil, errors.New("client: nil handler")
	case func(context.Context, *Invocation) (Result, error):
		if f == nil {
			return nil, errors.New("client: nil handler")
		}
		return func(cc *CallContext) (Result, error) { return f(cc, cc.Invocation) }, nil
	}
	tf, err := newTypedFunc(fn, names, false)
	if err != nil {
		return nil, err
	}
	return func(cc *CallContext) (Result, error) {
		out, err := tf.call(cc, cc.Invocation.Args, cc.Invocation.Kwargs)
		if err != nil {
			return Result{}, err
		}
		if tf.errOut {
			if e, _ := out[len(out)-1].Interface().(error); e != nil {
				return Result{}, e
			}
		}
		if !tf.result {
			return Result{}, nil
		}
		switch r := out[0].Interface().(type) {
		case Result:
			return r, nil
		case *Result:
			if r == nil {
				return Result{}, nil
			}
			return *r, nil
		}
		v, err := normalizeValue(out[0])
		if err != nil {
			return Result{}, fmt.Errorf("client: encoding handler result: %w", err)
		}
		return Result{Args: wamp.List{v}}, nil
	}, nil
}

// eventHandlerOf validates fn and returns its normalized form.
func eventHandlerOf(fn any, names []string) (eventHandler, error) {
	switch f := fn.(type) {
	case nil:
		return nil, errors.New("client: nil handler")
	case func(context.Context, *Event):
		if f == nil {
			return nil, errors.New("client: nil handler")
		}
		return func(cc *CallContext) error { f(cc, cc.Event); return nil }, nil
	}
	tf, err := newTypedFunc(fn, names, true)
	if err != nil {
		return nil, err
	}
	return func(cc *CallContext) error {
		out, err := tf.call(cc, cc.Event.Args, cc.Event.Kwargs)
		if err != nil {
			return err
		}
		if tf.errOut {
			if e, _ := out[0].Interface().(error); e != nil {
				return e
			}
		}
		return nil
	}, nil
}

// --- decoding WAMP values into Go values ---

func typeName(v any) string {
	if v == nil {
		return "nil"
	}
	switch v.(type) {
	case wamp.List:
		return "list"
	case wamp.Dict:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}

// decodeValue stores v into dst. Errors read like ": want string, got
// float64" or `: key "a": want ...`, to be prefixed with the location.
func decodeValue(dst reflect.Value, v any, _ string) error {
	t := dst.Type()
	mismatch := func() error { return fmt.Errorf(": want %s, got %s", t, typeName(v)) }
	if t.Kind() == reflect.Pointer {
		if v == nil {
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeValue(p.Elem(), v, ""); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	}
	if t.Kind() == reflect.Interface {
		if v == nil {
			return nil
		}
		rv := reflect.ValueOf(v)
		if !rv.Type().AssignableTo(t) {
			return mismatch()
		}
		dst.Set(rv)
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return mismatch()
		}
		dst.SetBool(b)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch()
		}
		dst.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := wamp.AsInt(v)
		if !ok || dst.OverflowInt(n) {
			if ok {
				return fmt.Errorf(": %d overflows %s", n, t)
			}
			return mismatch()
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		var u uint64
		switch n := v.(type) {
		case uint64:
			u = n
		default:
			i, ok := wamp.AsInt(v)
			if !ok {
				return mismatch()
			}
			if i < 0 {
				return fmt.Errorf(": %d is negative, want %s", i, t)
			}
			u = uint64(i)
		}
		if dst.OverflowUint(u) {
			return fmt.Errorf(": %d overflows %s", u, t)
		}
		dst.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var f float64
		switch n := v.(type) {
		case float64:
			f = n
		case float32:
			f = float64(n)
		case int64:
			if n > 1<<53 || n < -(1<<53) {
				return fmt.Errorf(": %d cannot be represented exactly as %s", n, t)
			}
			f = float64(n)
		case uint64:
			if n > 1<<53 {
				return fmt.Errorf(": %d cannot be represented exactly as %s", n, t)
			}
			f = float64(n)
		default:
			i, ok := wamp.AsInt(v)
			if !ok {
				return mismatch()
			}
			f = float64(i)
		}
		if t.Kind() == reflect.Float32 && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
			return fmt.Errorf(": %v overflows float32", f)
		}
		dst.SetFloat(f)
	case reflect.Slice:
		if t == typeBytes {
			if b, ok := v.([]byte); ok {
				dst.SetBytes(append([]byte(nil), b...))
				return nil
			}
		}
		if v == nil {
			return nil
		}
		l, ok := v.(wamp.List)
		if !ok {
			return mismatch()
		}
		s := reflect.MakeSlice(t, len(l), len(l))
		for i, e := range l {
			if err := decodeValue(s.Index(i), e, ""); err != nil {
				return fmt.Errorf(": element %d%s", i, err.Error())
			}
		}
		dst.Set(s)
	case reflect.Array:
		l, ok := v.(wamp.List)
		if !ok || len(l) != t.Len() {
			if ok {
				return fmt.Errorf(": want %s, got list of %d", t, len(l))
			}
			return mismatch()
		}
		for i, e := range l {
			if err := decodeValue(dst.Index(i), e, ""); err != nil {
				return fmt.Errorf(": element %d%s", i, err.Error())
			}
		}
	case reflect.Map:
		if v == nil {
			return nil
		}
		d, ok := v.(wamp.Dict)
		if !ok {
			return mismatch()
		}
		m := reflect.MakeMapWithSize(t, len(d))
		for k, e := range d {
			ev := reflect.New(t.Elem()).Elem()
			if err := decodeValue(ev, e, ""); err != nil {
				return fmt.Errorf(": key %q%s", k, err.Error())
			}
			m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
		}
		dst.Set(m)
	case reflect.Struct:
		if t == typeTime {
			s, ok := v.(string)
			if !ok {
				return mismatch()
			}
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return fmt.Errorf(": want RFC 3339 time, got %q", s)
			}
			dst.Set(reflect.ValueOf(tm))
			return nil
		}
		d, ok := v.(wamp.Dict)
		if !ok {
			return mismatch()
		}
		fields := structFields(t)
		for k, e := range d {
			f, ok := findField(fields, k)
			if !ok {
				continue // unknown keys are ignored, as encoding/json does
			}
			if err := decodeValue(dst.Field(f.index), e, ""); err != nil {
				return fmt.Errorf(": key %q%s", k, err.Error())
			}
		}
	default:
		return mismatch()
	}
	return nil
}

type fieldInfo struct {
	name  string
	index int
	omit  bool // omitempty
}

var fieldCache sync.Map // reflect.Type → []fieldInfo

// structFields lists the exported fields of t with their WAMP key: the
// `wamp` tag, else the `json` tag, else the field name.
func structFields(t reflect.Type) []fieldInfo {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]fieldInfo)
	}
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag, ok := sf.Tag.Lookup("wamp")
		if !ok {
			tag = sf.Tag.Get("json")
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" && opts == "" {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		out = append(out, fieldInfo{name: name, index: i, omit: strings.Contains(opts, "omitempty")})
	}
	fieldCache.Store(t, out)
	return out
}

func findField(fields []fieldInfo, key string) (fieldInfo, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return fieldInfo{}, false
}

// --- normalizing Go values for encoding ---

// normalize converts v into the WAMP value types every codec encodes:
// nil, bool, string, int64, uint64, float64, []byte, wamp.List, wamp.Dict.
// Containers that already hold only such values are returned unchanged.
func normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, string, int64, uint64, float64, []byte:
		return v, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint32:
		return uint64(x), nil
	case wamp.ID:
		return uint64(x), nil
	case wamp.URI:
		return string(x), nil
	case wamp.List:
		return normalizeList(x)
	case wamp.Dict:
		return normalizeDict(x)
	}
	return normalizeValue(reflect.ValueOf(v))
}

func normalizeList(l wamp.List) (wamp.List, error) {
	var out wamp.List
	for i, e := range l {
		n, err := normalize(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		if out == nil && !sameValue(n, e) {
			out = make(wamp.List, len(l))
			copy(out, l[:i])
		}
		if out != nil {
			out[i] = n
		}
	}
	if out == nil {
		return l, nil
	}
	return out, nil
}

func normalizeDict(d wamp.Dict) (wamp.Dict, error) {
	var out wamp.Dict
	for k, e := range d {
		n, err := normalize(e)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k, err)
		}
		if out == nil && !sameValue(n, e) {
			out = make(wamp.Dict, len(d))
			for k2, e2 := range d {
				out[k2] = e2
			}
		}
		if out != nil {
			out[k] = n
		}
	}
	if out == nil {
		return d, nil
	}
	return out, nil
}

// sameValue reports whether normalize returned its input unchanged.
func sameValue(n, e any) bool {
	switch x := e.(type) {
	case nil, bool, string, int64, uint64, float64:
		return n == e
	case []byte:
		nb, ok := n.([]byte)
		return ok && len(nb) == len(x) && (len(x) == 0 || &nb[0] == &x[0])
	case wamp.List:
		nl, ok := n.(wamp.List)
		return ok && len(nl) == len(x) && (len(x) == 0 || &nl[0] == &x[0])
	case wamp.Dict:
		nd, ok := n.(wamp.Dict)
		return ok && reflect.ValueOf(nd).UnsafePointer() == reflect.ValueOf(x).UnsafePointer()
	}
	return false
}

func normalizeValue(rv reflect.Value) (any, error) {
	if !rv.IsValid() {
		return nil, nil
	}
	switch rv.Kind() {
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.String:
		return rv.String(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface())
	case reflect.Slice:
		if rv.IsNil() {
			return nil, nil
		}
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return rv.Bytes(), nil
		}
		fallthrough
	case reflect.Array:
		l := make(wamp.List, rv.Len())
		for i := range l {
			n, err := normalize(rv.Index(i).Interface())
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			l[i] = n
		}
		return l, nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map key must be a string kind, got %s", rv.Type().Key())
		}
		if rv.IsNil() {
			return nil, nil
		}
		d := make(wamp.Dict, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			n, err := normalize(it.Value().Interface())
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", it.Key().String(), err)
			}
			d[it.Key().String()] = n
		}
		return d, nil
	case reflect.Struct:
		if rv.Type() == typeTime {
			return rv.Interface().(time.Time).Format(time.RFC3339Nano), nil
		}
		d := wamp.Dict{}
		for _, f := range structFields(rv.Type()) {
			fv := rv.Field(f.index)
			if f.omit && fv.IsZero() {
				continue
			}
			n, err := normalize(fv.Interface())
			if err != nil {
				return nil, fmt.Errorf("field %s: %w", f.name, err)
			}
			d[f.name] = n
		}
		return d, nil
	}
	return nil, fmt.Errorf("cannot encode %s as a WAMP value", rv.Type())
}
