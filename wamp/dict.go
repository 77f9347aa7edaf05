package wamp

import "math"

// The Opt* helpers read one key of an Options/Details dict coming from a
// peer. They never panic: a missing key or a value of the wrong type yields
// ok=false, so callers can tell "absent" from "wrong type" by checking
// presence with Has.

// Has reports whether d contains key.
func Has(d Dict, key string) bool { _, ok := d[key]; return ok }

// OptBool returns d[key] as a bool.
func OptBool(d Dict, key string) (v, ok bool) {
	v, ok = d[key].(bool)
	return v, ok
}

// OptString returns d[key] as a string.
func OptString(d Dict, key string) (string, bool) {
	v, ok := d[key].(string)
	return v, ok
}

// OptDict returns d[key] as a Dict.
func OptDict(d Dict, key string) (Dict, bool) {
	v, ok := d[key].(Dict)
	return v, ok
}

// OptInt returns d[key] as an int64, accepting any integer type and floats
// with an integral value (JSON peers send those).
func OptInt(d Dict, key string) (int64, bool) {
	return AsInt(d[key])
}

// OptID returns d[key] as a valid ID.
func OptID(d Dict, key string) (ID, bool) {
	n, ok := AsInt(d[key])
	if !ok || !ID(n).Valid() {
		return 0, false
	}
	return ID(n), true
}

// OptStrings returns d[key] as a list of strings.
func OptStrings(d Dict, key string) ([]string, bool) {
	l, ok := d[key].(List)
	if !ok {
		return nil, false
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, false
		}
		out[i] = s
	}
	return out, true
}

// OptIDs returns d[key] as a list of valid IDs.
func OptIDs(d Dict, key string) ([]ID, bool) {
	l, ok := d[key].(List)
	if !ok {
		return nil, false
	}
	out := make([]ID, len(l))
	for i, e := range l {
		n, ok := AsInt(e)
		if !ok || !ID(n).Valid() {
			return nil, false
		}
		out[i] = ID(n)
	}
	return out, true
}

// AsFloat converts any Go number to float64: floats as they are, integers
// as AsInt takes them.
func AsFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	}
	i, ok := AsInt(v)
	return float64(i), ok
}

// AsInt converts any Go integer type, or a float with an integral value,
// to int64.
func AsInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		if uint64(n) > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	case float32:
		return floatInt(float64(n))
	case float64:
		return floatInt(n)
	}
	return 0, false
}

func floatInt(f float64) (int64, bool) {
	// float64(MaxInt64) rounds up to 2^63, which does not fit int64, so the
	// upper bound is exclusive; -2^63 is exact and fits.
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}
