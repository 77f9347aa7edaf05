package client

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

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
func decodeValue(dst reflect.Value, v any) error {
	t := dst.Type()
	switch t.Kind() {
	case reflect.Pointer:
		if v == nil {
			return nil
		}
		p := reflect.New(t.Elem())
		if err := decodeValue(p.Elem(), v); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Interface:
		if v == nil {
			return nil
		}
		rv := reflect.ValueOf(v)
		if !rv.Type().AssignableTo(t) {
			return mismatch(t, v)
		}
		dst.Set(rv)
		return nil
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return mismatch(t, v)
		}
		dst.SetBool(b)
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return mismatch(t, v)
		}
		dst.SetString(s)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := wamp.AsInt(v)
		if !ok || dst.OverflowInt(n) {
			if ok {
				return fmt.Errorf(": %d overflows %s", n, t)
			}
			return mismatch(t, v)
		}
		dst.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return decodeUint(dst, v)
	case reflect.Float32, reflect.Float64:
		return decodeFloat(dst, v)
	case reflect.Slice, reflect.Array:
		return decodeList(dst, v)
	case reflect.Map:
		return decodeMap(dst, v)
	case reflect.Struct:
		return decodeStruct(dst, v)
	default:
		return mismatch(t, v)
	}
	return nil
}

func mismatch(t reflect.Type, v any) error { return fmt.Errorf(": want %s, got %s", t, typeName(v)) }

func decodeUint(dst reflect.Value, v any) error {
	t := dst.Type()
	var u uint64
	switch n := v.(type) {
	case uint64:
		u = n
	default:
		i, ok := wamp.AsInt(v)
		if !ok {
			return mismatch(t, v)
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
	return nil
}

// decodeFloat accepts integers only where float64 holds them exactly.
func decodeFloat(dst reflect.Value, v any) error {
	t := dst.Type()
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
			return mismatch(t, v)
		}
		f = float64(i)
	}
	if t.Kind() == reflect.Float32 && math.Abs(f) > math.MaxFloat32 && !math.IsInf(f, 0) {
		return fmt.Errorf(": %v overflows float32", f)
	}
	dst.SetFloat(f)
	return nil
}

// decodeList fills a slice or an array from a wamp.List ([]byte also from
// a binary value).
func decodeList(dst reflect.Value, v any) error {
	t := dst.Type()
	if t.Kind() == reflect.Array {
		l, ok := v.(wamp.List)
		if !ok || len(l) != t.Len() {
			if ok {
				return fmt.Errorf(": want %s, got list of %d", t, len(l))
			}
			return mismatch(t, v)
		}
		return decodeElems(dst, l)
	}
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
		return mismatch(t, v)
	}
	s := reflect.MakeSlice(t, len(l), len(l))
	if err := decodeElems(s, l); err != nil {
		return err
	}
	dst.Set(s)
	return nil
}

func decodeElems(dst reflect.Value, l wamp.List) error {
	for i, e := range l {
		if err := decodeValue(dst.Index(i), e); err != nil {
			return fmt.Errorf(": element %d%s", i, err.Error())
		}
	}
	return nil
}

func decodeMap(dst reflect.Value, v any) error {
	t := dst.Type()
	if v == nil {
		return nil
	}
	d, ok := v.(wamp.Dict)
	if !ok {
		return mismatch(t, v)
	}
	m := reflect.MakeMapWithSize(t, len(d))
	for k, e := range d {
		ev := reflect.New(t.Elem()).Elem()
		if err := decodeValue(ev, e); err != nil {
			return fmt.Errorf(": key %q%s", k, err.Error())
		}
		m.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), ev)
	}
	dst.Set(m)
	return nil
}

// decodeStruct fills a struct from a dict (see structFields), or a
// time.Time from an RFC 3339 string.
func decodeStruct(dst reflect.Value, v any) error {
	t := dst.Type()
	if t == typeTime {
		s, ok := v.(string)
		if !ok {
			return mismatch(t, v)
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
		return mismatch(t, v)
	}
	fields := structFields(t)
	for k, e := range d {
		f, ok := findField(fields, k)
		if !ok {
			continue // unknown keys are ignored, as encoding/json does
		}
		if err := decodeValue(dst.Field(f.index), e); err != nil {
			return fmt.Errorf(": key %q%s", k, err.Error())
		}
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
