package codec

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

func benchMessages() []struct {
	name string
	m    wamp.Message
} {
	return []struct {
		name string
		m    wamp.Message
	}{
		{"call", &wamp.Call{Request: 12345, Options: wamp.Dict{}, Procedure: "com.example.add2",
			Payload: wamp.Payload{Args: wamp.List{int64(2), int64(3)}}}},
		{"hello", benchHello()},
		{"event", &wamp.Event{Subscription: 5512315355, Publication: 4429313566, Details: wamp.Dict{"topic": "com.example.topic"},
			Payload: wamp.Payload{Args: wamp.List{"hello"}, Kwargs: wamp.Dict{"color": "blue", "size": int64(42), "ratio": 0.5, "tags": wamp.List{"a", "b"}}}}},
	}
}

// benchHello is a HELLO as the Go client sends it: every session's first
// message, decoded once per session.
func benchHello() *wamp.Hello {
	role := func(features ...string) wamp.Dict { return wamp.Dict{"features": wamp.Features(features...)} }
	return &wamp.Hello{Realm: "realm1", Details: wamp.Dict{"agent": "tollgate", "roles": wamp.Dict{
		wamp.RoleCaller: role(wamp.FeatureProgressiveCallResults, wamp.FeatureCallCanceling, wamp.FeatureCallTimeout,
			wamp.FeatureCallerIdentification, wamp.FeaturePayloadPassthruMode),
		wamp.RoleCallee: role(wamp.FeatureProgressiveCallResults, wamp.FeatureCallCanceling,
			wamp.FeaturePatternBasedRegistration, wamp.FeatureSharedRegistration, wamp.FeatureRegistrationRevocation),
		wamp.RolePublisher:  role(wamp.FeaturePublisherIdentification, wamp.FeaturePublisherExclusion),
		wamp.RoleSubscriber: role(wamp.FeaturePatternBasedSubscription, wamp.FeatureSubscriptionRevocation),
	}}}
}

func BenchmarkEncode(b *testing.B) {
	for _, c := range All() {
		for _, bm := range benchMessages() {
			// Encode a decoded message, as the router does: the payload
			// is raw and copied.
			enc, _ := c.Encode(nil, bm.m)
			m, err := c.Decode(enc)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(c.Name()+"/"+bm.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(enc)))
				buf := make([]byte, 0, 1024)
				for b.Loop() {
					if _, err := c.Encode(buf[:0], m); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(c.Name()+"/"+bm.name+"-values", func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, 1024)
				for b.Loop() {
					if _, err := c.Encode(buf[:0], bm.m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, c := range All() {
		for _, bm := range benchMessages() {
			enc, err := c.Encode(nil, bm.m)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(c.Name()+"/"+bm.name, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(enc)))
				for b.Loop() {
					if _, err := c.Decode(enc); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkTranscode decodes a message in one codec and encodes it in
// another, decoding the payload on the way (a router bridging serializers).
func BenchmarkTranscode(b *testing.B) {
	pairs := [][2]Codec{{MsgPack, JSON}, {JSON, MsgPack}, {CBOR, MsgPack}}
	for _, pr := range pairs {
		for _, bm := range benchMessages() {
			enc, err := pr[0].Encode(nil, bm.m)
			if err != nil {
				b.Fatal(err)
			}
			b.Run(pr[0].Name()+"-"+pr[1].Name()+"/"+bm.name, func(b *testing.B) {
				b.ReportAllocs()
				buf := make([]byte, 0, 1024)
				for b.Loop() {
					m, err := pr[0].Decode(enc)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := pr[1].Encode(buf[:0], m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
