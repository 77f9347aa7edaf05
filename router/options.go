package router

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
	"github.com/tollgate-wamp/tollgate/authz"
	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Options configures a Router. The zero value of every field means the
// documented default; New copies the struct and never modifies the caller's.
type Options struct {
	// Realms the router serves. A HELLO for any other realm is refused with
	// ABORT wamp.error.no_such_realm. At least one realm is required.
	Realms []RealmOptions

	// Logger receives the router's logs. nil discards them.
	Logger *slog.Logger

	// HelloTimeout bounds the time from accept() to WELCOME (transport and
	// TLS handshakes, authentication): a connection that has no WAMP
	// session by then is closed whatever it sends. It also bounds request
	// headers and idle keep-alives on the HTTP side. Default 10s.
	HelloTimeout time.Duration
	// GoodbyeTimeout bounds the wait for the peer's GOODBYE reply (and the
	// drain of its queue) when the router closes a session. Default 5s.
	GoodbyeTimeout time.Duration
	// GoodbyeReason is the reason of the router's GOODBYE answering a
	// client's: GoodbyeCrossbar (wamp.close.normal, the default, what
	// Crossbar and Autobahn reply) or GoodbyeSpec
	// (wamp.close.goodbye_and_out). docs/protocol.md says why.
	GoodbyeReason wamp.URI
	// IdleParkAfter is how long an established session's read loop waits
	// for its peer's next message before the connection is parked: its
	// goroutine returns and the socket waits in a router-wide epoll set
	// until it is readable (plain TCP and Unix sockets on Linux; TLS keeps
	// its goroutine). Parked after between this and twice this. Default
	// 2s; negative never parks.
	IdleParkAfter time.Duration

	// MaxQueueBytes bounds each session's outbound queue in bytes.
	// Default 4 MiB.
	MaxQueueBytes int
	// MaxQueueMessages bounds each session's outbound queue in messages.
	// Default 65536.
	MaxQueueMessages int
	// SlowConsumer is what happens when a session's outbound queue is full.
	// Default SlowConsumerDisconnect.
	SlowConsumer SlowConsumerPolicy

	// MaxConnectionsPerIP bounds the open connections from one source IP
	// address, over all listeners; the next is closed at accept (counted).
	// Default 0: unlimited.
	MaxConnectionsPerIP int
	// MaxConnectionsPerListener is Transport.MaxConnections for listeners
	// that set none. Default 0: unlimited.
	MaxConnectionsPerListener int

	// HelloRatePerIP and HelloRatePerAuthID are token buckets every HELLO
	// passes before an authenticator runs (per source IP; per realm and
	// authid on transports with authentication). Defaults 50/s burst 100
	// and 20/s burst 50; a negative PerSecond disables one. Refused:
	// ABORT tollgate.error.login_throttled.
	HelloRatePerIP, HelloRatePerAuthID Rate
	// MaxPendingLogins bounds authenticator calls in progress (password
	// hashes, dynamic authenticators); the next login is refused at once
	// with ABORT tollgate.error.login_throttled instead of queueing.
	// Default 64; negative: unlimited.
	MaxPendingLogins int
	// AuditLog receives the audit records of realms with Audit set
	// (router/audit.go, docs/operations.md). nil: no audit trail.
	AuditLog *slog.Logger
	// AuthHeaders is WebSocketOptions.AuthHeaders for endpoints that set
	// none (nil). Default nil: no headers. New refuses an invalid name.
	AuthHeaders []string
	// Cluster links this router to the other nodes of a cluster (package
	// cluster; cluster/natscluster over NATS). nil is a single node. New
	// starts it and Shutdown stops it.
	Cluster cluster.Cluster
	// ClusterRealms are the realms Cluster serves; nil: all. The others
	// stay node-local: no cluster traffic, exactly a single node's
	// semantics. Reload refuses a change (restart the node).
	ClusterRealms []wamp.URI
}

