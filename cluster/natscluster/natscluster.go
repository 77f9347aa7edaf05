// Package natscluster carries the router's cluster traffic over NATS: an
// embedded nats-server per node with routes to its peers (the default),
// or an external NATS. It is the only package that imports NATS.
//
// One connection per node and one channel drained by one goroutine carry
// every subscription, so one publisher's events reach a node in the order
// they were published (nats.go callbacks would run one goroutine per
// subscription and reorder across topics).
package natscluster

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Config configures one node.
type Config struct {
	// Node is this node's name, unique in the cluster. Required.
	Node string
	// SubjectPrefix namespaces the subjects (several clusters may share one
	// NATS). Default "tg".
	SubjectPrefix string
	// URL points at an external NATS (comma-separated servers); when set,
	// no server is embedded and the fields below are unused.
	URL string
	// ClusterName must be the same on every node. Default "tollgate".
	ClusterName string
	// Listen is the embedded server's route listener, host:port (port 0
	// picks one). "" runs a cluster of one.
	Listen string
	// Routes are the peers' route URLs (nats-route://host:port).
	Routes []string
	// Advertise is the route address the peers are told to gossip (host:port;
	// default the listen address): behind NAT or a proxy.
	Advertise string
	// PingInterval and MaxPingsOut tune route liveness; defaults 500ms and
	// 2 (NATS's 2 min would notice a silent peer only after minutes).
	PingInterval time.Duration
	MaxPingsOut  int
	// MaxPayload bounds one message; default 8 MiB.
	MaxPayload int32
	// StoreDir is the embedded JetStream's store (it keeps the registry
	// in memory but needs a directory); "" is a temporary directory
	// removed on Stop. MaxMemory bounds its memory storage; default 256 MiB.
	StoreDir  string
	MaxMemory int64
	// RegistryReplicas is the registry bucket's replica count; 0 is 3
	// when at least 3 servers are in view at its creation, else 1.
	RegistryReplicas int
	// RegistryTimeout bounds one REGISTER or UNREGISTER in the registry;
	// default 5s.
	RegistryTimeout time.Duration
	// WatchCheck is how often the node checks that its registry watch
	// is not behind the stream (watchhealth.go); default 1s.
	WatchCheck time.Duration
	// ProbeInterval is how often a node with calls pending at another
	// node checks that node's inbox still has responders; default 250ms.
	ProbeInterval time.Duration
	// RouteAuth and RouteTLS (mutual, verified against RouteTLS.CA)
	// secure the embedded server's routes; ClientListen opens its client
	// port (for the nats CLI; "" keeps it closed), with TLS when
	// ClientTLS is set (ClientVerify: client certificates signed by
	// ClientTLS.CA required). security.go.
	RouteAuth    *RouteAuth
	RouteTLS     *TLSFiles
	ClientListen string
	ClientTLS    *TLSFiles
	ClientVerify bool
	// An external NATS's credentials file, TLS (CA, optional client
	// certificate) and client ping interval (0: nats.go's 2 min).
	Credentials        string
	TLS                *TLSFiles
	ClientPingInterval time.Duration
	// Logger receives the cluster's logs; nil discards them.
	Logger *slog.Logger

	// Membership (membership.go): the heartbeat period (default 250ms),
	// the silence after which a peer is dead (default 1.5s), the meta
	// gather bound (default 1s), how long a node cut off from the majority
	// keeps its sessions (0: until it rejoins), the hash of the config
	// that must be equal on every node, and what a different one does
	// ("strict", the default: the peer is not a member; "warn": logged).
	HeartbeatInterval time.Duration
	DeadAfter         time.Duration
	GatherTimeout     time.Duration
	DrainAfter        time.Duration
	ConfigHash        string
	ConfigMismatch    string
}

// Stats are a node's cluster counters.
type Stats struct {
	Published  uint64 // publications sent to NATS
	Received   uint64 // publication messages taken from NATS
	Duplicates uint64 // dropped: sequence at or below the last seen from its origin
	Gaps       uint64 // sequence numbers skipped (see docs/cluster.md)
	Unmatched  uint64 // delivered to no local subscriber (prefix supersets)
	Invalid    uint64 // undecodable messages
	Dropped    uint64 // lost in the NATS client: the dispatch channel was full (live subscriptions)
	// WatchRenewals counts registry watches renewed because they were
	// behind the stream (watchhealth.go).
	WatchRenewals uint64
}

