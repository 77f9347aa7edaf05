package cli

import (
	"fmt"
	"log/slog"

	"github.com/tollgate-wamp/tollgate/internal/audit"
	"github.com/tollgate-wamp/tollgate/router"
)

// openAudit opens the audit log of `start --audit-log`. Without the flag
// there is none (and realms asking for audit get a warning); with it but
// no audited realm the file is still opened, so a typo in the path shows.
func openAudit(path string, realms []router.RealmOptions, log *slog.Logger) (*audit.Sink, error) {
	var audited []string
	for _, r := range realms {
		if r.Audit {
			audited = append(audited, string(r.Name))
		}
	}
	if path == "" {
		if len(audited) > 0 {
			log.Warn("realms ask for an audit log but --audit-log is not given; no audit trail is written", "realms", audited)
		}
		return nil, nil
	}
	sink, err := audit.Open(path)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	log.Info("audit log", "file", path, "realms", audited)
	return sink, nil
}

// reopenAudit reopens the audit file (SIGHUP, after log rotation).
func reopenAudit(sink *audit.Sink, log *slog.Logger) {
	if sink == nil {
		return
	}
	if err := sink.Reopen(); err != nil {
		log.Error("cannot reopen the audit log; still writing the old file", "err", err)
		return
	}
	log.Info("audit log reopened (SIGHUP)")
}