// The GOODBYE reply reasons Options.GoodbyeReason may name.
const (
	GoodbyeCrossbar = wamp.CloseNormal
	GoodbyeSpec     = wamp.CloseGoodbyeAndOut
)

// SlowConsumerPolicy says what to do with a session whose outbound queue is
// full. Both policies are counted in Stats and logged (rate-limited).
type SlowConsumerPolicy int

const (
	// SlowConsumerDisconnect closes the session (the default): nothing is
	// ever dropped silently.
	SlowConsumerDisconnect SlowConsumerPolicy = iota
	// SlowConsumerDropEvents drops EVENTs for that session (counted) but
	// still disconnects when a RESULT, ERROR or INVOCATION does not fit.
	SlowConsumerDropEvents
)

// RealmOptions configures one realm.
type RealmOptions struct {
	// Name is the realm URI clients put in HELLO.
	Name wamp.URI
	// URICheck is "strict" (default: components of [0-9a-z_]) or "loose"
	// (no '.', '#' or whitespace in components).
	URICheck string
	// Audit writes this realm's joins and authorization failures to
	// Options.AuditLog.
	Audit bool
	// Roles defines the realm's roles: static permissions or a dynamic
	// authorizer each (see package authz). nil makes an open realm: any
	// role may join and every action is allowed (the development default
	// and routertest's realm). A non-nil list, even empty, enforces
	// authorization: undefined roles cannot join (except "trusted").
	Roles []authz.RoleConfig
	// AuthzCacheSize bounds the dynamic-authorizer decision cache in
	// entries. Default 100000; negative disables caching.
	AuthzCacheSize int
	// AuthzCacheTTL bounds cached decisions that carry no ttl of their own.
	// Default 0: until the session leaves (or a flush).
	AuthzCacheTTL time.Duration
	// CredentialRefresh is called as refresh(session, authid) before a
	// session's credentials expire (a dynamic authenticator's expires_in
	// or expires_at) and answers a new expiry; "" closes such sessions at
	// expiry (docs/dynamic-auth.md, "Credential lifetime").
	CredentialRefresh wamp.URI
	// RetainedEvents bounds event retention: PUBLISH with retain: true
	// keeps the event as its topic's retained event, at most this many
	// topics per realm (the least recently retained topic is evicted
	// first). Default 10000; negative disables retention (retain is then
	// ignored, as the spec allows).
	RetainedEvents int
	// MaxCallsPerCaller bounds the calls a session has in flight as
	// caller; a CALL over it gets ERROR tollgate.error.too_many_calls.
	// MaxCallsPerCallee bounds the invocations in flight to one callee; a
	// CALL routed to a callee at its bound gets ERROR
	// tollgate.error.callee_busy. Defaults 1000; negative: unbounded.
	MaxCallsPerCaller, MaxCallsPerCallee int
	// MaxSubscriptionsPerSession and MaxRegistrationsPerSession bound what
	// one session holds; SUBSCRIBE or REGISTER over it gets ERROR
	// tollgate.error.too_many_subscriptions / too_many_registrations.
	// Defaults 10000 and 1000; negative: unbounded.
	MaxSubscriptionsPerSession, MaxRegistrationsPerSession int
	// StoredEventBytes bounds one retained or history event (its payload
	// and options as stored): a larger one is delivered but not stored
	// (the topic's older retained event is dropped: no longer the latest).
	// Default 1 MiB. RetainedBytes bounds all retained events of the realm,
	// least recently retained evicted first; default 64 MiB. HistoryBytes
	// bounds each EventHistory entry, oldest evicted first; default 16 MiB.
	// Negative: unbounded. Evictions and refusals are counted in Stats.
	StoredEventBytes, RetainedBytes, HistoryBytes int
	// EventHistory lists the topics whose recent events are kept in memory
	// for wamp.subscription.get_events. Each (URI, Match) appears once.
	EventHistory []HistoryConfig
	// MaxSessions bounds the realm's established sessions; the next HELLO
	// gets ABORT tollgate.error.realm_full. Default 0: unlimited.
	MaxSessions int
	// MessageRates limit each session's requests (default: none);
	// RoleMessageRates replace them for the roles they name.
	MessageRates     MessageRates
	RoleMessageRates map[string]MessageRates
}

