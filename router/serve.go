package router

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/transport/rawsocket"
	"github.com/tollgate-wamp/tollgate/transport/websocket"
)

// DefaultTransport is WebSocket on any path plus RawSocket on the same
// port, all serializers.
func DefaultTransport() Transport {
	return Transport{Name: "default", WebSocket: map[string]WebSocketOptions{"": {}}, RawSocket: &RawSocketOptions{}}
}

// Serve serves DefaultTransport on ln. See ServeTransport.
func (r *Router) Serve(ln net.Listener) error { return r.ServeTransport(ln, DefaultTransport()) }

// Handler returns an http.Handler that accepts WAMP WebSocket upgrades on
// any path with default options (anonymous sessions), for mounting on a
// user's http.ServeMux.
func (r *Router) Handler() http.Handler {
	h, _ := r.WebSocketHandler(WebSocketOptions{}) // the defaults are valid
	return h
}

// WebSocketHandler returns an http.Handler accepting WAMP WebSocket
// upgrades with o. The handler returns once the connection is upgraded;
// the router serves it from then on. It fails if o's serializers or auth
// methods are invalid.
func (r *Router) WebSocketHandler(o WebSocketOptions) (http.Handler, error) {
	ep, err := r.wsEndpoint(o) // upgrade.go
	if err != nil {
		return nil, err
	}
	return r.wsHandler(ep), nil
}

func (r *Router) wsHandler(ep *wsEndpoint) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.TLS == nil {
			req.TLS, _ = req.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
		}
		tc, err := websocket.Accept(w, req, ep.so)
		if err != nil {
			r.log.Debug("websocket upgrade refused", "remote", req.RemoteAddr, "err", err)
			return
		}
		// Serve on a goroutine of our own and return: net/http keeps its
		// per-connection buffers, request and goroutine stack alive until
		// the handler returns (about 12 KiB per idle session).
		go r.serveConn(req.Context(), tc, ep.auth)
	})
}

// authenticators builds an endpoint's auth methods, calling dynamic
// authenticators through the router itself. nil means anonymous only.
func (r *Router) authenticators(ms []auth.MethodConfig) (map[string]auth.Authenticator, error) {
	if len(ms) == 0 {
		return nil, nil
	}
	ms = slices.Clone(ms)
	for i := range ms {
		ms[i].Dynamic.Guards = &r.authnGuards
		ms[i].Dynamic.Logger = r.log.With("component", "auth")
	}
	return auth.NewSet(ms, backendCaller{r, "authenticator"})
}

