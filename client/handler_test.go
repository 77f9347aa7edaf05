package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

type point struct {
	X    int    `wamp:"x"`
	Y    int    `json:"y"`
	Name string // matched case-insensitively
	Skip string `json:"-"`
}

func invoke(t *testing.T, fn any, names []string, args wamp.List, kwargs wamp.Dict) (Result, error) {
	t.Helper()
	h, err := procHandlerOf(fn, names)
	if err != nil {
		t.Fatalf("procHandlerOf: %v", err)
	}
	cc := &CallContext{Context: context.Background(), Invocation: &Invocation{Args: args, Kwargs: kwargs}}
	return h(cc)
}

func TestTypedHandlerDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fn     any
		names  []string
		args   wamp.List
		kwargs wamp.Dict
		want   any    // single result arg
		err    string // substring of the ArgumentError
	}{
		{"ints from json floats", func(a, b int) int { return a + b }, nil, wamp.List{2.0, int64(3)}, nil, int64(5), ""},
		{"uint8 from int64", func(a uint8) uint8 { return a }, nil, wamp.List{int64(200)}, nil, uint64(200), ""},
		{"uint8 overflow", func(a uint8) uint8 { return a }, nil, wamp.List{int64(300)}, nil, nil, "argument 1: 300 overflows uint8"},
		{"negative uint", func(a uint) uint { return a }, nil, wamp.List{int64(-1)}, nil, nil, "argument 1: -1 is negative"},
		{"fraction into int", func(a int) int { return a }, nil, wamp.List{1.5}, nil, nil, "argument 1: want int, got float64"},
		{"float from int", func(a float64) float64 { return a }, nil, wamp.List{int64(7)}, nil, 7.0, ""},
		{"float from huge int", func(a float64) float64 { return a }, nil, wamp.List{int64(1<<53 + 1)}, nil, nil, "cannot be represented exactly"},
		{"string mismatch named", func(cc *CallContext, realm, authid string, details map[string]any) (map[string]any, error) {
			return details, nil
		}, []string{"realm", "authid", "details"}, wamp.List{"realm1", 12.0, wamp.Dict{}}, nil, nil, "argument 2 (authid): want string, got float64"},
		{"too few", func(a, b int) int { return a + b }, nil, wamp.List{int64(1)}, nil, nil, "want 2 arguments, got 1"},
		{"too many", func(a int) int { return a }, nil, wamp.List{int64(1), int64(2)}, nil, nil, "want 1 arguments, got 2"},
		{"struct from kwargs", func(ctx context.Context, p point) string { return p.Name }, nil, nil,
			wamp.Dict{"x": int64(1), "y": int64(2), "name": "n"}, "n", ""},
		{"struct kwargs mismatch", func(p point) int { return p.X }, nil, nil, wamp.Dict{"x": "one"}, nil, `kwargs: key "x": want int, got string`},
		{"pointer struct positional", func(p *point) int { return p.X + p.Y }, nil, wamp.List{wamp.Dict{"x": int64(1), "Y": int64(2)}}, nil, int64(3), ""},
		{"map kwargs empty", func(a int, kw map[string]int) int { return a + len(kw) }, nil, wamp.List{int64(1)}, nil, int64(1), ""},
		{"variadic", func(xs ...int) int {
			s := 0
			for _, x := range xs {
				s += x
			}
			return s
		}, nil, wamp.List{int64(1), int64(2), int64(3)}, nil, int64(6), ""},
		{"variadic element mismatch", func(xs ...int) int { return 0 }, nil, wamp.List{int64(1), "x"}, nil, nil, "argument 2: want int, got string"},
		{"slice", func(xs []string) int { return len(xs) }, nil, wamp.List{wamp.List{"a", "b"}}, nil, int64(2), ""},
		{"slice element mismatch", func(xs []string) int { return len(xs) }, nil, wamp.List{wamp.List{"a", true}}, nil, nil, "argument 1: element 1: want string, got bool"},
		{"any", func(v any) any { return v }, nil, wamp.List{wamp.List{int64(1)}}, nil, wamp.List{int64(1)}, ""},
		{"bytes", func(b []byte) int { return len(b) }, nil, wamp.List{[]byte{1, 2}}, nil, int64(2), ""},
		{"time", func(tm time.Time) int { return tm.Year() }, nil, wamp.List{"2024-01-02T03:04:05Z"}, nil, int64(2024), ""},
		{"nil into pointer", func(p *int) bool { return p == nil }, nil, wamp.List{nil}, nil, true, ""},
		{"struct result", func() point { return point{X: 1, Y: 2, Name: "p"} }, nil, nil, nil, wamp.Dict{"x": int64(1), "y": int64(2), "Name": "p"}, ""},
		{"array", func(a [2]int) int { return a[0] + a[1] }, nil, wamp.List{wamp.List{int64(1), int64(2)}}, nil, int64(3), ""},
		{"array wrong length", func(a [2]int) int { return 0 }, nil, wamp.List{wamp.List{int64(1)}}, nil, nil, "want [2]int, got list of 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := invoke(t, tt.fn, tt.names, tt.args, tt.kwargs)
			if tt.err != "" {
				var ae *ArgumentError
				if !errors.As(err, &ae) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ArgumentError containing %q", err, tt.err)
				}
				if he := handlerError(err); he.URI != wamp.ErrInvalidArgument {
					t.Fatalf("handlerError URI = %s", he.URI)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if len(res.Args) != 1 || !equalValue(res.Args[0], tt.want) {
				t.Fatalf("result = %#v, want [%#v]", res.Args, tt.want)
			}
		})
	}
}

