package chaos_test

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/internal/chaos"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Malformed messages, before and after WELCOME, end the session with
// ABORT wamp.error.protocol_violation (counted); a well-formed request
// with an invalid URI gets ERROR wamp.error.invalid_uri and the session
// goes on.
func TestMalformed(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	cases := []struct {
		name, ser string
		joined    bool
		frame     string
	}{
		{"bad json", "json", false, `[1, "realm1", {"roles":`},
		{"bad json joined", "json", true, `[48, 1, {}, "a.b"`},
		{"json not a list", "json", false, `{"hello": 1}`},
		{"bad msgpack", "msgpack", false, "\xc1\xc1\xc1"},
		{"truncated msgpack", "msgpack", true, "\x94\x30\x01\x80"},
		{"bad cbor", "cbor", false, "\xff\xff"},
		{"truncated cbor", "cbor", true, "\x84\x18\x30\x01"},
		{"wrong types hello", "json", false, `[1, 5, {"roles": {}}]`},
		{"wrong types call", "json", true, `[48, "one", {}, "chaos.p"]`},
		{"hello roles not a dict", "json", false, `[1, "realm1", {"roles": 3}]`},
		{"unknown code", "json", false, `[999, 1, {}]`},
		{"unknown code joined", "json", true, `[999, 1, {}]`},
		{"router-only message", "json", true, `[36, 1, 2, {}]`},
		{"not hello first", "json", false, `[48, 1, {}, "chaos.p"]`},
		{"negative id", "json", true, `[48, -1, {}, "chaos.p"]`},
	}
	for _, kind := range kinds {
		for _, c := range cases {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				var p *chaos.Peer
				if c.joined {
					p = joined(t, srv, kind, c.ser)
				} else {
					p = dial(t, srv, kind, c.ser)
				}
				before := srv.Router().Stats().ProtocolViolations
				if err := p.SendRaw(ctxT(t, 5e9), []byte(c.frame)); err != nil {
					t.Fatal(err)
				}
				expectClosed(t, p, "ABORT "+string(wamp.ErrProtocolViolation))
				if got := srv.Router().Stats().ProtocolViolations - before; got < 1 {
					t.Errorf("ProtocolViolations +%d, want ≥ 1", got)
				}
			})
		}
		t.Run(kind+"/invalid uris", func(t *testing.T) {
			p := joined(t, srv, kind, "json")
			for _, m := range []wamp.Message{
				&wamp.Subscribe{Request: p.Next(), Options: wamp.Dict{}, Topic: "Bad URI..x"},
				&wamp.Register{Request: p.Next(), Options: wamp.Dict{}, Procedure: "chaos..p"},
				&wamp.Call{Request: p.Next(), Options: wamp.Dict{}, Procedure: "chaos.p q"},
				&wamp.Publish{Request: p.Next(), Options: wamp.Dict{"acknowledge": true}, Topic: ".chaos"},
			} {
				send(t, p, m)
				req := wamp.ID(0)
				switch v := m.(type) {
				case *wamp.Subscribe:
					req = v.Request
				case *wamp.Register:
					req = v.Request
				case *wamp.Call:
					req = v.Request
				case *wamp.Publish:
					req = v.Request
				}
				expectError(t, p, req, wamp.ErrInvalidURI)
			}
			healthy(t, srv, kind)
		})
	}
}
