package broker

import "github.com/tollgate-wamp/tollgate/wamp"

// SetOptions applies the PUBLISH options that shape delivery, shared by a
// PUBLISH and a testament: exclude_me, the black- and whitelists, and
// disclose_me, which is only checked (disclosure is the authorizer's
// decision). It returns a message naming the first bad option, or "".
func (p *Publication) SetOptions(o wamp.Dict) string {
	if wamp.Has(o, "exclude_me") {
		v, ok := wamp.OptBool(o, "exclude_me")
		if !ok {
			return "option exclude_me must be a bool"
		}
		p.ExcludeMe = v
	}
	if _, ok := wamp.OptBool(o, "disclose_me"); !ok && wamp.Has(o, "disclose_me") {
		return "option disclose_me must be a bool"
	}
	for _, f := range []struct {
		key string
		dst *[]wamp.ID
	}{{"exclude", &p.Exclude}, {"eligible", &p.Eligible}} {
		if wamp.Has(o, f.key) {
			v, ok := wamp.OptIDs(o, f.key)
			if !ok {
				return "option " + f.key + " must be a list of session ids"
			}
			*f.dst = v
		}
	}
	for _, f := range []struct {
		key string
		dst *[]string
	}{
		{"exclude_authid", &p.ExcludeAuthID}, {"eligible_authid", &p.EligibleAuthID},
		{"exclude_authrole", &p.ExcludeAuthRole}, {"eligible_authrole", &p.EligibleAuthRole},
	} {
		if wamp.Has(o, f.key) {
			v, ok := wamp.OptStrings(o, f.key)
			if !ok {
				return "option " + f.key + " must be a list of strings"
			}
			*f.dst = v
		}
	}
	return ""
}
