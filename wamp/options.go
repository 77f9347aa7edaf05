package wamp

// Invocation policies of a shared registration (REGISTER.Options.invoke,
// wamp-spec.md §11.8). Single is the default.
const (
	InvokeSingle     = "single"
	InvokeRoundRobin = "roundrobin"
	InvokeRandom     = "random"
	InvokeFirst      = "first"
	InvokeLast       = "last"
)

// ValidInvoke reports whether p is a known invocation policy.
func ValidInvoke(p string) bool {
	switch p {
	case InvokeSingle, InvokeRoundRobin, InvokeRandom, InvokeFirst, InvokeLast:
		return true
	}
	return false
}

// Cancel modes (CANCEL.Options.mode and INTERRUPT.Options.mode,
// wamp-spec.md §11.4).
const (
	CancelSkip       = "skip"
	CancelKill       = "kill"
	CancelKillNoWait = "killnowait"
)

// ValidCancelMode reports whether m is a known cancel mode.
func ValidCancelMode(m string) bool {
	switch m {
	case CancelSkip, CancelKill, CancelKillNoWait:
		return true
	}
	return false
}
