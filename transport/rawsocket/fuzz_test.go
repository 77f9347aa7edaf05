package rawsocket

import (
	"bytes"
	"context"
	"errors"
	"io"
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
		c, err := Accept(context.Background(), mc, ServerOptions{MaxMessageSize: 4096, PreJoinMaxMessageSize: 1000})
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
// it yields, the PONG bytes it writes, and whether it ends on a too-big
// frame. The limit is preJoin until joinAfter messages were returned
// (Joined is then called), full afterwards.
func refFrames(data []byte, full, preJoin, joinAfter int) (msgs [][]byte, pongs []byte, tooBig bool) {
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
		limit := full
		if len(msgs) < joinAfter {
			limit = min(preJoin, full)
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

// chunkReader returns data in reads of at most chunk bytes, so the
// fuzzer drives the reader's buffer switches (inline array, pooled
// buffer, direct reads, payload growth).
type chunkReader struct {
	data  []byte
	chunk int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

func FuzzReadFrames(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, '[', '1', ']'}, uint8(0), uint16(0), uint8(0), uint16(0))
	f.Add(append(frame(1, []byte("ping")), frame(0, []byte("msg"))...), uint8(3), uint16(0), uint8(0), uint16(1))
	f.Add(append(frame(2, []byte("pong")), frame(0, nil)...), uint8(0), uint16(0), uint8(0), uint16(2))
	f.Add([]byte{0x08, 0, 0, 0}, uint8(7), uint16(0), uint8(0), uint16(0))
	f.Add([]byte{0x13, 0, 0, 0}, uint8(7), uint16(0), uint8(0), uint16(0))
	f.Add(frame(0, make([]byte, 600)), uint8(0), uint16(0), uint8(0), uint16(511))
	// Over the pre-join limit, then the same size after joining.
	f.Add(append(frame(0, make([]byte, 100)), frame(0, make([]byte, 2000))...), uint8(4), uint16(1000), uint8(1), uint16(700))
	f.Add(append(frame(0, make([]byte, 2000)), frame(0, make([]byte, 100))...), uint8(4), uint16(1000), uint8(1), uint16(0))
	// Payloads that grow past the first chunk, read in odd pieces.
	f.Add(append(frame(0, make([]byte, 40<<10)), frame(0, []byte("x"))...), uint8(7), uint16(0), uint8(0), uint16(1000))
	f.Add(append(frame(0, make([]byte, 20<<10)), frame(1, make([]byte, 17<<10))...), uint8(7), uint16(0), uint8(0), uint16(0xFFFF))
	f.Fuzz(func(t *testing.T, data []byte, l uint8, pre uint16, joinAfter uint8, chunk uint16) {
		l %= 8 // up to 64 KiB keeps allocations for bogus lengths cheap
		full := limitOf(l)
		preJoin := full // pre == 0: no separate pre-join limit
		if pre > 0 {
			preJoin = int(pre)
		}
		ja := int(joinAfter % 8)
		mc := &memConn{r: &chunkReader{data: data, chunk: int(chunk) + 1}}
		c := newConn(mc, codec.JSON, full, preJoin, sendLimit(15))
		var got [][]byte
		var err error
		for {
			if len(got) >= ja {
				c.Joined()
			}
			var b []byte
			if b, err = c.Read(context.Background()); err != nil {
				break
			}
			got = append(got, b)
		}
		msgs, pongs, tooBig := refFrames(data, full, preJoin, ja)
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
