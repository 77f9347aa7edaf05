package wamp_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

var errPlain = errors.New("plain")

func fmtWrap(err error) error { return fmt.Errorf("layer: %w", err) }

func TestOptAccessors(t *testing.T) {
	t.Parallel()
	d := wamp.Dict{
		"b": true, "s": "str", "d": wamp.Dict{"x": int64(1)}, "i": int64(42), "u8": uint8(7),
		"f": 3.0, "fx": 3.5, "id": uint64(5), "id0": int64(0), "idbig": uint64(wamp.MaxID) + 1, "idneg": int64(-1),
		"strs": wamp.List{"a", "b"}, "mixed": wamp.List{"a", int64(1)}, "ids": wamp.List{int64(1), 2.0, uint32(3)},
		"badids": wamp.List{int64(1), int64(0)}, "nil": nil, "typedstrs": []string{"a"},
	}
	if !wamp.Has(d, "nil") || wamp.Has(d, "missing") || wamp.Has(nil, "x") {
		t.Fatal("Has wrong")
	}
	type check struct {
		name   string
		got    any
		gotOK  bool
		want   any
		wantOK bool
	}
	var checks []check
	add := func(name string, want any, wantOK bool, got any, ok bool) {
		checks = append(checks, check{name, got, ok, want, wantOK})
	}
	b, ok := wamp.OptBool(d, "b")
	add("OptBool b", true, true, b, ok)
	for _, k := range []string{"s", "i", "nil", "missing"} {
		b, ok := wamp.OptBool(d, k)
		add("OptBool "+k, false, false, b, ok)
	}
	s, ok := wamp.OptString(d, "s")
	add("OptString s", "str", true, s, ok)
	for _, k := range []string{"b", "d", "nil", "missing"} {
		s, ok := wamp.OptString(d, k)
		add("OptString "+k, "", false, s, ok)
	}
	dd, ok := wamp.OptDict(d, "d")
	add("OptDict d", wamp.Dict{"x": int64(1)}, true, dd, ok)
	for _, k := range []string{"s", "strs", "nil"} {
		dd, ok := wamp.OptDict(d, k)
		add("OptDict "+k, wamp.Dict(nil), false, dd, ok)
	}
	for k, want := range map[string]int64{"i": 42, "u8": 7, "f": 3, "id": 5} {
		n, ok := wamp.OptInt(d, k)
		add("OptInt "+k, want, true, n, ok)
	}
	for _, k := range []string{"fx", "s", "b", "nil", "missing", "strs"} {
		n, ok := wamp.OptInt(d, k)
		add("OptInt "+k, int64(0), false, n, ok)
	}
	id, ok := wamp.OptID(d, "id")
	add("OptID id", wamp.ID(5), true, id, ok)
	for _, k := range []string{"id0", "idbig", "idneg", "fx", "s", "missing"} {
		id, ok := wamp.OptID(d, k)
		add("OptID "+k, wamp.ID(0), false, id, ok)
	}
	ss, ok := wamp.OptStrings(d, "strs")
	add("OptStrings strs", []string{"a", "b"}, true, ss, ok)
	for _, k := range []string{"mixed", "s", "typedstrs", "missing"} {
		ss, ok := wamp.OptStrings(d, k)
		add("OptStrings "+k, []string(nil), false, ss, ok)
	}
	ids, ok := wamp.OptIDs(d, "ids")
	add("OptIDs ids", []wamp.ID{1, 2, 3}, true, ids, ok)
	for _, k := range []string{"badids", "mixed", "s", "missing"} {
		ids, ok := wamp.OptIDs(d, k)
		add("OptIDs "+k, []wamp.ID(nil), false, ids, ok)
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.gotOK != c.wantOK || !reflect.DeepEqual(c.got, c.want) {
				t.Fatalf("got (%#v, %v), want (%#v, %v)", c.got, c.gotOK, c.want, c.wantOK)
			}
		})
	}
}

func TestAsInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   any
		want int64
		ok   bool
	}{
		{int(-5), -5, true}, {int8(math.MinInt8), math.MinInt8, true}, {int16(300), 300, true},
		{int32(math.MaxInt32), math.MaxInt32, true}, {int64(math.MinInt64), math.MinInt64, true},
		{uint(7), 7, true}, {uint8(255), 255, true}, {uint16(65535), 65535, true}, {uint32(math.MaxUint32), math.MaxUint32, true},
		{uint64(math.MaxInt64), math.MaxInt64, true}, {uint64(math.MaxInt64) + 1, 0, false}, {uint(math.MaxUint), 0, false},
		{1.0, 1, true}, {math.Copysign(0, -1), 0, true}, {float32(2), 2, true}, {float32(2.5), 0, false}, {1.5, 0, false},
		{math.NaN(), 0, false}, {math.Inf(1), 0, false}, {math.Inf(-1), 0, false},
		{-9223372036854775808.0, math.MinInt64, true},
		// 2^63 is the first float above MaxInt64 (which rounds to 2^63 as a float).
		{9223372036854775808.0, 0, false}, {float32(9223372036854775808.0), 0, false}, {1e19, 0, false}, {-1e19, 0, false},
		{"1", 0, false}, {nil, 0, false}, {true, 0, false}, {wamp.ID(3), 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%T(%v)", tt.in, tt.in), func(t *testing.T) {
			t.Parallel()
			got, ok := wamp.AsInt(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("AsInt(%#v) = (%d, %v), want (%d, %v)", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}
