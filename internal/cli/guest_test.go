package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logRecords returns the JSON log records with message msg.
func logRecords(log *syncBuffer, msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(log.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// waitLog waits until cond holds for the log, or fails after 10 s.
func waitLog(t *testing.T, log *syncBuffer, done <-chan int, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case code := <-done:
			t.Fatalf("start exited with %d before %s; log:\n%s", code, what, log.String())
		case <-deadline:
			t.Fatalf("no %s within 10 s; log:\n%s", what, log.String())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// startWith runs `tollgate start` on cfg in the background; stop cancels
// it and returns the exit code.
func startWith(t *testing.T, cfg string) (log *syncBuffer, done chan int, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log = &syncBuffer{}
	done = make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"start", "--config", cfg, "--log-format", "json"}, strings.NewReader(""), &syncBuffer{}, log)
	}()
	stop = func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatalf("start did not return after cancel; log:\n%s", log.String())
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	return log, done, stop
}

// TestGuestRunsAndStops: a guest worker starts after the transports
// listen, its output reaches the log with its name, and on shutdown it gets
// SIGTERM before the router stops.
func TestGuestRunsAndStops(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mark := filepath.Join(dir, "terminated")
	cfg := writeFile(t, "g.yaml", goodConfig+`  - type: guest
    id: backend
    executable: /bin/sh
    arguments: ["-c", "echo hello from $MODE; echo oops >&2; trap 'echo term > `+mark+`; exit 0' TERM; while :; do sleep 0.05; done"]
    options:
      env: {vars: {MODE: guest}}
      stderr: drop
`)
	log, done, stop := startWith(t, cfg)
	waitLog(t, log, done, "guest output", func() bool { return len(logRecords(log, "guest output")) > 0 })
	out := logRecords(log, "guest output")
	if out[0]["guest"] != "backend" || out[0]["line"] != "hello from guest" || out[0]["stream"] != "stdout" {
		t.Errorf("guest output record = %v", out[0])
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d; log:\n%s", code, log.String())
	}
	if b, err := os.ReadFile(mark); err != nil || strings.TrimSpace(string(b)) != "term" {
		t.Errorf("guest did not get SIGTERM: %q, %v", b, err)
	}
	if strings.Contains(log.String(), "oops") {
		t.Errorf("dropped stderr reached the log")
	}
	text := log.String()
	if i, j, k := strings.Index(text, `"msg":"listening"`), strings.Index(text, `"msg":"guest started"`), strings.Index(text, `"msg":"guest stopped"`); i < 0 || j < i || k < j ||
		k > strings.Index(text, `"msg":"stopped"`) {
		t.Errorf("want listening, guest started, guest stopped, stopped in that order; log:\n%s", text)
	}
}

// TestGuestRestartPolicy: on-failure restarts a guest that exits non-zero
// (after a backoff); never leaves it down, with the router still serving.
func TestGuestRestartPolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	once := filepath.Join(dir, "once")
	cfg := writeFile(t, "g.yaml", goodConfig+`  - type: guest
    id: flaky
    executable: /bin/sh
    arguments: ["-c", "echo run >> `+runs+`; exit 3"]
    options: {restart: on-failure}
  - type: guest
    id: oneshot
    executable: /bin/sh
    arguments: ["-c", "echo run >> `+once+`; exit 3"]
`)
	log, done, stop := startWith(t, cfg)
	count := func(file string) int {
		b, _ := os.ReadFile(file)
		return strings.Count(string(b), "run")
	}
	waitLog(t, log, done, "a restart", func() bool { return count(runs) >= 2 })
	if n := len(logRecords(log, "restarting guest")); n < 1 {
		t.Errorf("no restarting log line")
	}
	if code := stop(); code != 0 {
		t.Errorf("exit code %d; log:\n%s", code, log.String())
	}
	if n := count(once); n != 1 {
		t.Errorf("restart never: guest ran %d times, want 1", n)
	}
}

func TestGuestMissingExecutable(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "g.yaml", goodConfig+"  - {type: guest, id: ghost, executable: /nonexistent/tollgate-test-guest}\n")
	log, done, stop := startWith(t, cfg)
	waitLog(t, log, done, "the start failure", func() bool { return len(logRecords(log, "guest exited")) > 0 })
	rec := logRecords(log, "guest exited")[0]
	if rec["guest"] != "ghost" || !strings.Contains(rec["err"].(string), "no such file") {
		t.Errorf("record = %v", rec)
	}
	if code := stop(); code != 0 {
		t.Errorf("a guest that cannot start does not stop the router: exit code %d", code)
	}
}

func TestCheckStrict(t *testing.T) {
	t.Parallel()
	cfg := writeFile(t, "w.yaml", goodConfig+"  - type: container\n")
	code, stdout, stderr := run(t, "check", cfg)
	if code != 0 || !strings.Contains(stdout, `warning: `+cfg+`:18:11: workers[1].type: skipped: worker type "container" is not run`) {
		t.Errorf("check: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "check", "--strict", cfg)
	if code != 1 || stdout != "" || !strings.Contains(stderr, cfg+`:18:11: workers[1].type: skipped: worker type "container" is not run`) ||
		!strings.Contains(stderr, "(--strict)") {
		t.Errorf("check --strict: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, _, stderr = run(t, "start", "--strict", "--config", cfg)
	if code != 1 || !strings.Contains(stderr, "(--strict)") {
		t.Errorf("start --strict: code %d, stderr %q", code, stderr)
	}
}