func equalValue(a, b any) bool {
	switch x := a.(type) {
	case wamp.List:
		y, ok := b.(wamp.List)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equalValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case wamp.Dict:
		y, ok := b.(wamp.Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k := range x {
			if !equalValue(x[k], y[k]) {
				return false
			}
		}
		return true
	}
	return a == b
}

func TestTypedHandlerResults(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	tests := []struct {
		name string
		fn   any
		args wamp.List
		uri  wamp.URI // expected error URI, "" for success
		n    int      // result args
	}{
		{"error only nil", func() error { return nil }, nil, "", 0},
		{"error only", func() error { return boom }, nil, wamp.ErrRuntimeError, 0},
		{"wamp error", func() (int, error) { return 0, NewError("com.example.oops", "x") }, nil, "com.example.oops", 0},
		{"wrapped wamp error", func() error { return errors.Join(boom, NewError("com.example.wrapped")) }, nil, "com.example.wrapped", 0},
		{"Result as is", func() (Result, error) { return Result{Args: wamp.List{1, 2}}, nil }, nil, "", 2},
		{"*Result nil", func() (*Result, error) { return nil, nil }, nil, "", 0},
		{"no results", func(int) {}, wamp.List{int64(1)}, "", 0},
		{"plain", func(ctx context.Context, inv *Invocation) (Result, error) { return Result{Args: inv.Args}, nil }, wamp.List{1}, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := invoke(t, tt.fn, nil, tt.args, nil)
			if tt.uri != "" {
				if he := handlerError(err); he.URI != tt.uri {
					t.Fatalf("err = %v (URI %s), want %s", err, he.URI, tt.uri)
				}
				return
			}
			if err != nil || len(res.Args) != tt.n {
				t.Fatalf("res = %#v, err = %v; want %d args", res, err, tt.n)
			}
		})
	}
	if he := handlerError(boom); len(he.Args) != 1 || he.Args[0] != "boom" {
		t.Fatalf("runtime_error args = %v", he.Args)
	}
}

func TestHandlerValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fn    any
		event bool
		want  string
	}{
		{"nil", nil, false, "nil handler"},
		{"not a func", 42, false, "must be a non-nil function"},
		{"nil func", (func(int))(nil), false, "must be a non-nil function"},
		{"chan param", func(chan int) {}, false, "parameter 1 (chan int)"},
		{"interface param", func(error) {}, false, "cannot decode into interface"},
		{"int map key", func(map[int]string) {}, false, "map key must be a string"},
		{"second result not error", func() (int, int) { return 0, 0 }, false, "second result must be error"},
		{"three results", func() (int, int, error) { return 0, 0, nil }, false, "at most (value, error)"},
		{"func result", func() func() { return nil }, false, "cannot encode func()"},
		{"event with result", func(int) int { return 0 }, true, "event handler may return only error"},
		{"struct field chan", func(struct{ C chan int }) {}, false, "field C"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if tt.event {
				_, err = eventHandlerOf(tt.fn, nil)
			} else {
				_, err = procHandlerOf(tt.fn, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	type inner struct {
		A []int `wamp:"a,omitempty"`
		B map[string]uint16
	}
	l := wamp.List{int64(1), "x"}
	got, err := normalizeList(l)
	if err != nil || &got[0] != &l[0] {
		t.Fatal("an already normal list must be returned unchanged")
	}
	v, err := normalize(wamp.List{1, int8(2), uint32(3), float32(1.5), wamp.ID(7), wamp.URI("a.b"), inner{B: map[string]uint16{"k": 1}}, []string{"s"}, nil})
	if err != nil {
		t.Fatal(err)
	}
	want := wamp.List{int64(1), int64(2), uint64(3), 1.5, uint64(7), "a.b", wamp.Dict{"B": wamp.Dict{"k": uint64(1)}}, wamp.List{"s"}, nil}
	if !equalValue(v, want) {
		t.Fatalf("normalize = %#v\nwant %#v", v, want)
	}
	if _, err := normalize(wamp.List{make(chan int)}); err == nil || !strings.Contains(err.Error(), "element 0: cannot encode chan int") {
		t.Fatalf("err = %v", err)
	}
	if _, err := normalize(map[int]int{1: 1}); err == nil {
		t.Fatal("int-keyed map must fail")
	}
}

func TestOptionsResolve(t *testing.T) {
	t.Parallel()
	none := &SessionInfo{}
	all := &SessionInfo{Roles: wamp.Dict{
		"dealer": wamp.Dict{"features": wamp.Dict{"call_canceling": true, "progressive_call_results": true, "caller_identification": true,
			"call_timeout": true, "pattern_based_registration": true, "shared_registration": true, "payload_passthru_mode": true}},
		"broker": wamp.Dict{"features": wamp.Dict{"publisher_identification": true, "publisher_exclusion": true,
			"subscriber_blackwhite_listing": true, "pattern_based_subscription": true, "event_retention": true,
			"payload_passthru_mode": true}},
	}}
	tests := []struct {
		name string
		k    opKind
		si   *SessionInfo
		opts []Option
		want string // "" ok; else error substring
	}{
		{"cancel unsupported", opCall, none, []Option{CancelMode(wamp.CancelKill)}, "client: router does not support call_canceling"},
		{"cancel ok", opCall, all, []Option{CancelMode(wamp.CancelKill)}, ""},
		{"cancel bad mode", opCall, all, []Option{CancelMode("hard")}, `cancel mode "hard"`},
		{"progress unsupported", opCall, none, []Option{ReceiveProgress(func(*Result) {})}, "progressive_call_results"},
		{"timeout unsupported", opCall, none, []Option{CallTimeout(time.Second)}, "call_timeout"},
		{"disclose call", opCall, none, []Option{DiscloseMe()}, "caller_identification"},
		{"disclose publish", opPublish, none, []Option{DiscloseMe()}, "publisher_identification"},
		{"match on call", opCall, all, []Option{Match("prefix")}, "Match does not apply to Call"},
		{"prefix sub unsupported", opSubscribe, none, []Option{Match("prefix")}, "pattern_based_subscription"},
		{"prefix reg unsupported", opRegister, none, []Option{Match("wildcard")}, "pattern_based_registration"},
		{"exact needs nothing", opRegister, none, []Option{Match("exact")}, ""},
		{"bad match", opSubscribe, all, []Option{Match("regex")}, `match policy "regex"`},
		{"invoke unsupported", opRegister, none, []Option{Invoke(wamp.InvokeRoundRobin)}, "shared_registration"},
		{"invoke single ok", opRegister, none, []Option{Invoke(wamp.InvokeSingle)}, ""},
		{"exclude unsupported", opPublish, none, []Option{Exclude(1)}, "subscriber_blackwhite_listing"},
		{"exclude bad id", opPublish, all, []Option{Exclude(0)}, "invalid session id"},
		{"exclude_me unsupported", opPublish, none, []Option{ExcludeMe(false)}, "publisher_exclusion"},
		{"zero option", opCall, all, []Option{{}}, "zero Option"},
		{"wire option anywhere", opSubscribe, none, []Option{WireOption("x_custom", 1)}, ""},
		{"retain unsupported", opPublish, none, []Option{Retain()}, "event_retention"},
		{"retain on subscribe", opSubscribe, all, []Option{Retain()}, "Retain does not apply to Subscribe"},
		{"get_retained unsupported", opSubscribe, none, []Option{GetRetained()}, "event_retention"},
		{"ppt call unsupported", opCall, none, []Option{PPT("wamp", "", "", "")}, "client: router does not support payload_passthru_mode"},
		{"ppt publish unsupported", opPublish, none, []Option{PPT("wamp", "", "", "")}, "payload_passthru_mode"},
		{"ppt empty scheme", opCall, all, []Option{PPT("", "cbor", "", "")}, "PPT with an empty scheme"},
		{"ppt on register", opRegister, all, []Option{PPT("wamp", "", "", "")}, "PPT does not apply to Register"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := resolveOptions(tt.k, tt.si, tt.opts)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	_, err := resolveOptions(opCall, none, []Option{CancelMode(wamp.CancelKill)})
	var fe *FeatureError
	if !errors.As(err, &fe) || !errors.Is(err, ErrUnsupported) || fe.Feature != "call_canceling" {
		t.Fatalf("want *FeatureError wrapping ErrUnsupported, got %v", err)
	}
}
