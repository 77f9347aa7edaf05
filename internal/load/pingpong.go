package load

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// The latency floor of a call: a call's round trip is two loopback round
// trips (caller → router → callee and back), so the floor is a relay that
// passes each message from one connection to the other, and a client
// that sends a message on one connection, echoes it from the other and
// waits for it: four one-way hops, two server reads and writes, no WAMP.

// ServeRelay accepts connections on ln and pairs them: each sends one
// byte first (a probe that connects and closes is no partner), and two
// such connections are relayed to each other, each direction read and
// written by one goroutine (a router's read loop writing straight to the
// peer).
func ServeRelay(ln net.Listener) error {
	var (
		mu      sync.Mutex
		waiting net.Conn
	)
	for {
		nc, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			var b [1]byte
			if _, err := io.ReadFull(nc, b[:]); err != nil {
				nc.Close()
				return
			}
			mu.Lock()
			peer := waiting
			if peer == nil {
				waiting = nc
			} else {
				waiting = nil
			}
			mu.Unlock()
			if peer != nil {
				go relay(peer, nc)
				relay(nc, peer)
			}
		}()
	}
}

func relay(from, to net.Conn) {
	defer to.Close()
	buf := make([]byte, 4<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

// PingPongResult is one pingpong client run.
type PingPongResult struct {
	RoundTrips int64         `json:"round_trips"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	// Latency is one message's way caller → relay → callee → relay → caller.
	Latency Latency   `json:"latency"`
	CPU     *CPUStats `json:"cpu,omitempty"`
}

// RunPingPong dials the relay at addr twice (caller, then callee), sends
// size-byte messages one at a time from the caller, echoes them from the
// callee, for warmup and then d, and reports the measured round trips.
// pid, if > 0, is the relay's process (its CPU is read).
func RunPingPong(ctx context.Context, addr string, size int, warmup, d time.Duration, pid int) (*PingPongResult, error) {
	var dl net.Dialer
	caller, err := dl.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("load: pingpong: %w", err)
	}
	defer caller.Close()
	callee, err := dl.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("load: pingpong: %w", err)
	}
	defer callee.Close()
	for _, nc := range []net.Conn{caller, callee} {
		if _, err := nc.Write([]byte{1}); err != nil { // pairs them (ServeRelay)
			return nil, fmt.Errorf("load: pingpong: %w", err)
		}
	}
	end := time.Now().Add(warmup + d)
	caller.SetDeadline(end.Add(5 * time.Second))
	callee.SetDeadline(end.Add(5 * time.Second))
	echoed := make(chan error, 1)
	go func() {
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(callee, buf); err != nil {
				echoed <- nil // the caller closed: done
				return
			}
			if _, err := callee.Write(buf); err != nil {
				echoed <- fmt.Errorf("load: pingpong callee: %w", err)
				return
			}
		}
	}()
	msg, got := make([]byte, size), make([]byte, size)
	for i := range msg {
		msg[i] = byte(i)
	}
	rec := newRecorder()
	m := &cpuMeter{pid: pid}
	m.begin(warmup)
	measureFrom := time.Now().Add(warmup)
	var n int64
	for ctx.Err() == nil {
		t0 := time.Now()
		if !t0.Before(end) {
			break
		}
		if _, err := caller.Write(msg); err != nil {
			return nil, fmt.Errorf("load: pingpong: %w", err)
		}
		if _, err := io.ReadFull(caller, got); err != nil {
			return nil, fmt.Errorf("load: pingpong: %w", err)
		}
		if t0.Before(measureFrom) {
			continue
		}
		rec.record(time.Since(t0))
		n++
	}
	res := &PingPongResult{RoundTrips: n, Elapsed: time.Since(measureFrom), Latency: summarize([]*recorder{rec})}
	res.CPU, err = m.end(n)
	caller.Close()
	if err2 := <-echoed; err == nil {
		err = err2
	}
	return res, err
}
