//go:build linux

package idlepoll

import (
	"encoding/binary"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const supported = true

// Sweep period bounds: half the shortest idle time enrolled, within these.
const (
	maxPeriod = time.Second
	minPeriod = 5 * time.Millisecond
)

// poller is the process's epoll set and the goroutine that waits on it
// and sweeps. Parked connections are named in the epoll set by a token
// (slot and generation), never by descriptor: descriptors are reused.
type poller struct {
	mu      sync.Mutex
	epfd    int // 0 until first used
	evfd    int // eventfd, token 0: wakes the loop to stop
	broken  bool
	slots   []slot // by Entry.slot-1
	free    []int32
	gen     uint32
	count   int
	running bool
	period  time.Duration
	cand    []*Entry // the loop's scratch for a sweep
}

// slot is an enrolled entry's row in the poller's table.
type slot struct {
	e    *Entry // nil: free
	gen  uint32 // tells a reused slot's tokens from its last entry's
	idle time.Duration
	seen int64 // when a sweep first saw the current wait (UnixNano)
}

var thePoller = poller{period: maxPeriod}

func (p *poller) open() error {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return err
	}
	p.epfd, p.evfd = epfd, evfd
	return nil
}

// enroll gives e a slot and starts the loop if it is not running.
func (p *poller) enroll(e *Entry, idle time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		return false
	}
	if p.epfd == 0 {
		if err := p.open(); err != nil {
			p.broken = true
			return false
		}
	}
	p.period = min(p.period, max(minPeriod, idle/2))
	p.gen++
	row := slot{e: e, gen: p.gen, idle: idle}
	var i int32
	if n := len(p.free); n > 0 {
		i, p.free = p.free[n-1], p.free[:n-1]
		p.slots[i] = row
	} else {
		i = int32(len(p.slots))
		p.slots = append(p.slots, row)
	}
	e.slot = i + 1
	p.count++
	if !p.running {
		p.running = true
		go p.loop()
	}
	return true
}

func (p *poller) unenroll(e *Entry) {
	p.mu.Lock()
	p.slots[e.slot-1].e = nil
	p.free = append(p.free, e.slot-1)
	e.slot = 0
	p.count--
	stop := p.count == 0 && p.running
	if p.count == 0 {
		p.slots, p.free = nil, nil // a mass close leaves no table behind
	}
	p.mu.Unlock()
	if stop {
		var one [8]byte
		binary.NativeEndian.PutUint64(one[:], 1)
		_, _ = unix.Write(p.evfd, one[:])
	}
}

// arm registers e (or re-arms its one-shot registration) under its
// token; e.mu is held.
func (p *poller) arm(e *Entry) error {
	p.mu.Lock()
	gen := p.slots[e.slot-1].gen
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: e.slot, Pad: int32(gen)}
	op := unix.EPOLL_CTL_ADD
	if e.armed {
		op = unix.EPOLL_CTL_MOD
	}
	return control(e, func(fd int) error { return unix.EpollCtl(p.epfd, op, fd, &ev) })
}

// disarm removes e from the epoll set while its descriptor is still
// open; e.mu is held.
func (p *poller) disarm(e *Entry) {
	_ = control(e, func(fd int) error { return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil) })
}

// control runs f on e's descriptor, which stays open while f runs
// (syscall.RawConn.Control); it fails if the connection is closed.
func control(e *Entry, f func(fd int) error) error {
	rc, err := e.nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (p *poller) loop() {
	events := make([]unix.EpollEvent, 256)
	next := time.Now().Add(p.periodNow())
	for {
		ms := int((time.Until(next) + time.Millisecond - 1) / time.Millisecond)
		n, err := unix.EpollWait(p.epfd, events, max(ms, 0))
		if err != nil && err != unix.EINTR {
			p.fail()
			return
		}
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd == 0 {
				var b [8]byte
				_, _ = unix.Read(p.evfd, b[:])
				continue
			}
			if e := p.lookup(ev.Fd, uint32(ev.Pad)); e != nil {
				e.wake()
			}
		}
		if now := time.Now(); !now.Before(next) {
			p.sweep()
			next = now.Add(p.periodNow())
		}
		p.mu.Lock()
		if p.count == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
	}
}

func (p *poller) periodNow() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.period
}

// lookup finds the entry a token names, nil if it has left.
func (p *poller) lookup(slot int32, gen uint32) *Entry {
	p.mu.Lock()
	defer p.mu.Unlock()
	if slot < 1 || int(slot) > len(p.slots) {
		return nil
	}
	if row := p.slots[slot-1]; row.e != nil && row.gen == gen {
		return row.e
	}
	return nil
}

// sweep marks readers waiting at a boundary and interrupts those that
// stayed marked for their idle time: they have waited between that and
// that plus two periods. The interrupts run outside p.mu
// (Entry.mu is taken before p.mu by Enroll).
func (p *poller) sweep() {
	now := time.Now().UnixNano()
	p.mu.Lock()
	cand := p.cand[:0]
	for i := range p.slots {
		row := &p.slots[i]
		if row.e == nil {
			continue
		}
		switch row.e.state.Load() {
		case stWaiting:
			if row.e.state.CompareAndSwap(stWaiting, stSeen) {
				row.seen = now
			}
		case stSeen:
			if now-row.seen >= int64(row.idle) {
				cand = append(cand, row.e)
			}
		}
	}
	p.mu.Unlock()
	for i, e := range cand {
		e.interrupt()
		cand[i] = nil
	}
	p.cand = cand[:0]
}

// interrupt ends e's wait with a read deadline in the past, unless it
// stopped waiting meanwhile.
func (e *Entry) interrupt() {
	e.mu.Lock()
	if !e.closed && e.state.CompareAndSwap(stSeen, stWaking) {
		_ = e.nc.SetReadDeadline(time.Unix(1, 0))
	}
	e.mu.Unlock()
}

// fail gives up parking after the epoll set failed (not expected): no
// more enrolments, and every parked connection gets its reader back.
func (p *poller) fail() {
	p.mu.Lock()
	p.broken, p.running = true, false
	parked := make([]*Entry, 0, p.count)
	for _, row := range p.slots {
		if row.e != nil {
			parked = append(parked, row.e)
		}
	}
	p.mu.Unlock()
	for _, e := range parked {
		e.wake()
	}
}