// Cluster is one node's link to the others. It implements cluster.Cluster.
type Cluster struct {
	cfg      Config
	log      *slog.Logger
	sj       cluster.Subjects
	origin   uint64
	srv      *server.Server // nil with an external NATS
	nc       *nats.Conn
	ch       chan *nats.Msg
	done     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once

	pubMu sync.Mutex // orders sequence numbers as they go on the wire
	seq   uint64
	buf   []byte
	enc   cluster.Encoder

	mu   sync.Mutex // interest; a leaf (LOCKING.md)
	subs map[string]*interest

	last map[uint64]uint64 // per-origin last sequence; the dispatcher's only

	subjects subjectCache // subjects.go

	// RPC (registry.go, rpc.go)
	reg                   *registry
	calls                 calls
	rpcInbox, rpcAnswers  string
	rpcReplies, rpcProbes string
	peerSubjects          sync.Map // node → *nodeSubjects
	seen                  sync.Map // nodes an RPC message came from
	rpcSubs               []*nats.Subscription
	ctx                   context.Context // Start to Stop
	cancel                context.CancelFunc
	tmpDir                string

	lostMu sync.Mutex // a leaf
	lost   []func(node string, inc uint64)
	mb     membership // membership.go
	stats  struct {
		published, received, duplicates, gaps, unmatched, invalid, watchRenewals atomic.Uint64
	}
}

type interest struct {
	sub  *nats.Subscription
	refs int
}

var _ cluster.Cluster = (*Cluster)(nil)

// New starts the embedded server (unless cfg.URL is set) and connects.
func New(cfg Config) (*Cluster, error) {
	if cfg.Node == "" {
		return nil, errors.New("natscluster: node name required")
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "tg"
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "tollgate"
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 500 * time.Millisecond
	}
	if cfg.MaxPingsOut <= 0 {
		cfg.MaxPingsOut = 2
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 8 << 20
	}
	if err := cfg.membershipDefaults(); err != nil {
		return nil, err
	}
	if cfg.MaxMemory <= 0 {
		cfg.MaxMemory = 256 << 20
	}
	if cfg.RegistryTimeout <= 0 {
		cfg.RegistryTimeout = 5 * time.Second
	}
	if cfg.WatchCheck <= 0 {
		cfg.WatchCheck = time.Second
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 250 * time.Millisecond
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Cluster{
		cfg: cfg, log: log.With("node", cfg.Node), sj: cluster.Subjects{Prefix: cfg.SubjectPrefix},
		origin: rand.Uint64() | 1, subs: map[string]*interest{}, last: map[uint64]uint64{},
		ch: make(chan *nats.Msg, 1<<16), done: make(chan struct{}),
		calls: calls{pending: map[uint64]pendingAt{}, perNode: map[string]int{}},
	}
	c.reg = newRegistry(c)
	opts := []nats.Option{nats.Name(cfg.Node), nats.NoEcho(), nats.MaxReconnects(-1),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.log.Warn("cluster: nats error", "err", err) // slow consumer: counted in Stats().Dropped
		})}
	url := cfg.URL
	if url == "" {
		token := crand.Text()
		if cfg.StoreDir == "" {
			dir, err := os.MkdirTemp("", "tollgate-nats-")
			if err != nil {
				return nil, fmt.Errorf("natscluster: jetstream store: %w", err)
			}
			c.tmpDir, cfg.StoreDir = dir, dir
		}
		srv, err := embedded(cfg, token)
		if err != nil {
			c.removeTmp()
			return nil, err
		}
		c.srv = srv
		opts = append(opts, nats.InProcessServer(srv), nats.UserInfo(internalUser, token))
	} else {
		ext, err := externalOptions(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ext...)
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		c.shutdownServer()
		return nil, fmt.Errorf("natscluster: connect: %w%s", err, externalHint(cfg))
	}
	c.nc = nc
	return c, nil
}

