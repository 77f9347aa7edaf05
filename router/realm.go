package router

import (
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

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
	bounds sessionBounds // per-session routing bounds (bounds.go)
	stats  *stats        // the router's counters

	// internal is the router's own trusted session on this realm.
	internal *internalSession
	// meta serves the meta API and publishes the meta events.
	meta *meta.Meta
	// cl is the router's cluster link (nil: a single node) and localMeta
	// the meta procedures as this node alone answers them
	// (cluster_meta.go). Set before any session joins.
	cl        *clusterLink
	localMeta map[wamp.URI]meta.Procedure
	// wg tracks goroutines Shutdown waits for (the router's).
	wg *sync.WaitGroup

	// refresh is the procedure that renews expiring credentials ("":
	// none); expiry holds the expiries (expiry.go).
	refresh wamp.URI
	expiry  expiries
	// revokes counts revokes past their flush (revoke.go).
	revokes atomic.Uint64

	mu       sync.RWMutex
	sessions map[wamp.ID]*session
	// joining holds the ids of sessions between reserve and add
	// (lifecycle.go).
	joining map[wamp.ID]bool

	maxSessions int
	rates       *realmRates // message rate limits (ratelimit.go)
}

func newRealm(o RealmOptions, ids *wamp.Sequence, wg *sync.WaitGroup, st *stats, caller authz.Caller, log *slog.Logger) (*realm, error) {
	rm := &realm{
		stats:    st,
		wg:       wg,
		name:     o.Name,
		strict:   o.URICheck != "loose",
		refresh:  o.CredentialRefresh,
		broker:   broker.New(ids),
		dealer:   dealer.New(ids),
		sessions: map[wamp.ID]*session{},
		joining:  map[wamp.ID]bool{},

		maxSessions: o.MaxSessions,
		rates:       newRealmRates(o.MessageRates, o.RoleMessageRates),
		bounds:      resolveBounds(o),
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
	rm.broker.Unencodable = &st.unencodable
	if err := rm.setupEvents(o); err != nil { // retention, history (history.go)
		return nil, err
	}
	if rm.authz != nil {
		rm.internal.register(procAuthorizerFlush, rm.flushAuthorizerCache)
		rm.internal.registerAsync(procAuthorizerRevoke, rm.revokeProc)   // revoke.go
		rm.internal.registerAsync(procAuthorizerExplain, rm.explainProc) // explain.go
	}
	return rm, nil
}

// procAuthorizerFlush drops cached authorizer decisions. Keyword arguments
// (all optional, combined with AND; none means everything): session (id),
// authid, authrole, uri_prefix. It returns the number of entries dropped.
const procAuthorizerFlush wamp.URI = "tollgate.authorizer.flush"

func (rm *realm) flushAuthorizerCache(caller wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	a, k, err := rm.flushLocal(caller, args, kwargs)
	if err == nil {
		rm.cl.broadcastAuthz(rm, procAuthorizerFlush, kwargs) // every node flushes its part
	}
	return a, k, err
}

func (rm *realm) flushLocal(_ wamp.ID, args wamp.List, kwargs wamp.Dict) (wamp.List, wamp.Dict, error) {
	f, err := authorizerFilter(procAuthorizerFlush, args, kwargs, nil)
	if err != nil {
		return nil, nil, err
	}
	return wamp.List{int64(rm.authz.Flush(f))}, nil, nil
}

// authorizerFilter reads the selector keyword arguments of flush and
// revoke (session, authid, authrole, uri_prefix; none selects everything).
// extra reads the procedure's other keyword arguments: it reports whether
// it knows k and whether v has the right type.
func authorizerFilter(proc wamp.URI, args wamp.List, kwargs wamp.Dict, extra func(k string, v any) (known, ok bool)) (authz.FlushFilter, error) {
	var f authz.FlushFilter
	bad := func(msg string) error {
		return &wamp.CallError{URI: wamp.ErrInvalidArgument, Args: wamp.List{msg}}
	}
	if len(args) > 0 {
		return f, bad(string(proc) + " takes keyword arguments only: session, authid, authrole, uri_prefix")
	}
	selectors := 0
	for k, v := range kwargs {
		var ok bool
		selectors++
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
			var known bool
			if extra != nil {
				known, ok = extra(k, v)
			}
			if !known {
				return f, bad(fmt.Sprintf("%s: unknown keyword argument %q (want session, authid, authrole, uri_prefix)", proc, k))
			}
			selectors--
		}
		if !ok {
			return f, bad(fmt.Sprintf("%s: keyword argument %q has the wrong type (%T)", proc, k, v))
		}
	}
	f.All = selectors == 0
	return f, nil
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

// full reports whether the realm has MaxSessions sessions (joined or
// joining).
func (rm *realm) full() bool {
	if rm.maxSessions <= 0 {
		return false
	}
	rm.mu.RLock()
	defer rm.mu.RUnlock()
	return len(rm.sessions)+len(rm.joining) >= rm.maxSessions
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
