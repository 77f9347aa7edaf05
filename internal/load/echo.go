package load

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The loopback ceiling: an echo server of 64-byte frames and a client
// that keeps a window of them in flight, with no WAMP in between. It
// tells what one core can move through loopback TCP here, framed as
// RawSocket (4-byte header) or as WebSocket (2-byte header from the
// server, 6 bytes masked from the client; no HTTP upgrade: the framing is
// what costs per message). The server writes either coalesced (one
// write(2) per drained input) or one write per frame.

// EchoFraming names the frame format: "tcp" or "ws".
type EchoFraming string

// echoFrame returns one frame of the framing around payload as the
// client sends it, and the size of a frame the server sends back.
func echoFrame(f EchoFraming, payload []byte) (out []byte, reply int) {
	switch f {
	case "ws": // FIN+binary, masked with key 0 (a valid mask)
		out = append([]byte{0x82, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
		return out, 2 + len(payload)
	default:
		out = binary.BigEndian.AppendUint32(nil, uint32(len(payload)))
		return append(out, payload...), 4 + len(payload)
	}
}

// ServeEcho accepts on ln and echoes frames until ln closes. perFrame
// makes one write per frame; otherwise replies are flushed when no more
// input is buffered.
func ServeEcho(ln net.Listener, f EchoFraming, perFrame bool) error {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go echoConn(nc, f, perFrame)
	}
}

func echoConn(nc net.Conn, f EchoFraming, perFrame bool) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, 64<<10)
	bw := bufio.NewWriterSize(nc, 64<<10)
	var hdr [6]byte
	payload := make([]byte, 0, 1<<10)
	for {
		var n int
		if f == "ws" {
			if _, err := io.ReadFull(br, hdr[:6]); err != nil {
				return
			}
			n = int(hdr[1] & 0x7f)
		} else {
			if _, err := io.ReadFull(br, hdr[:4]); err != nil {
				return
			}
			n = int(binary.BigEndian.Uint32(hdr[:4]))
		}
		if n > cap(payload) {
			return
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			return
		}
		if f == "ws" {
			bw.Write([]byte{0x82, byte(n)})
		} else {
			bw.Write(hdr[:4])
		}
		bw.Write(payload)
		if perFrame || br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

// EchoResult is one echo client run.
type EchoResult struct {
	Frames  int64         `json:"frames"`
	Elapsed time.Duration `json:"elapsed_ns"`
	CPU     *CPUStats     `json:"cpu,omitempty"`
}

// RunEcho sends frames of size bytes to the echo server at addr over
// conns connections, window frames in flight on each, for d, and counts
// the echoes. pid, if > 0, is the server's process (its CPU is read).
func RunEcho(ctx context.Context, addr string, f EchoFraming, conns, window, size int, d time.Duration, pid int) (*EchoResult, error) {
	frame, reply := echoFrame(f, make([]byte, size))
	m := &cpuMeter{pid: pid}
	m.begin(0)
	start := time.Now()
	var (
		mu    sync.Mutex
		total int64
		errs  []error
		wg    sync.WaitGroup
	)
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := echoClient(ctx, addr, frame, reply, window, start.Add(d))
			mu.Lock()
			total += n
			errs = append(errs, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	res := &EchoResult{Frames: total, Elapsed: time.Since(start)}
	var err error
	res.CPU, err = m.end(total)
	return res, err
}

func echoClient(ctx context.Context, addr string, frame []byte, reply, window int, end time.Time) (int64, error) {
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return 0, fmt.Errorf("load: echo: %w", err)
	}
	defer nc.Close()
	nc.SetDeadline(end.Add(5 * time.Second))
	burst := make([]byte, 0, len(frame)*window)
	for range window {
		burst = append(burst, frame...)
	}
	if _, err := nc.Write(burst); err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	buf := make([]byte, reply)
	var n int64
	// Each echo read is answered by one more frame: window stays full.
	for time.Now().Before(end) && ctx.Err() == nil {
		for range window {
			if _, err := io.ReadFull(br, buf); err != nil {
				return n, fmt.Errorf("load: echo: %w", err)
			}
		}
		n += int64(window)
		if _, err := nc.Write(burst); err != nil {
			return n, err
		}
	}
	return n, nil
}
