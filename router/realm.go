package router

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/meta"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// realm is one routing domain: its sessions, broker and dealer.
type realm struct {
	name   wamp.URI
	strict bool // strict URI check
	// authz decides what sessions may do; nil means an open realm that
	// admits any role and allows everything.
	authz  *swapAuthz // reload.go
	broker *broker.Broker
	dealer *dealer.Dealer

	// internal is the router's own trusted session on this realm.
	internal *internalSession
	// meta serves the meta API and publishes the meta events.
	meta *meta.Meta
	// wg tracks goroutines Shutdown waits for (the router's).
	wg *sync.WaitGroup

	mu       sync.RWMutex
	sessions map[wamp.ID]*session
	// joining holds the ids of sessions between reserve and add
	// (lifecycle.go).
	joining map[wamp.ID]bool
}

func newRealm(o RealmOptions, ids *wamp.Sequence, wg *sync.WaitGroup, caller authz.Caller, log *slog.Logger) (*realm, error) {
	rm := &realm{
		wg:       wg,
		name:     o.Name,
		strict:   o.URICheck != "loose",
		broker:   broker.New(ids),
		dealer:   dealer.New(ids),
		sessions: map[wamp.ID]*session{},
		joining:  map[wamp.ID]bool{},
	}
	if o.Roles != nil {
		az, err := authz.NewRealm(o.Name, o.Roles, authz.Options{
			Caller:     caller,
			CacheSize:  o.AuthzCacheSize,
			DefaultTTL: o.AuthzCacheTTL,
			Logger:     log.With("realm", o.Name),
		})
		if err != nil {
			return nil, err
		}
		rm.authz = newSwapAuthz(az)
	}
	rm.internal = newInternalSession(rm)
	rm.meta = meta.New(meta.Config{Name: rm.name, Realm: metaRealm{rm}, Broker: rm.broker, Dealer: rm.dealer, Self: rm.internal})
	for uri, fn := range rm.meta.Procedures() {
		rm.internal.register(uri, internalProc(fn))
	}
	// Events of pattern subscriptions are re-checked against the concrete
	// topic (policy.go).
	rm.broker.MayReceive = rm.mayReceive
	if err := rm.setupEvents(o); err != nil { // retention, history (history.go)
		return nil, err
	}
	if rm.authz != nil {
		rm.internal.register(procAuthorizerFlush, rm.flushAuthorizerCache)
	}
	return rm, nil
}

// procAuthorizerFlush drops cached authorizer decisions. Keyword arguments
// (all optional, combined with AND; none means everything): session (id),
// authid, authrole, uri_prefix. It returns the number of entries dropped.
const procAuthorizerFlush wamp.URI = "tollgate.authorizer.flush"

func (rm *realm) flushAuthorizerCache(_ wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	bad := func(msg string) error {
		return &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{msg}}
	}
	if len(args) > 0 {
		return nil, nil, bad(string(procAuthorizerFlush) + " takes keyword arguments only: session, authid, authrole, uri_prefix")
	}
	var f authz.FlushFilter
	for k, v := range kwargs {
		var ok bool
		switch k {
		case "session":
			var n int64
			n, ok = wamp.AsInt(v)
			f.Session = wamp.ID(n)
			ok = ok && f.Session.Valid()
		case "authid":
			f.AuthID, ok = v.(string)
		case "authrole":
			f.AuthRole, ok = v.(string)
		case "uri_prefix":
			var p string
			p, ok = v.(string)
			f.URIPrefix = wamp.URI(p)
		default:
			return nil, nil, bad(fmt.Sprintf("unknown keyword argument %q (want session, authid, authrole, uri_prefix)", k))
		}
		if !ok {
			return nil, nil, bad(fmt.Sprintf("keyword argument %q has the wrong type (%T)", k, v))
		}
	}
	f.All = len(kwargs) == 0
	return wamp.List{int64(rm.authz.Flush(f))}, nil, nil
}

// hasRole reports whether sessions may join with role: it is defined on
// the realm, or is "trusted", or the realm defines no roles at all.
func (rm *realm) hasRole(role string) bool {
	return rm.authz == nil || rm.authz.HasRole(role)
}

func (rm *realm) count() int {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return len(rm.sessions)
}

// validURI applies the realm's URI check.
func (rm *realm) validURI(u wamp.URI, match string) bool {
	return wamp.ValidURI(u, rm.strict, match)
}

// session returns the session with id on this realm, or nil.
func (rm *realm) session(id wamp.ID) *session {
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return rm.sessions[id]
}

// metaRealm is the realm as the meta API sees it (meta.Realm).
type metaRealm struct{ rm *realm }

func (m metaRealm) Session(id wamp.ID) (meta.Session, bool) {
	if s := m.rm.session(id); s != nil {
		return s, true
	}
	return nil, false
}

func (m metaRealm) Sessions() []meta.Session {
	m.rm.mu.RLock()
	defer m.rm.mu.RUnlock()
	out := make([]meta.Session, 0, len(m.rm.sessions))
	for _, s := range m.rm.sessions {
		out = append(out, s)
	}
	return out
}

func (m metaRealm) ValidURI(u wamp.URI, match string) bool { return m.rm.validURI(u, match) }
func (m metaRealm) Reserved(u wamp.URI) bool               { return reservedURI(u) }

func (m metaRealm) Forget(id wamp.ID) {
	if m.rm.authz != nil {
		m.rm.authz.SessionLeft(id)
	}
}

// Go runs f on a goroutine Shutdown waits for. It is called while a
// connection's own count is still held, so Add cannot race Wait.
func (m metaRealm) Go(f func()) {
	m.rm.wg.Add(1)
	go func() {
		defer m.rm.wg.Done()
		f()
	}()
}
