//go:build clusterchaos

package natscluster_test

// Real processes: go test -tags clusterchaos -run Process ./cluster/natscluster
// builds the tollgate binary, starts three nodes with examples/cluster-like
// configs on free ports and SIGKILLs one (no goodbye, sockets closed by the
// kernel), the only faithful crash (cluster-design.md §4.2).

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

const nodeConfig = `version: 2
cluster:
  node_name: %s
  nats:
    embedded:
      cluster_name: tollgate-chaos
      listen: 127.0.0.1:%d
      routes: [%s]
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: anonymous
            permissions:
              - uri: ""
                match: prefix
                allow: {call: true, register: true, publish: true, subscribe: true}
                disclose: {caller: false, publisher: true}
    transports:
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: %d}
        auth:
          anonymous: {type: static, role: anonymous}
`

// freePorts returns n ports free a moment ago on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

type proc struct {
	cmd  *exec.Cmd
	url  string   // the first client listener
	urls []string // every client listener, in config order
}

// startProcesses builds tollgate and starts n nodes routed to each other
// with nodeConfig.
func startProcesses(t *testing.T, n int) []*proc {
	t.Helper()
	return startProcessesWith(t, n, 1, func(name string, nats int, routes string, ports []int) string {
		return fmt.Sprintf(nodeConfig, name, nats, routes, ports[0])
	})
}

// startProcessesWith builds tollgate and starts n nodes routed to each
// other, each with clients free client ports and the config config makes
// of its name, NATS route port, routes and client ports.
func startProcessesWith(t *testing.T, n, clients int, config func(name string, nats int, routes string, ports []int) string) []*proc {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "tollgate")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/tollgate-wamp/tollgate/cmd/tollgate").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ports := freePorts(t, (1+clients)*n)
	var ps []*proc
	for i := range n {
		routes := ""
		for j := range n {
			if j != i {
				if routes != "" {
					routes += ", "
				}
				routes += fmt.Sprintf("nats-route://127.0.0.1:%d", ports[j])
			}
		}
		name := fmt.Sprintf("node-%c", 'a'+i)
		cfg := filepath.Join(dir, name+".yaml")
		mine := ports[n+i*clients : n+(i+1)*clients]
		if err := os.WriteFile(cfg, []byte(config(name, ports[i], routes, mine)), 0o600); err != nil {
			t.Fatal(err)
		}
		log, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "start", "--config", cfg, "--log-level", "info")
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &proc{cmd: cmd}
		for _, port := range mine {
			p.urls = append(p.urls, fmt.Sprintf("tcp://127.0.0.1:%d", port))
		}
		p.url = p.urls[0]
		ps = append(ps, p)
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			log.Close()
			if t.Failed() {
				b, _ := os.ReadFile(log.Name())
				t.Logf("%s log:\n%s", name, b)
			}
		})
	}
	return ps
}

func dialURL(t *testing.T, url string) *client.Session {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := client.Dial(ctx, url, client.Config{Realm: realm, Serializer: "cbor", MaxConcurrentHandlers: 1})
		cancel()
		if err == nil {
			t.Cleanup(func() { _ = s.Close(context.Background()) })
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("dial %s: %v", url, err)
		}
		time.Sleep(20 * time.Millisecond) // the process is still starting
	}
}

func sessionCount(t *testing.T, s *client.Session) int64 {
	t.Helper()
	r, err := s.Call(context.Background(), "wamp.session.count", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := wamp.AsInt(r.Args[0])
	return n
}

// TestProcessSIGKILL: node C is SIGKILLed; A and B see its session's
// testament exactly once and its on_leave within 3 s, and the meta API on
// A counts only the survivors' sessions.
func TestProcessSIGKILL(t *testing.T) {
	ps := startProcesses(t, 3)
	a, b, c := dialURL(t, ps[0].url), dialURL(t, ps[1].url), dialURL(t, ps[2].url)
	waitFor(t, "a session count of 3 on node A (every node answers)", func() bool { return sessionCount(t, a) == 3 })
	counters := []*counter{newCounter(), newCounter()}
	for i, s := range []*client.Session{a, b} {
		subscribe(t, s, "com.test.will", counters[i].fn)
		subscribe(t, s, "wamp.session.on_leave", counters[i].fn)
		subscribe(t, s, "com.test.mark", counters[i].fn)
	}
	if _, err := c.Call(context.Background(), "wamp.session.add_testament", wamp.List{"com.test.will", wamp.List{"bye"}}, nil); err != nil {
		t.Fatal(err)
	}
	// The testament's copy went to A and B before this mark, on the same
	// NATS connection: once the mark arrived, so had the copy.
	waitFor(t, "the mark from C on A and B", func() bool {
		publish(t, c, "com.test.mark", nil)
		return counters[0].get("com.test.mark") > 0 && counters[1].get("com.test.mark") > 0
	})
	victim := c.ID()
	start := time.Now()
	if err := ps[2].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for i, k := range counters {
		waitFor(t, fmt.Sprintf("on_leave of C's session on survivor %d", i), func() bool { return k.left(victim) > 0 })
	}
	t.Logf("on_leave of the SIGKILLed node's session on both survivors after %v", time.Since(start))
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("on_leave of the killed node's session after %v, want <= 3s", d)
	}
	for i, k := range counters {
		if n := k.get("com.test.will"); n != 1 {
			t.Errorf("survivor %d: testament received %d times, want exactly 1", i, n)
		}
	}
	if n := sessionCount(t, a); n != 2 {
		t.Errorf("session count on A after C's death = %d, want 2", n)
	}
}