func embedded(cfg Config, token string) (*server.Server, error) {
	o := &server.Options{
		ServerName: cfg.Node, DontListen: true, NoLog: true, NoSigs: true,
		MaxPayload: cfg.MaxPayload,
		// A clustered JetStream needs configured routes: a node without
		// any (the first of a mesh that gossip completes) has no registry.
		JetStream: cfg.jetStream(), StoreDir: cfg.StoreDir, JetStreamMaxMemory: cfg.MaxMemory,
	}
	if err := clientListener(o, cfg, token); err != nil {
		return nil, err
	}
	if cfg.Listen != "" {
		host, p, err := hostPort(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("natscluster: listen %q: %w", cfg.Listen, err)
		}
		o.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: host, Port: p, Advertise: cfg.Advertise,
			PingInterval: cfg.PingInterval, MaxPingsOut: cfg.MaxPingsOut}
		for _, r := range cfg.Routes {
			u := server.RoutesFromStr(r)
			if len(u) == 0 {
				return nil, fmt.Errorf("natscluster: bad route %q", r)
			}
			o.Routes = append(o.Routes, u...)
		}
		if err := routeSecurity(o, cfg); err != nil {
			return nil, err
		}
	} else if len(cfg.Routes) > 0 {
		return nil, errors.New("natscluster: routes need a listen address")
	}
	srv, err := server.NewServer(o)
	if err != nil {
		return nil, fmt.Errorf("natscluster: embedded server: %w", err)
	}
	if cfg.Logger != nil {
		srv.SetLogger(serverLog{cfg.Logger.With("node", cfg.Node)}, false, false)
	}
	for _, a := range []string{cfg.Listen, cfg.ClientListen} {
		if err := addrFree(a); err != nil {
			return nil, fmt.Errorf("natscluster: listen %s: %w", a, err)
		}
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return nil, errors.New("natscluster: embedded server not ready after 10s (a listen address in use? the log says why)")
	}
	return srv, nil
}

// jetStream reports whether an embedded server runs JetStream: a clustered
// JetStream needs configured routes.
func (cfg Config) jetStream() bool { return cfg.URL != "" || cfg.Listen == "" || len(cfg.Routes) > 0 }

// jetStream reports whether the registry can exist (with an external NATS:
// if that NATS runs JetStream).
func (c *Cluster) jetStream() bool { return c.cfg.jetStream() }

// Node implements cluster.Cluster.
func (c *Cluster) Node() string { return c.cfg.Node }

// RouteAddr is the embedded server's route listener ("" if none): with
// port 0 in Listen, the port it picked.
func (c *Cluster) RouteAddr() string {
	if c.srv == nil {
		return ""
	}
	if a := c.srv.ClusterAddr(); a != nil {
		return a.String()
	}
	return ""
}

// Peers is the number of other servers the embedded server has routes to.
func (c *Cluster) Peers() int {
	if c.srv == nil {
		return 0
	}
	return c.srv.NumRemotes()
}

// InterestCount is what the embedded server knows of interest in a
// publication to topic in realm: each local NATS subscription counts, and
// each other node with any matching subscription counts once. -1 with an
// external NATS, which cannot be asked.
func (c *Cluster) InterestCount(realm, topic wamp.URI) int {
	if c.srv == nil {
		return -1
	}
	return c.srv.GlobalAccount().Interest(c.eventSubject(realm, topic))
}

// Stats returns the node's counters.
func (c *Cluster) Stats() Stats {
	s := &c.stats
	st := Stats{Published: s.published.Load(), Received: s.received.Load(), Duplicates: s.duplicates.Load(), Gaps: s.gaps.Load(),
		Unmatched: s.unmatched.Load(), Invalid: s.invalid.Load(), WatchRenewals: s.watchRenewals.Load()}
	c.mu.Lock()
	for _, in := range c.subs {
		if n, err := in.sub.Dropped(); err == nil {
			st.Dropped += uint64(n)
		}
	}
	for _, sub := range c.rpcSubs {
		if n, err := sub.Dropped(); err == nil {
			st.Dropped += uint64(n)
		}
	}
	c.mu.Unlock()
	return st
}

// Start implements cluster.Cluster.
func (c *Cluster) Start(r cluster.Receiver) error {
	ctx, cancel := context.WithCancel(context.Background())
	c.ctx, c.cancel = ctx, cancel
	if err := c.startRPC(ctx, r); err != nil {
		return err
	}
	c.wg.Add(2)
	go c.dispatch(r)
	go c.watchHealth(ctx) // watchhealth.go
	return c.startMembership(r)
}

// Publish implements cluster.Cluster. nats.go buffers the message; it
// does not wait for the network.
func (c *Cluster) Publish(p *cluster.Publication) error {
	subject := c.eventSubject(p.Realm, p.Topic)
	c.pubMu.Lock()
	defer c.pubMu.Unlock()
	c.seq++
	b, err := c.enc.Append(c.buf[:0], cluster.Header{Origin: c.origin, Seq: c.seq}, p)
	if err != nil {
		c.seq--
		return err
	}
	c.buf = b[:0]
	if err := c.nc.Publish(subject, b); err != nil {
		return fmt.Errorf("natscluster: publish: %w", err)
	}
	c.stats.published.Add(1)
	return nil
}
