package load

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// CPUStats is the CPU time the router (when its pid was given) and this
// tool spent in the measured phase. Work per router CPU-second is the
// figure that does not depend on how much CPU the machine had left; the
// tool's own CPU shows whether the generator was the bottleneck.
type CPUStats struct {
	RouterPID int `json:"router_pid,omitempty"`
	// Router and Load are CPU time (user + system) in the measured phase.
	Router time.Duration `json:"router_cpu_ns"`
	Load   time.Duration `json:"load_cpu_ns"`
	// RouterUse and LoadUse are CPU time per wall second (1.0: one core busy).
	RouterUse float64 `json:"router_cpu_use"`
	LoadUse   float64 `json:"load_cpu_use"`
	// Work is the scenario's unit (calls, delivered events, sessions
	// opened and closed) and PerRouterCPUSecond is Work / Router.
	Work               int64   `json:"work"`
	PerRouterCPUSecond float64 `json:"per_router_cpu_sec"`
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat times. It is
// 100 on every architecture Go supports on Linux.
const clockTicks = 100

// procCPU reads a process's user + system CPU time from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("load: router CPU: %w", err)
	}
	// Fields after the command name, which is in parentheses and may hold
	// spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("load: router CPU: /proc/%d/stat unreadable", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("load: router CPU: /proc/%d/stat too short", pid)
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("load: router CPU: /proc/%d/stat: bad utime/stime", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procRSS reads a process's resident set size from /proc/<pid>/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("load: router RSS: %w", err)
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			kib, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(v), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("load: router RSS: bad VmRSS %q", v)
			}
			return kib << 10, nil
		}
	}
	return 0, fmt.Errorf("load: router RSS: no VmRSS in /proc/%d/status", pid)
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter samples both processes' CPU at the start of the measured phase
// (begin, or a timer after the warm-up) and at its end.
type cpuMeter struct {
	pid int

	mu           sync.Mutex
	started      bool
	wall         time.Time
	router, self time.Duration
	err          error
}

func (m *cpuMeter) sample() (router, self time.Duration, err error) {
	self = selfCPU()
	if m.pid > 0 {
		router, err = procCPU(m.pid)
	}
	return router, self, err
}

// begin marks the start of the measured phase after warmup.
func (m *cpuMeter) begin(warmup time.Duration) {
	mark := func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.wall = time.Now()
		m.router, m.self, m.err = m.sample()
		m.started = true
	}
	if warmup <= 0 {
		mark()
		return
	}
	time.AfterFunc(warmup, mark)
}

// end returns the phase's figures for work units done in it.
func (m *cpuMeter) end(work int64) (*CPUStats, error) {
	router, self, err := m.sample()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return nil, nil // interrupted in the warm-up
	}
	if err == nil {
		err = m.err
	}
	if err != nil {
		return nil, err
	}
	wall := time.Since(m.wall).Seconds()
	st := &CPUStats{RouterPID: m.pid, Router: router - m.router, Load: self - m.self, Work: work}
	if wall > 0 {
		st.RouterUse, st.LoadUse = st.Router.Seconds()/wall, st.Load.Seconds()/wall
	}
	if st.Router > 0 {
		st.PerRouterCPUSecond = float64(work) / st.Router.Seconds()
	}
	return st, nil
}
