package router

import (
	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
)

// grantsOf holds a joining session's own permissions (the authenticator's
// answer; none for other authenticators). Every session gets a holder, so
// revoke with permissions can give grants to one that had none.
func grantsOf(who *auth.Identity) *authz.Grants {
	g := &authz.Grants{}
	g.Set(who.Grants)
	return g
}
