package config

import (
	"strings"
	"testing"
)

func TestRealmAuditOption(t *testing.T) {
	t.Parallel()
	base := "version: 2\nworkers:\n  - type: router\n    realms:\n      - name: realm1\n        options: {audit: %s}\n"
	cfg, _, err := Parse("c.yaml", []byte(strings.Replace(base, "%s", "true", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.RouterOptions(); len(o.Realms) != 1 || !o.Realms[0].Audit {
		t.Errorf("audit not set: %+v", o.Realms)
	}
	if _, _, err := Parse("c.yaml", []byte(strings.Replace(base, "%s", "sometimes", 1))); err == nil || !strings.Contains(err.Error(), "audit") {
		t.Errorf("audit: sometimes: %v", err)
	}
}
