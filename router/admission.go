package router

import (
	"net"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Login admission: on transports with authentication, a HELLO is checked against its source address's and
// its authid's token buckets before any authenticator runs, and at most
// MaxPendingLogins authenticator calls (hashes, dynamic authenticators)
// run at once; past that a login is refused at once instead of queueing
// behind a flood.

// Admission defaults: far above what a real client does (a reconnect
// loop with backoff), far below what a hash flood needs.
var (
	defaultHelloRatePerIP     = Rate{PerSecond: 50, Burst: 100}
	defaultHelloRatePerAuthID = Rate{PerSecond: 20, Burst: 50}
)

const defaultMaxPendingLogins = 64

// ErrLoginThrottled is the ABORT reason of a HELLO refused by login
// admission (rate per source address or authid, or too many logins in
// progress): retry later.
const ErrLoginThrottled wamp.URI = "tollgate.error.login_throttled"

// ErrRealmFull is the ABORT reason of a HELLO for a realm at its
// MaxSessions.
const ErrRealmFull wamp.URI = "tollgate.error.realm_full"

// admission holds the router's login admission state.
type admission struct {
	perIP, perAuthID *buckets
	maxPending       int64
	pending          atomic.Int64
}

// rateDefault is r, def when r is unset, and no limit when r is negative.
func rateDefault(r, def Rate) Rate {
	switch {
	case r.PerSecond < 0:
		return Rate{}
	case r.PerSecond == 0:
		return def
	}
	return r
}

func newAdmission(o *Options) *admission {
	a := &admission{
		perIP:      &buckets{rate: rateDefault(o.HelloRatePerIP, defaultHelloRatePerIP)},
		perAuthID:  &buckets{rate: rateDefault(o.HelloRatePerAuthID, defaultHelloRatePerAuthID)},
		maxPending: int64(o.MaxPendingLogins),
	}
	if a.maxPending == 0 {
		a.maxPending = defaultMaxPendingLogins
	}
	return a
}

// admitHello applies the HELLO rate limits; false: ABORT sent.
func (s *session) admitHello(hello *wamp.Hello) bool {
	if len(s.auth) == 0 {
		return true // anonymous only: no authenticator to protect
	}
	a := s.r.admission
	host := s.tc.Info().RemoteAddr
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if !a.perIP.allow(host) {
		return s.throttled("too many logins from this address, retry later")
	}
	if authid, _ := wamp.OptString(hello.Details, "authid"); authid != "" &&
		!a.perAuthID.allow(string(hello.Realm)+"\x00"+authid) {
		return s.throttled("too many logins for this authid, retry later")
	}
	return true
}

// beginLogin takes a slot for one authenticator call; false: ABORT sent.
// The caller calls endLogin after the call (not while the client thinks).
func (s *session) beginLogin() bool {
	a := s.r.admission
	if a.maxPending < 0 {
		return true
	}
	if a.pending.Add(1) > a.maxPending {
		a.pending.Add(-1)
		return s.throttled("too many logins in progress, retry later")
	}
	return true
}

func (s *session) endLogin() {
	if s.r.admission.maxPending >= 0 {
		s.r.admission.pending.Add(-1)
	}
}

func (s *session) throttled(msg string) bool {
	s.r.stats.throttledLogins.Add(1)
	s.r.warnLimited("login refused by admission control", "remote", s.tc.Info().RemoteAddr, "message", msg)
	s.abort(ErrLoginThrottled, msg)
	return false
}
