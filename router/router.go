package router

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/internal/broker"
	"github.com/tollgate-wamp/tollgate/internal/dealer"
	"github.com/tollgate-wamp/tollgate/internal/guard"
	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// ErrServerClosed is returned by the Serve methods after Shutdown.
var ErrServerClosed = errors.New("router: server closed")

// Router is a WAMP router. It is safe for concurrent use.
type Router struct {
	opts  Options
	log   *slog.Logger
	ids   wamp.Sequence // router-scope subscription and registration ids
	stats stats
	// errorsSent counts ERRORs sent by URI; prom is the metrics registry
	// (metrics*.go).
	errorsSent errorCounts
	joins      joinCounts // metrics_join.go
	prom       promState
	ops        opsState // health.go

	realms map[wamp.URI]*realm // immutable after New

	mu        sync.Mutex
	conns     map[*conn]struct{}
	mem       memRelease // when to hand freed memory back (memory.go)
	retired   msgTotals  // message counts of closed connections (metrics_shard.go)
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup // connection goroutines

	lastWarn  atomic.Int64 // unix nanos of the last rate-limited warning
	ipConns   ipConns      // open connections by source address (edge.go)
	admission *admission   // login admission (admission.go)
	// authnGuards bound the calls to dynamic authenticators, shared by
	// every transport naming one (serve.go, metrics_guards.go).
	authnGuards guard.Table

	cl *clusterLink // nil: a single node (cluster.go)
}

type stats struct {
	protocolViolations  atomic.Uint64
	slowConsumers       atomic.Uint64
	droppedEvents       atomic.Uint64
	droppedPublications atomic.Uint64
	oversize            atomic.Uint64
	unencodable         atomic.Uint64
	boundRefusals       atomic.Uint64
	storedEvicted       atomic.Uint64
	storedTooLarge      atomic.Uint64
	authFailures        atomic.Uint64
	authzFailures       atomic.Uint64
	withheldEvents      atomic.Uint64
	// The connection edge (edge.go): accept() failures retried,
	// connections refused by a connection limit, connections closed by the
	// handshake deadline before a session claimed them.
	acceptErrors atomic.Uint64
	// Admission and rate limits (admission.go, ratelimit.go): logins
	// refused by admission control, HELLOs refused by a full realm,
	// requests refused by a message rate limit, sessions closed for it.
	throttledLogins   atomic.Uint64
	realmFull         atomic.Uint64
	rateLimited       atomic.Uint64
	rateLimitCloses   atomic.Uint64
	refusedConns      atomic.Uint64
	handshakeTimeouts atomic.Uint64
	parked            atomic.Int64 // connections parked now (conn.park)
}

// Stats are counters since the router started.
type Stats struct {
	Sessions            int    // established sessions now
	Parked              int    // connections parked now: idle, without a read-loop goroutine (Options.IdleParkAfter)
	RetainedBytes       int64  // accounted bytes of retained events now, all realms
	HistoryBytes        int64  // accounted bytes of event history now, all realms
	ProtocolViolations  uint64 // sessions aborted for protocol violations
	SlowConsumers       uint64 // connections closed because their queue was full
	DroppedEvents       uint64 // EVENTs dropped under SlowConsumerDropEvents
	DroppedPublications uint64 // unacknowledged PUBLISHes refused (bad URI, options, authorization)
	Oversize            uint64 // messages not sent because the peer's size limit is smaller
	Unencodable         uint64 // messages and events to a session its serializer cannot carry (a message answering a request is replaced by ERROR)
	BoundRefusals       uint64 // CALL, SUBSCRIBE, REGISTER refused by a per-session bound (calls in flight, subscriptions, registrations)
	StoredEvicted       uint64 // retained and history events evicted to stay within the count and byte bounds
	StoredTooLarge      uint64 // events not retained or kept in history: larger than StoredEventBytes
	AuthFailures        uint64 // joins refused by authentication (ABORT before WELCOME)
	AuthzFailures       uint64 // actions denied because the authorizer failed (error, timeout, garbage)
	// WithheldEvents counts events of prefix/wildcard subscriptions not
	// delivered because the subscriber may not subscribe to the concrete
	// topic (docs/authorization.md, "Pattern subscriptions").
	WithheldEvents uint64
	// The connection edge: accept() failures retried (EMFILE and the
	// like), connections refused by MaxConnections/MaxConnectionsPerIP,
	// and connections closed because they had no WAMP session by the
	// handshake deadline.
	AcceptErrors, RefusedConnections, HandshakeTimeouts uint64
	// ThrottledLogins are HELLOs refused by login admission control
	// (tollgate.error.login_throttled); RealmFull HELLOs refused by a
	// realm's MaxSessions; RateLimited requests refused by a message rate
	// limit; RateLimitCloses sessions closed for repeating it.
	ThrottledLogins, RealmFull, RateLimited, RateLimitCloses uint64
}

