package dealer

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestGraceRing(t *testing.T) {
	t.Parallel()
	var g grace
	for i := 1; i <= graceSize+10; i++ {
		g.add(wamp.ID(i))
		g.add(wamp.ID(i)) // twice: one slot
	}
	for i := 1; i <= 10; i++ {
		if g.contains(wamp.ID(i)) {
			t.Errorf("id %d should have been pushed out", i)
		}
	}
	for i := 11; i <= graceSize+10; i++ {
		if !g.contains(wamp.ID(i)) {
			t.Errorf("id %d forgotten", i)
		}
	}
}

func TestPPTDetails(t *testing.T) {
	t.Parallel()
	cases := []struct {
		opts wamp.Dict
		want int // keys, -1 for nil
	}{
		{wamp.Dict{}, -1},
		{wamp.Dict{"ppt_scheme": ""}, -1},
		{wamp.Dict{"ppt_cipher": "x"}, -1},
		{wamp.Dict{"ppt_scheme": "mqtt", "progress": true}, 1},
		{wamp.Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "aes256gcm", "ppt_keyid": "k", "timeout": 5}, 4},
	}
	for _, c := range cases {
		got := pptDetails(c.opts)
		if c.want < 0 && got != nil || c.want >= 0 && len(got) != c.want {
			t.Errorf("pptDetails(%v) = %v", c.opts, got)
		}
	}
}
