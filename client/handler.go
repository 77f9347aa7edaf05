package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
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
		if err := decodeValue(dst, kw); err != nil {
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
	if err := decodeValue(dst, v); err != nil {
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
