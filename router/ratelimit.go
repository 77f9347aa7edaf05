package router

import (
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Rate is a token bucket: PerSecond tokens are added each second up to
// Burst. The zero Rate is no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

func (r Rate) on() bool { return r.PerSecond > 0 }

// burst is Burst, or one second's worth when unset (at least 1).
func (r Rate) burst() float64 { return max(float64(r.Burst), r.PerSecond, 1) }

// bucket is one token bucket; its owner synchronises it.
type bucket struct {
	tokens float64
	last   int64 // unix nanos of the last refill; 0: new (full)
}

// take refills b for now and takes one token; false: empty.
func (b *bucket) take(r Rate, now int64) bool {
	if b.last == 0 {
		b.tokens = r.burst()
	} else {
		b.tokens = min(b.tokens+float64(now-b.last)*r.PerSecond/1e9, r.burst())
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// maxBuckets bounds a keyed bucket table (source addresses, authids): an
// attacker with many addresses must not grow it without bound.
const maxBuckets = 1 << 16

// buckets are token buckets by key, shared between goroutines.
type buckets struct {
	rate Rate
	mu   sync.Mutex // a leaf lock
	m    map[string]*bucket
}

// allow takes a token from key's bucket; always true when the rate is off.
func (bs *buckets) allow(key string) bool {
	if bs == nil || !bs.rate.on() {
		return true
	}
	now := time.Now().UnixNano()
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.m[key]
	if b == nil {
		if len(bs.m) >= maxBuckets {
			bs.sweep(now)
		}
		if bs.m == nil {
			bs.m = map[string]*bucket{}
		}
		b = &bucket{}
		bs.m[key] = b
	}
	return b.take(bs.rate, now)
}

// sweep forgets the buckets that have refilled (a new bucket starts full,
// so forgetting them changes nothing); if none has, it forgets all (the
// table stays bounded; the limit resets).
func (bs *buckets) sweep(now int64) {
	for k, b := range bs.m {
		if b.tokens+float64(now-b.last)*bs.rate.PerSecond/1e9 >= bs.rate.burst() {
			delete(bs.m, k)
		}
	}
	if len(bs.m) >= maxBuckets {
		clear(bs.m)
	}
}

// MessageRates limit the requests (SUBSCRIBE, UNSUBSCRIBE, PUBLISH,
// REGISTER, UNREGISTER, CALL) a session sends. A request over any limit is
// answered with ERROR wamp.error.rate_limited (an unacknowledged PUBLISH
// is dropped and counted); after CloseAfter refusals within CloseWindow
// the session gets GOODBYE tollgate.close.rate_limited.
type MessageRates struct {
	Session Rate // each session
	AuthID  Rate // all sessions of one authid on the realm together
	Role    Rate // all sessions of the role on the realm together
	// CloseAfter refusals within CloseWindow (default 10 s) close the
	// session; 0 never closes it.
	CloseAfter  int
	CloseWindow time.Duration
}

func (m MessageRates) on() bool { return m.Session.on() || m.AuthID.on() || m.Role.on() }

// ErrRateLimited answers a request over a message rate limit; the
// session is closed with CloseRateLimited past MessageRates.CloseAfter.
const (
	ErrRateLimited   wamp.URI = "wamp.error.rate_limited"
	CloseRateLimited wamp.URI = "tollgate.close.rate_limited"
)

// realmRates are a realm's message rate limits: the realm's, and the
// ones of roles that set their own.
type realmRates struct {
	def     MessageRates
	byRole  map[string]MessageRates
	authids map[string]*buckets // by role: per-authid buckets
	roles   map[string]*buckets // by role: the role's shared bucket
}

func newRealmRates(def MessageRates, byRole map[string]MessageRates) *realmRates {
	rr := &realmRates{def: def, byRole: byRole, authids: map[string]*buckets{}, roles: map[string]*buckets{}}
	add := func(role string, m MessageRates) {
		rr.authids[role] = &buckets{rate: m.AuthID}
		rr.roles[role] = &buckets{rate: m.Role}
	}
	for role, m := range byRole {
		add(role, m)
	}
	// Roles without their own limits share the realm default's tables
	// under their role name (keys are authid or role, never mixed).
	rr.authids[""] = &buckets{rate: def.AuthID}
	rr.roles[""] = &buckets{rate: def.Role}
	return rr
}

// sessionRate is one session's view of the limits; the read loop owns it.
type sessionRate struct {
	m        MessageRates
	authids  *buckets
	roles    *buckets
	authKey  string // role, NUL, authid: the key in authids
	role     string
	own      bucket
	refused  int
	windowAt int64 // unix nanos the refusal window started
}

// forSession returns the limiter for a session of authid and role, nil
// when no limit applies (the common case: one nil check per message).
func (rr *realmRates) forSession(authid, role string) *sessionRate {
	m, key := rr.def, ""
	if rm, ok := rr.byRole[role]; ok {
		m, key = rm, role
	}
	if !m.on() {
		return nil
	}
	if m.CloseWindow <= 0 {
		m.CloseWindow = 10 * time.Second
	}
	return &sessionRate{m: m, authids: rr.authids[key], roles: rr.roles[key], authKey: role + "\x00" + authid, role: role}
}

// allow takes a token for one request; closeNow is true when the
// refusals reached CloseAfter.
func (sr *sessionRate) allow() (ok, closeNow bool) {
	now := time.Now().UnixNano()
	if (!sr.m.Session.on() || sr.own.take(sr.m.Session, now)) &&
		sr.authids.allow(sr.authKey) && sr.roles.allow(sr.role) {
		return true, false
	}
	if now-sr.windowAt > int64(sr.m.CloseWindow) {
		sr.windowAt, sr.refused = now, 0
	}
	sr.refused++
	return false, sr.m.CloseAfter > 0 && sr.refused >= sr.m.CloseAfter
}

// rateLimited applies the session's message rate limit to request m; false
// means it was refused (answered, or dropped and counted).
func (s *session) rateLimited(m wamp.Message) bool {
	if s.rate == nil {
		return false
	}
	var req wamp.ID
	switch m := m.(type) {
	case *wamp.Subscribe:
		req = m.Request
	case *wamp.Unsubscribe:
		req = m.Request
	case *wamp.Publish:
		req = m.Request
		if ack, _ := m.Options["acknowledge"].(bool); !ack {
			req = 0
		}
	case *wamp.Register:
		req = m.Request
	case *wamp.Unregister:
		req = m.Request
	case *wamp.Call:
		req = m.Request
	default:
		return false // answers (YIELD, ERROR), CANCEL, GOODBYE pass
	}
	ok, closeNow := s.rate.allow()
	if ok {
		return false
	}
	s.r.stats.rateLimited.Add(1)
	if req != 0 {
		s.replyError(m.MessageType(), req, ErrRateLimited, "message rate limit exceeded, slow down")
	} else {
		s.r.stats.droppedPublications.Add(1)
	}
	// Requests read while the GOODBYE awaits its reply are refused too:
	// count and close the session once.
	if closeNow && !s.conn.closing.Load() {
		s.r.stats.rateLimitCloses.Add(1)
		s.r.warnLimited("closing session over its message rate limit", "session", s.id, "authid", s.authid, "authrole", s.authrole)
		s.conn.goodbye(CloseRateLimited, "message rate limit exceeded repeatedly")
	}
	return true
}
