package wamp

// MatchPolicy reads Options.match of a SUBSCRIBE or REGISTER (or the meta
// API's lookup options): exact when absent; ok=false for an unknown
// policy.
func MatchPolicy(opts Dict) (policy string, ok bool) {
	v, present := opts["match"]
	if !present {
		return MatchExact, true
	}
	p, ok := v.(string)
	switch p {
	case MatchExact, MatchPrefix, MatchWildcard:
		return p, ok
	}
	return "", false
}
