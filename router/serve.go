package router

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
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
// upgrades with o. The handler blocks for the life of the connection. It
// fails if o's serializers or auth methods are invalid.
func (r *Router) WebSocketHandler(o WebSocketOptions) (http.Handler, error) {
	so := websocket.ServerOptions{
		Serializers:    o.Serializers,
		MaxMessageSize: o.MaxMessageSize,
		AllowedOrigins: o.AllowedOrigins,
		PingInterval:   o.PingInterval,
	}
	if err := so.Validate(); err != nil {
		return nil, err
	}
	authenticators, err := r.authenticators(o.Auth)
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.TLS == nil {
			req.TLS, _ = req.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
		}
		tc, err := websocket.Accept(w, req, so)
		if err != nil {
			r.log.Debug("websocket upgrade refused", "remote", req.RemoteAddr, "err", err)
			return
		}
		r.serveConn(req.Context(), tc, authenticators)
	}), nil
}

// authenticators builds an endpoint's auth methods, calling dynamic
// authenticators through the router itself. nil means anonymous only.
func (r *Router) authenticators(ms []auth.MethodConfig) (map[string]auth.Authenticator, error) {
	if len(ms) == 0 {
		return nil, nil
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
		if err := (rawsocket.ServerOptions{Serializers: t.RawSocket.Serializers, MaxMessageSize: t.RawSocket.MaxMessageSize}).Validate(); err != nil {
			return err
		}
		var err error
		if rawAuth, err = r.authenticators(t.RawSocket.Auth); err != nil {
			return err
		}
	}
	var httpHandler http.Handler
	if serveHTTP {
		var err error
		if httpHandler, err = r.httpMux(t); err != nil {
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
		httpSrv = &http.Server{Handler: httpHandler, ReadHeaderTimeout: r.opts.HelloTimeout, ConnContext: connContext,
			// net/http's own errors (TLS handshakes, malformed requests) go
			// through the router's logger, not the standard log package.
			ErrorLog: slog.NewLogLogger(r.log.With("transport", t.Name, "component", "http").Handler(), slog.LevelWarn)}
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

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			r.mu.Lock()
			closed := r.closed
			delete(r.listeners, ln)
			r.mu.Unlock()
			if closed {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				r.countAcceptError()
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				r.log.Warn("accept error; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				r.mu.Lock()
				r.listeners[ln] = struct{}{}
				r.mu.Unlock()
				continue
			}
			return err
		}
		delay = 0
		go r.dispatch(nc, t, rawAuth, httpLn)
	}
}

// dispatch decides what a new connection speaks: RawSocket starts with
// 0x7F, anything else is HTTP (WebSocket upgrade).
func (r *Router) dispatch(nc net.Conn, t Transport, rawAuth map[string]auth.Authenticator, httpLn *chanListener) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.HelloTimeout)
	defer cancel()
	if tc, ok := nc.(*tls.Conn); ok {
		if err := tc.HandshakeContext(ctx); err != nil {
			r.log.Debug("TLS handshake failed", "remote", nc.RemoteAddr(), "err", err)
			nc.Close()
			return
		}
	}
	raw := t.RawSocket != nil
	if raw && httpLn != nil {
		nc.SetReadDeadline(time.Now().Add(r.opts.HelloTimeout))
		br := bufio.NewReaderSize(nc, 4096)
		first, err := br.Peek(1)
		nc.SetReadDeadline(time.Time{})
		if err != nil {
			nc.Close()
			return
		}
		raw = first[0] == 0x7F
		nc = &peekedConn{Conn: nc, r: br}
	}
	if !raw {
		if !httpLn.push(nc) {
			nc.Close()
		}
		return
	}
	tc, err := rawsocket.Accept(ctx, nc, rawsocket.ServerOptions{
		Serializers:    t.RawSocket.Serializers,
		MaxMessageSize: t.RawSocket.MaxMessageSize,
	})
	if err != nil {
		r.log.Debug("rawsocket handshake failed", "remote", nc.RemoteAddr(), "err", err)
		nc.Close()
		return
	}
	r.serveConn(context.Background(), tc, rawAuth)
}

// httpMux routes t's HTTP requests by path: WebSocket upgrades (the key ""
// accepts any path) and metrics scrapes.
func (r *Router) httpMux(t Transport) (http.Handler, error) {
	handlers := map[string]http.Handler{}
	keys := make([]string, 0, len(t.WebSocket)+len(t.Metrics))
	for p, o := range t.WebSocket {
		h, err := r.WebSocketHandler(o)
		if err != nil {
			return nil, fmt.Errorf("router: websocket path %q: %w", p, err)
		}
		if p != "" && !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		handlers[p] = h
		keys = append(keys, p)
	}
	for _, p := range t.Metrics {
		if p == "" {
			return nil, errors.New("router: empty metrics path")
		}
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		if handlers[p] != nil {
			return nil, fmt.Errorf("router: metrics path %q is already served", p)
		}
		handlers[p] = r.MetricsHandler()
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
			return nil, fmt.Errorf("router: HTTP mount path %q must start with /", p)
		}
		mounts = append(mounts, p)
		keys = append(keys, p)
	}
	// Longest first, so the first mount that matches is the most specific.
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	if h, ok := handlers[""]; ok && len(handlers) == 1 && len(mounts) == 0 {
		return h, nil
	}
	sort.Strings(keys)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if h, ok := handlers[req.URL.Path]; ok {
			h.ServeHTTP(w, req)
			return
		}
		for _, m := range mounts {
			if mounted(req.URL.Path, m) {
				t.HTTP[m].ServeHTTP(w, req)
				return
			}
		}
		if h, ok := handlers[""]; ok {
			h.ServeHTTP(w, req)
			return
		}
		http.Error(w, "nothing served at "+req.URL.Path+" (try "+strings.Join(keys, ", ")+")", http.StatusNotFound)
	}), nil
}

// mounted reports whether path is mount or below it ("/static" holds
// "/static" and "/static/x", not "/staticx"; "/" holds every path).
func mounted(path, mount string) bool {
	if mount == "/" {
		return true
	}
	return path == mount || strings.HasPrefix(path, mount) && path[len(mount)] == '/'
}

// peekedConn is a net.Conn whose first bytes were read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// NetConn exposes the wrapped connection (the RawSocket transport finds
// the TLS state through it).
func (c *peekedConn) NetConn() net.Conn { return c.Conn }

// tlsStateKey carries the TLS state of a connection that http.Server only
// sees wrapped (so it cannot fill in Request.TLS itself).
type tlsStateKey struct{}

func connContext(ctx context.Context, c net.Conn) context.Context {
	if pc, ok := c.(*peekedConn); ok {
		if tc, ok := pc.Conn.(*tls.Conn); ok {
			st := tc.ConnectionState()
			return context.WithValue(ctx, tlsStateKey{}, &st)
		}
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
