package websocket

import (
	"io"
	"net"
	"testing"
)

// A header announcing a huge frame reserves nothing: the payload buffer
// grows only with the bytes that arrive.
func TestPayloadGrowsAsBytesArrive(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer ours.Close()
	go func() {
		peer.Write([]byte{0x82, 0xFF, 0, 0, 0, 0, 0, 0xFF, 0, 0, 1, 2, 3, 4}) // 16 MiB, masked
		peer.Write(make([]byte, 100))
		peer.Close()
	}()
	fr := newFrameReader(ours, nil)
	h, err := fr.header()
	if err != nil || h.n != 0xFF0000 {
		t.Fatalf("header = %+v, %v", h, err)
	}
	dst, err := fr.payload(nil, h)
	if err != io.ErrUnexpectedEOF || len(dst) != 100 || cap(dst) > 4<<10 {
		t.Fatalf("payload = %d bytes (cap %d), %v; want 100 bytes, small cap, ErrUnexpectedEOF", len(dst), cap(dst), err)
	}
}

// The read buffer grows while reads fill it and shrinks after small reads.
func TestReadBufferGrowsAndShrinks(t *testing.T) {
	t.Parallel()
	ours, peer := net.Pipe()
	defer ours.Close()
	big := mkFrame(0x82, true, make([]byte, 300<<10))
	small := mkFrame(0x82, true, []byte{1, 2, 3})
	go func() {
		peer.Write(big)
		for range 4 * shrinkAfter {
			peer.Write(small) // one small read each
		}
		peer.Close()
	}()
	fr := newFrameReader(ours, nil)
	read := func() {
		t.Helper()
		h, err := fr.header()
		if err == nil {
			_, err = fr.payload(nil, h)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	read()
	if len(fr.buf) != maxReadBuffer {
		t.Fatalf("buffer after a 300 KiB frame: %d bytes, want %d", len(fr.buf), maxReadBuffer)
	}
	for range 4 * shrinkAfter {
		read()
	}
	if len(fr.buf) > maxReadBuffer/4 {
		t.Fatalf("buffer after %d small reads: %d bytes", 4*shrinkAfter, len(fr.buf))
	}
}