// ServeTransport accepts connections on ln and serves t on them until ln
// fails or Shutdown is called; then it returns ErrServerClosed. TLS is the
// listener's business (wrap ln with tls.NewListener).
func (r *Router) ServeTransport(ln net.Listener, t Transport) error {
	serveHTTP := len(t.WebSocket) > 0 || len(t.Metrics) > 0 || len(t.HTTP) > 0
	if !serveHTTP && t.RawSocket == nil {
		return errors.New("router: transport " + t.Name + " serves neither WebSocket, RawSocket nor metrics")
	}
	var rawAuth map[string]auth.Authenticator
	if t.RawSocket != nil {
		if err := t.RawSocket.serverOptions().Validate(); err != nil {
			return err
		}
		var err error
		if rawAuth, err = r.authenticators(t.RawSocket.Auth); err != nil {
			return err
		}
	}
	var (
		httpHandler http.Handler
		routes      *upgradeRoutes
	)
	if serveHTTP {
		var err error
		if httpHandler, routes, err = r.httpMux(t); err != nil {
			return err
		}
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrServerClosed
	}
	r.listeners[ln] = struct{}{}
	r.mu.Unlock()

	var (
		httpLn  *chanListener
		httpSrv *http.Server
		httpWG  sync.WaitGroup
	)
	if serveHTTP {
		httpLn = newChanListener(ln.Addr())
		// Request headers and idle keep-alives are bounded; the edge guard
		// closes a connection that neither upgrades nor asks for a served
		// HTTP resource by the handshake deadline. No ReadTimeout or
		// WriteTimeout: they would cut uploads and downloads of HTTP mounts.
		// net/http's own errors (TLS handshakes, malformed requests) go
		// through the router's logger, not the standard log package.
		httpSrv = &http.Server{Handler: httpHandler, ConnContext: connContext,
			ReadHeaderTimeout: r.opts.HelloTimeout,
			IdleTimeout:       r.opts.HelloTimeout,
			ErrorLog:          slog.NewLogLogger(r.log.With("transport", t.Name, "component", "http").Handler(), slog.LevelWarn)}
		httpWG.Add(1)
		go func() { defer httpWG.Done(); httpSrv.Serve(httpLn) }()
		defer func() {
			httpLn.Close()
			// Upgraded (hijacked) connections are tracked by the router;
			// this only stops plain HTTP requests in flight.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			httpSrv.Shutdown(ctx)
			cancel()
			httpWG.Wait()
		}()
	}

	var (
		delay time.Duration
		open  atomic.Int64 // this listener's open connections
	)
	for {
		nc, err := ln.Accept()
		if err != nil {
			r.mu.Lock()
			closed := r.closed
			r.mu.Unlock()
			if closed {
				r.forgetListener(ln)
				return ErrServerClosed
			}
			if !acceptRetryable(err) {
				r.forgetListener(ln)
				return err
			}
			// Out of file descriptors (or a transient failure): keep serving
			// the connections we have and retry, as net/http does.
			delay = acceptBackoff(delay)
			r.stats.acceptErrors.Add(1)
			r.warnLimited("accept failed; retrying", "transport", t.Name, "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if e := r.admitConn(nc, &t, &open); e != nil {
			asides.Go(func() { r.dispatch(e, t, rawAuth, httpLn, routes) }) // TLS and RawSocket handshakes
		}
	}
}

func (r *Router) forgetListener(ln net.Listener) {
	r.mu.Lock()
	delete(r.listeners, ln)
	r.mu.Unlock()
}

// dispatch decides what a new connection speaks: RawSocket starts with
// 0x7F, anything else is HTTP (WebSocket upgrade).
func (r *Router) dispatch(e *edgeConn, t Transport, rawAuth map[string]auth.Authenticator, httpLn *chanListener, routes *upgradeRoutes) {
	var nc net.Conn = e
	// A plain connection's RawSocket handshake is bounded by the socket
	// deadline alone (rawsocket.Accept sets it from ctx); a context with a
	// timer would cost ~8 allocations per connection for nothing. A TLS
	// handshake gets a real one.
	var ctx context.Context = deadlineCtx{e.deadline}
	if _, tc := unwrap(nc); tc != nil {
		tctx, cancel := context.WithDeadline(context.WithValue(context.Background(), edgeKey{}, e), e.deadline)
		defer cancel()
		ctx = tctx
		if err := tc.HandshakeContext(ctx); err != nil {
			r.log.Debug("TLS handshake failed", "remote", nc.RemoteAddr(), "err", err)
			r.handshakeFailed(e, nc, err)
			return
		}
	}
	raw := t.RawSocket != nil
	if raw && httpLn != nil {
		nc.SetReadDeadline(e.deadline)
		pc := &peekedConn{Conn: nc}
		_, err := io.ReadFull(nc, pc.first[:])
		nc.SetReadDeadline(time.Time{})
		if err != nil {
			r.handshakeFailed(e, nc, err)
			return
		}
		pc.unread = pc.first[:]
		raw = pc.first[0] == 0x7F
		nc = pc
	}
	if !raw {
		if routes != nil && len(routes.ws) > 0 && fastUpgradable(nc) {
			r.fastUpgrade(e, nc, routes, httpLn) // upgrade.go
		} else if !httpLn.push(nc) {
			nc.Close()
		}
		return
	}
	tc, err := rawsocket.Accept(ctx, nc, t.RawSocket.serverOptions())
	if err != nil {
		r.log.Debug("rawsocket handshake failed", "remote", nc.RemoteAddr(), "err", err)
		r.handshakeFailed(e, nc, err)
		return
	}
	// A fresh goroutine: this one's stack grew in the RawSocket (and TLS)
	// handshake, and the read loop keeps its stack for the session's life.
	go r.serveConn(context.WithValue(context.Background(), edgeKey{}, e), tc, rawAuth)
}

// httpMux routes t's HTTP requests by path: WebSocket upgrades (the key ""
// accepts any path) and metrics scrapes; routes is the same choice for
// the upgrade fast path.
func (r *Router) httpMux(t Transport) (http.Handler, *upgradeRoutes, error) {
	handlers := map[string]http.Handler{}
	routes := &upgradeRoutes{ws: map[string]*wsEndpoint{}, other: map[string]bool{}}
	keys := make([]string, 0, len(t.WebSocket)+len(t.Metrics))
	for p, o := range t.WebSocket {
		ep, err := r.wsEndpoint(o)
		if err != nil {
			return nil, nil, fmt.Errorf("router: websocket path %q: %w", p, err)
		}
		if p != "" && !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		handlers[p] = r.wsHandler(ep)
		routes.ws[p] = ep
		keys = append(keys, p)
	}
	for _, p := range t.Metrics {
		if p == "" {
			return nil, nil, errors.New("router: empty metrics path")
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		if handlers[p] != nil {
			return nil, nil, fmt.Errorf("router: metrics path %q is already served", p)
		}
		handlers[p] = claimed(r.MetricsHandler())
		keys = append(keys, p)
	}
	if len(t.Metrics) > 0 {
		// Health and status live beside the metrics (health.go), unless a
		// path of their own name is configured.
		for p, h := range r.healthHandlers() {
			if handlers[p] == nil {
				handlers[p] = h
			}
		}
	}
	mounts := make([]string, 0, len(t.HTTP))
	for p := range t.HTTP {
		if !strings.HasPrefix(p, "/") {
			return nil, nil, fmt.Errorf("router: HTTP mount path %q must start with /", p)
		}
		mounts = append(mounts, p)
		keys = append(keys, p)
	}
	// Longest first, so the first mount that matches is the most specific.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	for p := range handlers {
		if routes.ws[p] == nil {
			routes.other[p] = true
		}
	}
	routes.mounts = mounts
	if h, ok := handlers[""]; ok && len(handlers) == 1 && len(mounts) == 0 {
		return h, routes, nil
	}
	sort.Strings(keys)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if h, ok := handlers[req.URL.Path]; ok {
			h.ServeHTTP(w, req)
			return
		}
		for _, m := range mounts {
			if mounted(req.URL.Path, m) {
				claimEdge(req.Context()) // a real HTTP client: the guard is for WAMP
				t.HTTP[m].ServeHTTP(w, req)
				return
			}
		}
		if h, ok := handlers[""]; ok {
			h.ServeHTTP(w, req)
			return
		}
		http.Error(w, "nothing served at "+req.URL.Path+" (try "+strings.Join(keys, ", ")+")", http.StatusNotFound)
	}), routes, nil
}

