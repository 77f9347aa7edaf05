package rawsocket

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Each input is fed in two halves to exercise partial reads.

func FuzzAcceptHandshake(f *testing.F) {
	f.Add([]byte{0x7F, 0xF1, 0, 0})
	f.Add([]byte{0x7F, 0x72, 0, 0, 0, 0, 0, 3, '[', '1', ']'})
	f.Add([]byte{0x7F, 0x03, 0, 1})
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{0x7F})
	f.Fuzz(func(t *testing.T, data []byte) {
		mc := &memConn{r: splitReader(data)}
		c, err := Accept(context.Background(), mc, ServerOptions{MaxMessageSize: 4096})
		reply := mc.out.Bytes()
		if err != nil {
			if c != nil {
				t.Fatal("Conn returned with error")
			}
			if len(reply) != 0 && (len(reply) != 4 || reply[0] != Magic || reply[1]&0x0F != 0 || reply[1] == 0) {
				t.Fatalf("error reply % X", reply)
			}
			return
		}
		if len(data) < 4 || data[0] != Magic || data[2] != 0 || data[3] != 0 {
			t.Fatalf("accepted bad hello % X", data[:min(4, len(data))])
		}
		id := data[1] & 0x0F
		if _, ok := codec.ByID(id); !ok {
			t.Fatalf("accepted serializer %d", id)
		}
		if want := []byte{Magic, 3<<4 | id, 0, 0}; !bytes.Equal(reply, want) {
			t.Fatalf("reply % X, want % X", reply, want)
		}
		if c.MaxSendSize() != sendLimit(data[1]>>4) {
			t.Fatalf("MaxSendSize %d for L=%d", c.MaxSendSize(), data[1]>>4)
		}
		for range 4 { // the rest is frames; must not panic
			if _, err := c.Read(context.Background()); err != nil {
				break
			}
		}
	})
}

func FuzzClientHandshake(f *testing.F) {
	f.Add([]byte{0x7F, 0xF1, 0, 0})
	f.Add([]byte{0x7F, 0x40, 0, 0})
	f.Add([]byte{0x7F, 0x02, 0, 0})
	f.Add([]byte("HTTP"))
	f.Fuzz(func(t *testing.T, data []byte) {
		mc := &memConn{r: splitReader(data)}
		c, err := Client(context.Background(), mc, DialOptions{})
		var he *HandshakeError
		if errors.As(err, &he) {
			if data[1]&0x0F != 0 || he.Code != ErrorCode(data[1]>>4) {
				t.Fatalf("HandshakeError %d from % X", he.Code, data[:4])
			}
			return
		}
		if err != nil {
			return
		}
		if data[0] != Magic || data[1]&0x0F != 1 || data[2] != 0 || data[3] != 0 {
			t.Fatalf("accepted reply % X", data[:4])
		}
		if c.MaxSendSize() != sendLimit(data[1]>>4) {
			t.Fatalf("MaxSendSize %d", c.MaxSendSize())
		}
	})
}

// refFrames is a straightforward model of the frame reader: the messages
// it yields, the PONG bytes it writes, and whether it ends on a too-big frame.
func refFrames(data []byte, limit int) (msgs [][]byte, pongs []byte, tooBig bool) {
	p := data
	for len(p) >= 4 {
		h0 := p[0]
		if h0&0xF0 != 0 || h0&0x07 > 2 {
			return
		}
		n := int(p[1])<<16 | int(p[2])<<8 | int(p[3])
		if h0&0x08 != 0 {
			if n != 0 {
				return
			}
			n = 1 << 24
		}
		if n > limit {
			return msgs, pongs, true
		}
		if len(p)-4 < n {
			return
		}
		payload := p[4 : 4+n]
		switch h0 & 0x07 {
		case 0:
			msgs = append(msgs, payload)
		case 1:
			pongs = append(pongs, frame(2, payload)...)
		}
		p = p[4+n:]
	}
	return
}

func FuzzReadFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, '[', '1', ']'}, uint8(0))
	f.Add(append(frame(1, []byte("ping")), frame(0, []byte("msg"))...), uint8(3))
	f.Add(append(frame(2, []byte("pong")), frame(0, nil)...), uint8(0))
	f.Add([]byte{0x08, 0, 0, 0}, uint8(7))
	f.Add([]byte{0x13, 0, 0, 0}, uint8(7))
	f.Add(frame(0, make([]byte, 600)), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, l uint8) {
		l %= 8 // up to 64 KiB keeps allocations for bogus lengths cheap
		mc := &memConn{r: splitReader(data)}
		c := newConn(mc, codec.JSON, limitOf(l), limitOf(l), sendLimit(15))
		var got [][]byte
		var err error
		for {
			var b []byte
			if b, err = c.Read(context.Background()); err != nil {
				break
			}
			got = append(got, b)
		}
		msgs, pongs, tooBig := refFrames(data, limitOf(l))
		if len(got) != len(msgs) {
			t.Fatalf("read %d messages, model %d (err %v)", len(got), len(msgs), err)
		}
		for i := range got {
			if !bytes.Equal(got[i], msgs[i]) {
				t.Fatalf("message %d differs", i)
			}
		}
		if !bytes.Equal(mc.out.Bytes(), pongs) {
			t.Fatalf("PONGs % X, model % X", mc.out.Bytes(), pongs)
		}
		if errors.Is(err, transport.ErrMessageTooBig) != tooBig {
			t.Fatalf("err %v, model tooBig=%v", err, tooBig)
		}
	})
}
