package auth

import (
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// withGrants reads the permissions of a dynamic authenticator's dict
// answer (docs/dynamic-auth.md, "Per-session grants"): the session's own
// permissions, in exactly the static role shape, compiled once here. A
// malformed list refuses the login with a message naming the problem.
func (d *Dynamic) withGrants(answer wamp.Dict, id *Identity) (*Identity, error) {
	v, ok := answer["permissions"]
	if !ok || v == nil {
		return id, nil
	}
	r, err := authz.CompileGrants(v)
	if err != nil {
		return nil, d.malformed("permissions", err.Error())
	}
	id.Grants = r
	return id, nil
}
