package router

import (
	"fmt"
	"strings"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Option readers shared by the request parsers (pubsub.go, rpc.go) and the
// meta API.

// optional reads option key with get into *dst. An absent key leaves *dst
// as it is; ok is false when the key is present with a value get refuses.
func optional[T any](o wamp.Dict, key string, get func(wamp.Dict, string) (T, bool), dst *T) (ok bool) {
	if !wamp.Has(o, key) {
		return true
	}
	v, ok := get(o, key)
	if ok {
		*dst = v
	}
	return ok
}

// isPPT reports whether options use payload passthru mode: a non-empty
// ppt_scheme string (spec §16.1).
func isPPT(options wamp.Dict) bool {
	scheme, _ := options["ppt_scheme"].(string)
	return scheme != ""
}

// pptOptions returns the ppt_* keys of options (nil when PPT is not used)
// or a message saying what is wrong with them: every ppt_* value must be
// a string, and ppt_scheme must be non-empty when any is given. The
// values are forwarded unchanged; the payload is never looked at.
func pptOptions(options wamp.Dict) (ppt wamp.Dict, msg string) {
	for k, v := range options {
		if !strings.HasPrefix(k, "ppt_") {
			continue
		}
		if _, ok := v.(string); !ok {
			return nil, fmt.Sprintf("option %s must be a string", k)
		}
		if ppt == nil {
			ppt = wamp.Dict{}
		}
		ppt[k] = v
	}
	if ppt != nil && !isPPT(options) {
		return nil, "ppt_* options need a non-empty ppt_scheme"
	}
	return ppt, ""
}

// feature reports whether roles.<role>.features.<key> is true.
func feature(roles wamp.Dict, role, key string) bool {
	r, _ := wamp.OptDict(roles, role)
	f, _ := wamp.OptDict(r, "features")
	v, _ := wamp.OptBool(f, key)
	if !v && key == "call_canceling" {
		v, _ = wamp.OptBool(f, "call_cancelling") // spelling in one spec section
	}
	return v
}
