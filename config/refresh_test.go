package config

import "testing"

// The realm option credential_refresh names the procedure that renews
// expiring credentials (docs/dynamic-auth.md, "Credential lifetime").
func TestCredentialRefreshOption(t *testing.T) {
	t.Parallel()
	c, _ := mustParse(t, "r.yaml", `version: 2
workers:
  - type: router
    realms:
      - name: realm1
        options: {credential_refresh: com.example.refresh}
        roles: []
    transports:
      - {type: rawsocket, endpoint: {type: tcp, port: 0}}
`)
	if got := c.Realms[0].CredentialRefresh; got != "com.example.refresh" {
		t.Errorf("CredentialRefresh = %q", got)
	}
}
