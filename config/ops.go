package config

import "github.com/tollgate-wamp/tollgate/router"

// opsRealmOptions reads the realm options of operations (docs/operations.md):
// audit (bool) puts the realm's joins and authorization failures in the
// audit log that `tollgate start --audit-log` opens.
func (p *parser) opsRealmOptions(om *mapping, realm *router.RealmOptions) {
	if av, ap := om.get("audit"); av != nil {
		realm.Audit, _ = p.boolean(av, ap)
	}
}
