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
