package cli

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/internal/audit"
	"github.com/tollgate-wamp/tollgate/router"
)

// running is a started router and what a reload needs to redo its setup.
type running struct {
	log      *slog.Logger
	r        *router.Router
	level    *slog.LevelVar
	file     string // "" for the embedded default
	strict   bool
	sink     *audit.Sink
	auditLog *slog.Logger
	set      *listenerSet
}

// onHangup is SIGHUP: reopen the audit log, then reload the config.
func (rt *running) onHangup() {
	reopenAudit(rt.sink, rt.log)
	err := rt.reload()
	rt.r.NoteReload(err)
	if err != nil {
		rt.log.Error("config reload refused; the old config stays in force", "err", err)
		return
	}
	rt.log.Info("config reloaded (SIGHUP)", "file", rt.file)
}

// reload re-reads the config file and applies it: roles and permissions
// at once (router.Reload, which refuses a bad config whole), then the
// transports: removed and changed ones stop (their connections stay),
// added and changed ones start. Nothing changes if the file, its TLS files
// or the roles have any error.
func (rt *running) reload() error {
	if rt.file == "" {
		return errors.New("running the embedded default: there is no config file to reload")
	}
	cfg, warns, err := config.Load(rt.file)
	if err == nil && rt.strict && len(warns) > 0 {
		err, warns = strictError(warns), nil
	}
	for _, w := range warns {
		rt.log.Warn("config: " + w.String())
	}
	if err != nil {
		return err
	}
	listeners, err := cfg.Listeners()
	if err != nil {
		return err
	}
	opts := cfg.RouterOptions()
	opts.AuditLog = rt.auditLog
	if err := rt.r.Reload(opts); err != nil {
		return err
	}
	stop, start := rt.set.diff(cfg.Transports)
	for _, name := range stop {
		rt.set.stop(name)
	}
	var errs []error
	for _, name := range start {
		for i := range listeners {
			if listeners[i].Name != name {
				continue
			}
			ln, err := listeners[i].Listen(rt.set.ctx)
			if err != nil {
				errs = append(errs, fmt.Errorf("transport %s: %w", name, err))
				continue
			}
			rt.set.start(listeners[i], cfg.Transports[i], ln)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("roles reloaded, but: %w", err)
	}
	return nil
}
