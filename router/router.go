package router

import (
	"context"
	"errors"
	"net"
	"net/http"
)

// ErrServerClosed is returned by the Serve methods after Shutdown.
var ErrServerClosed = errors.New("router: server closed")

// Router is a WAMP router. (Implementation in progress.)
type Router struct{ opts Options }

// New validates opts and returns a router ready to serve.
func New(opts Options) (*Router, error) { return &Router{opts: opts}, nil }

// ServeTransport accepts connections on ln and serves t until ln fails or
// Shutdown is called (then it returns ErrServerClosed).
func (r *Router) ServeTransport(ln net.Listener, t Transport) error { return errors.New("TODO") }

// Serve serves WebSocket (any path) and RawSocket on ln with defaults.
func (r *Router) Serve(ln net.Listener) error { return r.ServeTransport(ln, DefaultTransport()) }

// Handler returns an http.Handler accepting WAMP WebSocket upgrades with default options.
func (r *Router) Handler() http.Handler { return r.WebSocketHandler(WebSocketOptions{}) }

// WebSocketHandler returns an http.Handler accepting WAMP WebSocket upgrades.
func (r *Router) WebSocketHandler(o WebSocketOptions) http.Handler { return nil }

// Shutdown says GOODBYE wamp.close.system_shutdown to every session and closes.
func (r *Router) Shutdown(ctx context.Context) error { return nil }

// DefaultTransport is WebSocket on any path plus RawSocket, all serializers.
func DefaultTransport() Transport {
	return Transport{Name: "default", WebSocket: map[string]WebSocketOptions{"": {}}, RawSocket: &RawSocketOptions{}}
}
