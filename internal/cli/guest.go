package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/tollgate-wamp/tollgate/config"
)

// Guest supervision timings: a stopped guest gets SIGTERM and this long
// before SIGKILL; restarts back off from restartMin, doubling to
// restartMax, and the backoff resets once a guest ran for restartMax.
const (
	guestStopGrace = 5 * time.Second
	restartMin     = time.Second
	restartMax     = 30 * time.Second
)

// startGuests runs every guest worker until ctx ends, each under its
// restart policy. The returned function blocks until all have stopped
// (SIGTERM, then SIGKILL after guestStopGrace).
func startGuests(ctx context.Context, log *slog.Logger, guests []config.Guest) (wait func()) {
	var wg sync.WaitGroup
	for _, g := range guests {
		wg.Go(func() { superviseGuest(ctx, log.With("guest", g.Name), g) })
	}
	return wg.Wait
}

func superviseGuest(ctx context.Context, log *slog.Logger, g config.Guest) {
	backoff := restartMin
	for {
		started := time.Now()
		err := runGuest(ctx, log, g)
		if ctx.Err() != nil {
			log.Info("guest stopped")
			return
		}
		failed := err != nil
		if failed {
			log.Warn("guest exited", "err", err, "ran", time.Since(started).Round(time.Millisecond))
		} else {
			log.Info("guest exited", "ran", time.Since(started).Round(time.Millisecond))
		}
		if g.Restart == "never" || g.Restart == "on-failure" && !failed {
			return
		}
		if time.Since(started) >= restartMax {
			backoff = restartMin
		}
		log.Info("restarting guest", "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, restartMax)
	}
}

// runGuest runs g once, its output into log as configured, until it exits
// or ctx ends.
func runGuest(ctx context.Context, log *slog.Logger, g config.Guest) error {
	cmd := exec.CommandContext(ctx, g.Executable, g.Arguments...)
	cmd.Dir = g.Workdir
	cmd.Env = g.Env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = guestStopGrace
	var (
		pipes   sync.WaitGroup
		writers []*io.PipeWriter
	)
	// Close the pipes and wait for the last lines once the guest is gone.
	defer func() {
		for _, w := range writers {
			w.Close()
		}
		pipes.Wait()
	}()
	for _, s := range []struct {
		mode, name string
		dst        *io.Writer
	}{{g.Stdout, "stdout", &cmd.Stdout}, {g.Stderr, "stderr", &cmd.Stderr}} {
		if s.mode != "log" {
			continue // drop and close: the null device (os/exec's nil)
		}
		pr, pw := io.Pipe()
		*s.dst = pw
		writers = append(writers, pw)
		pipes.Go(func() { logLines(pr, log, s.name) })
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	log.Info("guest started", "pid", cmd.Process.Pid, "executable", g.Executable)
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() != nil {
		err = nil // stopped by us
	}
	return err
}

// logLines copies r into log line by line until r ends.
func logLines(r *io.PipeReader, log *slog.Logger, stream string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		log.Info("guest output", "stream", stream, "line", sc.Text())
	}
	// A line over 64 KiB ends the scan: drain so the guest never blocks.
	io.Copy(io.Discard, r)
}
