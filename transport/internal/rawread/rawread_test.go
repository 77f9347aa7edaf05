package rawread

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitConn reports on waiting each time a read of it waits for bytes,
// with whether its Reader then holds a buffer (asked on the reading
// goroutine, so the answer is the state it waits in).
type waitConn struct {
	*net.TCPConn
	waiting chan bool
	r       *Reader
}

func (c *waitConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.TCPConn.SyscallConn()
	return &waitRaw{rc, c}, err
}

type waitRaw struct {
	syscall.RawConn
	c *waitConn
}

func (r *waitRaw) Read(f func(uintptr) bool) error {
	return r.RawConn.Read(func(fd uintptr) bool {
		done := f(fd)
		if !done {
			r.c.waiting <- r.c.r.p != nil
		}
		return done
	})
}

func tcpPair(t *testing.T) (ours *net.TCPConn, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); peer.Close() })
	return c.(*net.TCPConn), peer
}

func newPool() *sync.Pool {
	return &sync.Pool{New: func() any { b := make([]byte, 64); return &b }}
}

// A reader waiting for bytes holds no buffer; the bytes, once there, come
// in a pooled one; then EOF.
func TestReadPooledWaitsWithoutBuffer(t *testing.T) {
	t.Parallel()
	ours, peer := tcpPair(t)
	wc := &waitConn{TCPConn: ours, waiting: make(chan bool, 1)}
	r := New(wc, newPool())
	if r == nil {
		t.Fatal("New found no socket under a *net.TCPConn")
	}
	wc.r = r
	type result struct {
		p   *[]byte
		n   int
		err error
	}
	got := make(chan result, 1)
	go func() {
		p, n, err := r.ReadPooled()
		got <- result{p, n, err}
	}()
	if held := <-wc.waiting; held {
		t.Fatal("the reader holds a buffer while it waits for bytes")
	}
	if _, err := peer.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	res := <-got
	if res.err != nil || res.p == nil || string((*res.p)[:res.n]) != "hello" {
		t.Fatalf("ReadPooled = %v, %d, %v; want a buffer holding hello", res.p, res.n, res.err)
	}

	b := make([]byte, 8)
	peer.Write([]byte("xy"))
	if n, err := r.Read(b); err != nil || string(b[:n]) != "xy" {
		t.Fatalf("Read = %q, %v", b[:n], err)
	}
	peer.Close()
	go func() { <-wc.waiting }() // it may wait once more before the FIN
	if p, n, err := r.ReadPooled(); !errors.Is(err, io.EOF) || p != nil || n != 0 {
		t.Fatalf("ReadPooled after the peer closed = %v, %d, %v; want io.EOF, no buffer", p, n, err)
	}
}

func TestReadPooledDeadline(t *testing.T) {
	t.Parallel()
	ours, _ := tcpPair(t)
	r := New(ours, newPool())
	ours.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if p, _, err := r.ReadPooled(); !errors.Is(err, os.ErrDeadlineExceeded) || p != nil {
		t.Fatalf("ReadPooled past the deadline = %v, %v; want os.ErrDeadlineExceeded, no buffer", p, err)
	}
}

// Connections that do not expose a socket (TLS, pipes) are read as usual.
func TestNewWithoutSocket(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if New(a, newPool()) != nil {
		t.Fatal("New returned a reader for a pipe")
	}
}
