package cli

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// levelCycle is the order SIGUSR1 steps the log level through.
var levelCycle = []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError}

// nextLevel is the level after lv in levelCycle (wrapping around).
func nextLevel(lv slog.Level) slog.Level {
	for i, l := range levelCycle {
		if l == lv {
			return levelCycle[(i+1)%len(levelCycle)]
		}
	}
	return slog.LevelInfo
}

// watchSignals handles the operator's signals until ctx ends: SIGUSR1
// steps the log level debug → info → warn → error → debug (the change is
// logged at the new level, so it always shows), SIGHUP calls
// reload. docs/operations.md documents both.
func watchSignals(ctx context.Context, log *slog.Logger, lv *slog.LevelVar, reload func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGUSR1, syscall.SIGHUP)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case sig := <-ch:
				switch sig {
				case syscall.SIGUSR1:
					next := nextLevel(lv.Level())
					lv.Set(next)
					log.Log(ctx, next, "log level changed (SIGUSR1)", "new_level", next.String())
				case syscall.SIGHUP:
					if reload != nil {
						reload()
					}
				}
			}
		}
	}()
}