// HistoryConfig keeps the last Limit events published to the topics that
// URI matches under Match (Crossbar's realm store "event-history" entry).
type HistoryConfig struct {
	URI   wamp.URI
	Match string // "exact" (default), "prefix" or "wildcard"
	Limit int    // events kept; default 100 (Crossbar's), negative is an error
}

// Transport is what one listener serves.
type Transport struct {
	// Name identifies the transport in logs (the config's transport id or
	// its index).
	Name string
	// WebSocket endpoints by HTTP path. The key "" accepts the upgrade on
	// any path (Crossbar's plain websocket transport).
	WebSocket map[string]WebSocketOptions
	// RawSocket, if non-nil, accepts RawSocket connections. With WebSocket
	// endpoints too, the first byte decides (0x7F is RawSocket).
	RawSocket *RawSocketOptions
	// Metrics lists HTTP paths (e.g. "/metrics") serving MetricsHandler,
	// the router's metrics in the Prometheus text format, on this
	// transport's HTTP side. A path must not also be a WebSocket key; the
	// WebSocket key "" still accepts every other path.
	Metrics []string
	// HTTP are other HTTP services (static files, redirects) by mount
	// path: "/static" serves /static and every path below it, "/" every
	// path no other key serves. Exact WebSocket and metrics paths win; the
	// longest mount path matching on a '/' boundary serves the rest.
	HTTP map[string]http.Handler
	// MaxConnections bounds this listener's open connections; the next is
	// closed at accept (counted). Default 0: unlimited.
	MaxConnections int
}

// WebSocketOptions configures a WebSocket endpoint.
type WebSocketOptions struct {
	// Serializers allowed, by name ("json", "msgpack", "cbor"); empty means all.
	Serializers []string
	// MaxMessageSize bounds a received message in bytes. Default 16 MiB.
	MaxMessageSize int
	// AllowedOrigins are host patterns (path.Match syntax, e.g.
	// "*.example.com") accepted in the Origin header. Empty allows any
	// origin (Crossbar's default); same-host is always allowed.
	AllowedOrigins []string
	// PingInterval sends WebSocket pings this often; 0 disables them.
	PingInterval time.Duration
	// PreJoinMaxMessageSize bounds a received message until the session
	// is joined (HELLO, AUTHENTICATE). Default 0:
	// transport.DefaultPreJoinMaxMessageSize (64 KiB), capped at
	// MaxMessageSize.
	PreJoinMaxMessageSize int
	// Auth lists the authentication methods this endpoint accepts (static
	// or dynamic; dynamic ones call through the router). Empty admits
	// anonymous sessions only, with role "anonymous".
	Auth []auth.MethodConfig
	// AuthHeaders names the upgrade request headers dynamic authenticators
	// and authorizers receive as transport.http_headers_received
	// (case-insensitive; "*" for all but Cookie, Authorization and
	// Proxy-Authorization, which pass only when named). nil:
	// Options.AuthHeaders; empty: none.
	AuthHeaders []string
}

// RawSocketOptions configures a RawSocket listener.
type RawSocketOptions struct {
	// Serializers allowed, by name; empty means all.
	Serializers []string
	// MaxMessageSize bounds a received message in bytes, rounded down to a
	// power of two between 512 B and 16 MiB for the handshake. Default 16 MiB.
	MaxMessageSize int
	// PreJoinMaxMessageSize bounds a received message until the session
	// is joined (HELLO, AUTHENTICATE). Default 0:
	// transport.DefaultPreJoinMaxMessageSize (64 KiB), capped at
	// MaxMessageSize.
	PreJoinMaxMessageSize int
	// Auth lists the authentication methods this endpoint accepts (static
	// or dynamic; dynamic ones call through the router). Empty admits
	// anonymous sessions only, with role "anonymous".
	Auth []auth.MethodConfig
}