// New validates opts and returns a router ready to serve. opts is copied.
func New(opts Options) (*Router, error) {
	o := opts
	o.Realms = append([]RealmOptions(nil), opts.Realms...)
	if o.HelloTimeout <= 0 {
		o.HelloTimeout = 10 * time.Second
	}
	if o.GoodbyeReason == "" {
		o.GoodbyeReason = GoodbyeCrossbar
	}
	if o.IdleParkAfter == 0 {
		o.IdleParkAfter = 2 * time.Second
	}
	if o.GoodbyeTimeout <= 0 {
		o.GoodbyeTimeout = 5 * time.Second
	}
	if o.MaxQueueBytes <= 0 {
		o.MaxQueueBytes = 4 << 20
	}
	if o.MaxQueueMessages <= 0 {
		o.MaxQueueMessages = 65536
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	r := &Router{
		opts:      o,
		log:       log,
		realms:    map[wamp.URI]*realm{},
		conns:     map[*conn]struct{}{},
		listeners: map[net.Listener]struct{}{},
		admission: newAdmission(&o),
		ops:       opsState{started: time.Now()},
	}
	var errs []error
	for i, ro := range o.Realms {
		switch {
		case !wamp.ValidURI(ro.Name, false, wamp.MatchExact):
			errs = append(errs, fmt.Errorf("router: realms[%d]: invalid realm name %q", i, ro.Name))
		case r.realms[ro.Name] != nil:
			errs = append(errs, fmt.Errorf("router: realms[%d]: duplicate realm %q", i, ro.Name))
		case ro.URICheck != "" && ro.URICheck != "strict" && ro.URICheck != "loose":
			errs = append(errs, fmt.Errorf("router: realms[%d]: uri_check must be strict or loose, got %q", i, ro.URICheck))
		default:
			rm, err := newRealm(ro, &r.ids, &r.wg, &r.stats, backendCaller{r, "authorizer"}, log)
			if err != nil {
				errs = append(errs, fmt.Errorf("router: realms[%d] (%s): %w", i, ro.Name, err))
				continue
			}
			r.realms[ro.Name] = rm
		}
	}
	if o.SlowConsumer != SlowConsumerDisconnect && o.SlowConsumer != SlowConsumerDropEvents {
		errs = append(errs, fmt.Errorf("router: unknown slow consumer policy %d", o.SlowConsumer))
	}
	if err := (websocket.ServerOptions{AuthHeaders: o.AuthHeaders}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("router: AuthHeaders: %w", err)) // Handler relies on it
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var err error
	if r.cl, err = startCluster(r, o.Cluster, o.ClusterRealms); err != nil {
		return nil, err
	}
	return r, nil
}

// Stats returns the router's counters.
func (r *Router) Stats() Stats {
	n := 0
	var retained, history int64
	for _, rm := range r.realms {
		n += rm.count()
		retained += rm.broker.RetainedBytes()
		history += rm.broker.HistoryBytes()
	}
	return Stats{
		Sessions:            n,
		Parked:              int(r.stats.parked.Load()),
		RetainedBytes:       retained,
		HistoryBytes:        history,
		ProtocolViolations:  r.stats.protocolViolations.Load(),
		SlowConsumers:       r.stats.slowConsumers.Load(),
		DroppedEvents:       r.stats.droppedEvents.Load(),
		DroppedPublications: r.stats.droppedPublications.Load(),
		Oversize:            r.stats.oversize.Load(),
		Unencodable:         r.stats.unencodable.Load(),
		BoundRefusals:       r.stats.boundRefusals.Load(),
		StoredEvicted:       r.stats.storedEvicted.Load(),
		StoredTooLarge:      r.stats.storedTooLarge.Load(),
		AuthFailures:        r.stats.authFailures.Load(),
		AuthzFailures:       r.stats.authzFailures.Load(),
		WithheldEvents:      r.stats.withheldEvents.Load(),
		AcceptErrors:        r.stats.acceptErrors.Load(),
		RefusedConnections:  r.stats.refusedConns.Load(),
		HandshakeTimeouts:   r.stats.handshakeTimeouts.Load(),
		ThrottledLogins:     r.stats.throttledLogins.Load(),
		RealmFull:           r.stats.realmFull.Load(),
		RateLimited:         r.stats.rateLimited.Load(),
		RateLimitCloses:     r.stats.rateLimitCloses.Load(),
	}
}

// AuthzCacheStats returns the authorizer cache counters of realm; ok is
// false for an unknown or open realm (no roles, so no authorizer).
func (r *Router) AuthzCacheStats(realm wamp.URI) (stats authz.CacheStats, ok bool) {
	rm := r.realms[realm]
	if rm == nil || rm.authz == nil {
		return authz.CacheStats{}, false
	}
	return rm.authz.CacheStats(), true
}

// warnLimited logs a warning at most once per second router-wide, so a
// misbehaving client cannot flood the log.
func (r *Router) warnLimited(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last < int64(time.Second) || !r.lastWarn.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn(msg, args...)
}

// welcomeDetails are the WELCOME.Details for s.
func (r *Router) welcomeDetails(s *session) wamp.Dict {
	d := s.Details(welcomeView)
	d["agent"] = "tollgate-" + Version
	d["roles"] = welcomeRoles()
	return d
}

// welcomeRoles is WELCOME.Details.roles, the same for every session, so
// built once and shared: a WELCOME is encoded and dropped, never changed.
var welcomeRoles = sync.OnceValue(func() wamp.Dict {
	return wamp.Dict{
		"broker": wamp.Dict{"features": featureDict(broker.Features)},
		"dealer": wamp.Dict{"features": featureDict(dealer.Features)},
	}
})

// pendingSessionID draws the id a joining session will get; authenticators
// see it as details.session.
func (r *Router) pendingSessionID() wamp.ID { return wamp.GlobalID() }

func featureDict(keys []string) wamp.Dict {
	d := make(wamp.Dict, len(keys))
	for _, k := range keys {
		d[k] = true
	}
	return d
}

// serveConn runs an established transport connection until it ends or
// parks (conn.run: an idle connection's read loop gives its goroutine up
// and resumes on another); conn.end then leaves the router. It returns at
// once if the router is shutting down.
func (r *Router) serveConn(ctx context.Context, tc transport.Conn, authenticators map[string]auth.Authenticator) {
	if c := r.newConn(ctx, tc, authenticators); c != nil {
		c.serve()
	}
}

// newConn makes tc a connection of r, or closes it and returns nil. Apart
// from serveConn so that its frame is not on the stack of a read loop
// waiting for its peer (conn.serve).
func (r *Router) newConn(ctx context.Context, tc transport.Conn, authenticators map[string]auth.Authenticator) *conn {
	deadline, ok := claimEdge(ctx)
	if !ok {
		tc.Close() // the handshake deadline passed during the transport handshake
		return nil
	}
	// The connection's context ends when it closes (for any reason), which
	// also abandons an authenticator or authorizer call its read loop waits on.
	// It is not derived from ctx (an HTTP request's, for WebSocket), which
	// would keep its parents and their values for the connection's life
	// (connctx.go).
	cctx := &connCtx{}
	c := &conn{
		ctx:    cctx,
		cancel: cctx.cancel,
		r:      r,
		tc:     tc,
		codec:  tc.Codec(),
		q:      transport.NewQueue(tc, transport.QueueOptions{MaxBytes: r.opts.MaxQueueBytes, MaxMessages: r.opts.MaxQueueMessages}),
		auth:   authenticators,

		helloDeadline: deadline,
	}
	c.log = lazyLogger(r.log, c) // conn.logAttrs
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		cctx.cancel()
		tc.Close()
		return nil
	}
	r.conns[c] = struct{}{}
	r.connOpened() // memory.go
	r.wg.Add(1)
	return c
}

// Shutdown stops accepting connections, says GOODBYE
// wamp.close.system_shutdown to every session and waits until they are
// gone or ctx ends (then it closes the rest and returns ctx.Err()).
// Calling it again does nothing more.
func (r *Router) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	defer r.cl.stop() // after the sessions, whose leave withdraws interest
	for ln := range r.listeners {
		ln.Close()
	}
	conns := make([]*conn, 0, len(r.conns))
	for c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()

	for _, c := range conns {
		c.goodbye(wamp.CloseSystemShutdown, "the router is shutting down")
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, c := range conns {
			c.close()
		}
		<-done
		return ctx.Err()
	}
}
