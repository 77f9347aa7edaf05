package auth

import (
	"fmt"
	"time"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// withGrants reads the session terms of a dynamic authenticator's dict
// answer (docs/dynamic-auth.md): permissions, the session's own grants in
// exactly the static role shape, compiled once here; and expires_in
// (seconds) or expires_at (RFC 3339), the credential's lifetime. A
// malformed value refuses the login with a message naming the problem.
func (d *Dynamic) withGrants(answer wamp.Dict, id *Identity) (*Identity, error) {
	if v, ok := answer["permissions"]; ok && v != nil {
		r, err := authz.CompileGrants(v)
		if err != nil {
			return nil, d.malformed("permissions", err.Error())
		}
		id.Grants = r
	}
	exp, err := ParseExpiry(answer, time.Now())
	if err != nil {
		return nil, d.malformed("expiry", err.Error())
	}
	id.Expires = exp
	return id, nil
}

// ParseExpiry reads expires_in (seconds from now, > 0) or expires_at (RFC
// 3339, after now) from an authenticator's or refresh procedure's answer;
// zero time when neither is present. Both at once is an error.
func ParseExpiry(d wamp.Dict, now time.Time) (time.Time, error) {
	in, hasIn := d["expires_in"]
	at, hasAt := d["expires_at"]
	hasIn, hasAt = hasIn && in != nil, hasAt && at != nil
	switch {
	case hasIn && hasAt:
		return time.Time{}, fmt.Errorf("both expires_in and expires_at")
	case hasIn:
		secs, ok := wamp.AsFloat(in)
		if !ok {
			return time.Time{}, fmt.Errorf("expires_in: %s, want a number of seconds", describe(in))
		}
		if !(secs > 0) || secs > 1e9 {
			return time.Time{}, fmt.Errorf("expires_in %v, want seconds > 0", in)
		}
		return now.Add(time.Duration(secs * float64(time.Second))), nil
	case hasAt:
		s, ok := at.(string)
		if !ok {
			return time.Time{}, fmt.Errorf("expires_at: %s, want an RFC 3339 string", describe(at))
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("expires_at %q: not RFC 3339", s)
		}
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("expires_at %s is not in the future", s)
		}
		return t, nil
	}
	return time.Time{}, nil
}
