package authz

import (
	"errors"
	"regexp"
	"strconv"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// arity is how many arguments an authorizer procedure takes: 4 (session,
// uri, action, options), or 3 (session, uri, action), the signature of the
// Crossbar guide's authorizer. Crossbar always passes 4 and its fallback
// to 3 only recognizes Python 2's error text, so a 3-argument Python 3
// authorizer denies everything there.
//
// Unless forced by config, it is learned: the first call passes 4; if the
// answer is the runtime_error a Python function taking one argument less
// raises, the call is repeated at once with 3, and once that succeeds, 3 is
// used from then on (no extra round trip per decision). The opposite
// error (a 4-argument function called with 3, after the backend was
// replaced) switches back the same way, and "no such procedure" forgets
// what was learned, so the next registration is probed afresh. Roles that
// share an authorizer (same procedure and realm) share its arity.
type arity struct {
	forced  int          // 3 or 4 from config; 0: learn
	learned atomic.Int32 // 0 until learned
}

// arityTable hands out one arity per authorizer procedure (and realm).
type arityTable map[[2]wamp.URI]*arity

func (t arityTable) of(realm, proc wamp.URI, forced int) *arity {
	if forced != 0 {
		return &arity{forced: forced}
	}
	k := [2]wamp.URI{realm, proc}
	if t[k] == nil {
		t[k] = &arity{}
	}
	return t[k]
}

// n is the number of arguments to pass now.
func (a *arity) n() int {
	if a.forced != 0 {
		return a.forced
	}
	if n := a.learned.Load(); n != 0 {
		return int(n)
	}
	return 4
}

// learn records that a call with n arguments succeeded after a retry.
func (a *arity) learn(n int) { a.learned.Store(int32(n)) }

// retry says with how many arguments to repeat a call made with n that
// failed with err: 3 or 4 when err is Python's complaint about the count,
// else 0 (also when the count is forced).
func (a *arity) retry(n int, err error) int {
	if err == nil || a.forced != 0 {
		return 0
	}
	var ce *wamp.CallError
	if !errors.As(err, &ce) {
		return 0
	}
	if ce.URI == wamp.ErrNoSuchProcedure {
		a.learned.Store(0) // the next registration may take either
		return 0
	}
	if ce.URI != wamp.ErrRuntimeError || len(ce.Args) == 0 {
		return 0
	}
	msg, _ := ce.Args[0].(string)
	switch {
	case n == 4 && oneTooMany(msg):
		return 3
	case n == 3 && missingOne.MatchString(msg):
		return 4
	}
	return 0
}

var (
	// Python 3: "authorize() takes 3 positional arguments but 4 were
	// given" (a method: "B.authorize() takes 4 ... but 5 were given"; with
	// defaults: "takes from 2 to 3 positional arguments but 4 were given").
	tooManyPy3 = regexp.MustCompile(`takes (?:from \d+ to )?(\d+) positional arguments? but (\d+) (?:was|were) given`)
	// Python 2: "authorize() takes exactly 3 arguments (4 given)".
	tooManyPy2 = regexp.MustCompile(`takes (?:exactly|at most) (\d+) arguments? \((\d+) given\)`)
	// Python 3: "authorize() missing 1 required positional argument: 'options'";
	// Python 2: "authorize() takes exactly 5 arguments (4 given)" is rare
	// enough (the backend changed to 4 under a Python 2 router) to ignore.
	missingOne = regexp.MustCompile(`missing 1 required positional argument`)
)

// oneTooMany reports whether msg is Python's TypeError for a call that
// passed exactly one positional argument more than the function takes.
func oneTooMany(msg string) bool {
	for _, re := range []*regexp.Regexp{tooManyPy3, tooManyPy2} {
		if m := re.FindStringSubmatch(msg); m != nil {
			takes, _ := strconv.Atoi(m[1])
			given, _ := strconv.Atoi(m[2])
			return given == takes+1
		}
	}
	return false
}
