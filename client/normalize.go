package client

import (
	"fmt"
	"reflect"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func normalizePayload(args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	a, err := normalizeList(args)
	if err != nil {
		return nil, nil, fmt.Errorf("client: args: %w", err)
	}
	k, err := normalizeDict(kwargs)
	if err != nil {
		return nil, nil, fmt.Errorf("client: kwargs: %w", err)
	}
	return a, k, nil
}

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
