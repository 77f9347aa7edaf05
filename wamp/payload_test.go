package wamp_test

import (
	"reflect"
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

func TestPayloadValues(t *testing.T) {
	t.Parallel()
	t.Run("plain", func(t *testing.T) {
		t.Parallel()
		p := wamp.Payload{Args: wamp.List{"a"}, Kwargs: wamp.Dict{"k": int64(1)}}
		a, k, err := p.Values()
		if err != nil || !reflect.DeepEqual(a, p.Args) || !reflect.DeepEqual(k, p.Kwargs) || p.Empty() {
			t.Fatalf("Values = %v %v %v", a, k, err)
		}
		if !(&wamp.Payload{}).Empty() || !(&wamp.Payload{Args: wamp.List{}}).Empty() {
			t.Fatal("empty payload not Empty")
		}
	})
	for _, c := range codec.All() {
		t.Run("raw/"+c.Name(), func(t *testing.T) {
			t.Parallel()
			args, _ := c.EncodeValue(nil, wamp.List{"x", int64(-2), []byte{1}})
			kwargs, _ := c.EncodeValue(nil, wamp.Dict{"n": nil, "f": 0.5})
			p := wamp.Payload{Args: wamp.List{"ignored"}, Raw: &wamp.RawPayload{Codec: c, Args: args, Kwargs: kwargs}}
			if p.Empty() {
				t.Fatal("raw payload reported Empty")
			}
			a, k, err := p.Values()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, wamp.List{"x", int64(-2), []byte{1}}) || !reflect.DeepEqual(k, wamp.Dict{"n": nil, "f": 0.5}) {
				t.Fatalf("Values = %#v %#v", a, k)
			}
			d, err := p.Decoded()
			if err != nil || d.Raw != nil || !reflect.DeepEqual(d.Args, a) {
				t.Fatalf("Decoded = %+v, %v", d, err)
			}
			// Kwargs only: Args stays nil.
			p = wamp.Payload{Raw: &wamp.RawPayload{Codec: c, Kwargs: kwargs}}
			if a, k, err := p.Values(); err != nil || a != nil || len(k) != 2 {
				t.Fatalf("kwargs-only Values = %v %v %v", a, k, err)
			}
			if !(&wamp.Payload{Raw: &wamp.RawPayload{Codec: c}}).Empty() {
				t.Fatal("raw payload without bytes not Empty")
			}
			// Corrupt bytes give an error, not a panic.
			p = wamp.Payload{Raw: &wamp.RawPayload{Codec: c, Args: args[:len(args)-1]}}
			if _, _, err := p.Values(); err == nil {
				t.Fatal("truncated raw args decoded")
			}
			p = wamp.Payload{Raw: &wamp.RawPayload{Codec: c, Kwargs: args}}
			if _, err := p.Decoded(); err == nil {
				t.Fatal("list decoded as kwargs")
			}
		})
	}
	if wamp.PayloadOf(&wamp.Hello{}) != nil {
		t.Fatal("PayloadOf(HELLO) not nil")
	}
	c := &wamp.Call{}
	if wamp.PayloadOf(c) != &c.Payload {
		t.Fatal("PayloadOf(CALL) does not point into the message")
	}
}