// claimed serves h on connections that asked for it (the edge guard stops).
func claimed(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		claimEdge(req.Context())
		h.ServeHTTP(w, req)
	})
}

// mounted reports whether path is mount or below it ("/static" holds
// "/static" and "/static/x", not "/staticx"; "/" holds every path).
func mounted(path, mount string) bool {
	if mount == "/" {
		return true
	}
	return path == mount || strings.HasPrefix(path, mount) && path[len(mount)] == '/'
}

// peekedConn is a net.Conn whose first bytes were read to tell RawSocket
// from HTTP (one byte, kept in first: a bufio.Reader here would stay with
// every RawSocket connection, 4 KiB each, and copy every read), or an
// HTTP request head the upgrade fast path gave to net/http. Only its
// single reader calls Read.
type peekedConn struct {
	net.Conn
	first  [1]byte
	unread []byte // read off Conn, not yet by our reader
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.unread) > 0 && len(p) > 0 {
		n := copy(p, c.unread)
		c.unread = c.unread[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// NetConn exposes the wrapped connection (the RawSocket transport finds
// the TLS state through it).
func (c *peekedConn) NetConn() net.Conn { return c.Conn }

// SyscallConn exposes the socket once the peeked bytes were read (until
// then reads must go through Read).
func (c *peekedConn) SyscallConn() (syscall.RawConn, error) {
	if len(c.unread) > 0 {
		return nil, errNoSocket
	}
	return syscallConn(c.Conn)
}

// deadlineCtx is a context with a deadline and nothing else: never done,
// so I/O bounded by it relies on the socket deadline it names.
type deadlineCtx struct{ dl time.Time }

func (c deadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }
func (deadlineCtx) Done() <-chan struct{}         { return nil }
func (deadlineCtx) Err() error                    { return nil }
func (deadlineCtx) Value(any) any                 { return nil }

// tlsStateKey carries the TLS state of a connection that http.Server only
// sees wrapped (so it cannot fill in Request.TLS itself).
type tlsStateKey struct{}

func connContext(ctx context.Context, c net.Conn) context.Context {
	e, tc := unwrap(c)
	if e != nil {
		ctx = context.WithValue(ctx, edgeKey{}, e)
	}
	if _, plain := c.(*tls.Conn); tc != nil && !plain {
		st := tc.ConnectionState()
		ctx = context.WithValue(ctx, tlsStateKey{}, &st)
	}
	return ctx
}

// chanListener hands connections accepted elsewhere to an http.Server.
type chanListener struct {
	addr net.Addr
	ch   chan net.Conn
	once sync.Once
	done chan struct{}
}

func newChanListener(addr net.Addr) *chanListener {
	return &chanListener{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *chanListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return l.addr }

func (o *RawSocketOptions) serverOptions() rawsocket.ServerOptions {
	return rawsocket.ServerOptions{Serializers: o.Serializers, MaxMessageSize: o.MaxMessageSize, PreJoinMaxMessageSize: o.PreJoinMaxMessageSize}
}
