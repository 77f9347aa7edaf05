package router

import (
	"container/heap"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// CloseCredentialsExpired is the GOODBYE reason for a session whose
// credentials expired (the authenticator's expires_in/expires_at) and were
// not refreshed.
const CloseCredentialsExpired wamp.URI = "tollgate.close.credentials_expired"

// How long before expiry the refresh procedure is called: a tenth of the
// credential's lifetime, at least minRefreshLead (but no more than half
// the lifetime), at most refreshLead.
const (
	refreshLead    = 30 * time.Second
	minRefreshLead = time.Second
)

// expiries are a realm's credential expiries: one heap ordered by due
// time and one timer for its earliest entry, however many sessions expire
// (no timer per session). Lock: mu, a leaf; nothing is called under it.
type expiries struct {
	mu    sync.Mutex
	h     expiryHeap
	at    map[*session]*expiry
	timer *time.Timer
}

// expiry is one session's next due time: refresh (when the realm has a
// refresh procedure and the lead is reached) or expiry.
type expiry struct {
	s       *session
	due     time.Time // when to act
	expires time.Time // when the credentials end
	index   int
}

type expiryHeap []*expiry

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *expiryHeap) Push(x any)        { e := x.(*expiry); e.index = len(*h); *h = append(*h, e) }
func (h *expiryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}

// schedule (re)sets s's credential expiry (zero: none), called at join
// and after a refresh.
func (rm *realm) schedule(s *session, expires time.Time) {
	if expires.IsZero() {
		return
	}
	s.az.Expires.Store(expires.UnixNano()) // the authorizer's expires_at
	due := expires
	if rm.refresh != "" {
		life := time.Until(expires)
		due = expires.Add(-min(max(life/10, minRefreshLead), life/2, refreshLead))
	}
	x := &rm.expiry
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.at == nil {
		x.at = map[*session]*expiry{}
	}
	if e := x.at[s]; e != nil {
		e.due, e.expires = due, expires
		heap.Fix(&x.h, e.index)
	} else {
		e = &expiry{s: s, due: due, expires: expires}
		x.at[s] = e
		heap.Push(&x.h, e)
	}
	rm.armLocked()
}

// unschedule forgets s (leave).
func (rm *realm) unschedule(s *session) {
	x := &rm.expiry
	x.mu.Lock()
	defer x.mu.Unlock()
	if e := x.at[s]; e != nil {
		heap.Remove(&x.h, e.index)
		delete(x.at, s)
	}
}

// armLocked sets the one timer to the earliest due time.
func (rm *realm) armLocked() {
	x := &rm.expiry
	if len(x.h) == 0 {
		return
	}
	d := time.Until(x.h[0].due)
	if x.timer == nil {
		x.timer = time.AfterFunc(d, rm.expire)
	} else {
		x.timer.Reset(d)
	}
}

// expire handles every entry that is due: a refresh (on a goroutine: it
// calls the backend) or the close.
func (rm *realm) expire() {
	x := &rm.expiry
	x.mu.Lock()
	now := time.Now()
	var due []*expiry
	for len(x.h) > 0 && !x.h[0].due.After(now) {
		e := heap.Pop(&x.h).(*expiry)
		delete(x.at, e.s)
		due = append(due, e)
	}
	rm.armLocked()
	x.mu.Unlock()
	for _, e := range due {
		if rm.refresh != "" && now.Before(e.expires) {
			go rm.refreshCredentials(e.s, e.expires)
			continue
		}
		e.s.log.Info("credentials expired; closing the session")
		e.s.Kill(CloseCredentialsExpired, "credentials expired")
	}
}

// refreshCredentials calls the realm's refresh procedure as
// refresh(session, authid), bounded by the credentials' expiry: a new
// expiry (expires_in seconds, or a dict with expires_in or expires_at)
// keeps the session; anything else closes it.
func (rm *realm) refreshCredentials(s *session, expires time.Time) {
	ctx, cancel := context.WithDeadline(context.Background(), expires)
	defer cancel()
	args, kwargs, err := rm.internal.call(ctx, rm.refresh, wamp.List{uint64(s.id), s.authid}, nil)
	var next time.Time
	if err == nil {
		next, err = refreshAnswer(args, kwargs)
	}
	if err != nil {
		s.log.Info("credentials not refreshed; closing the session", "refresh", string(rm.refresh), "err", err)
		s.Kill(CloseCredentialsExpired, "credentials expired")
		return
	}
	if s.conn.current.Load() == s {
		rm.schedule(s, next)
	}
}

// refreshAnswer reads a refresh procedure's answer.
func refreshAnswer(args wamp.List, kwargs wamp.Dict) (time.Time, error) {
	d := kwargs
	if len(args) > 0 {
		switch v := args[0].(type) {
		case wamp.Dict:
			d = v
		default:
			d = wamp.Dict{"expires_in": v}
		}
	}
	t, err := auth.ParseExpiry(d, time.Now())
	if err == nil && t.IsZero() {
		err = fmt.Errorf("no expires_in or expires_at in the answer")
	}
	return t, err
}
