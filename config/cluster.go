package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Cluster is the node's cluster membership, from the Tollgate-only
// top-level key "cluster" (docs/cluster.md). nil: a single node.
type Cluster struct {
	// NodeName is unique in the cluster ("node_name"; default the host name).
	NodeName string
	// SubjectPrefix namespaces the NATS subjects ("subject_prefix"; default "tg").
	SubjectPrefix string
	// Realms are the clustered realms ("realms": a list); nil is "all".
	// The others stay node-local.
	Realms []wamp.URI
	// URL is an external NATS ("nats.url"); "" means the embedded server
	// below.
	URL string
	// Embedded server ("nats.embedded"): cluster name, route listener,
	// the address announced to peers for it ("advertise"; "" the listen
	// address), peers' routes, route liveness and the largest message.
	ClusterName  string
	Listen       string
	Advertise    string
	Routes       []string
	PingInterval time.Duration
	MaxPingsOut  int
	MaxPayload   int

	// Membership and faults (membership): heartbeat period and the silence
	// after which a node is dead ("heartbeat.interval", "dead_after"), the
	// meta API's wait for the other nodes ("meta.gather_timeout"), how long
	// a node cut off from the majority keeps its sessions
	// ("partition.drain_after", 0: until it rejoins) and what a peer with a
	// different realm config does ("config_mismatch": strict or warn).
	Heartbeat, DeadAfter time.Duration
	GatherTimeout        time.Duration
	DrainAfter           time.Duration
	ConfigMismatch       string

	// The embedded JetStream ("nats.embedded.jetstream"): its store
	// directory ("" a temporary one) and memory bound in bytes (0 the
	// default).
	StoreDir  string
	MaxMemory int64
	// RegistryReplicas is the registry bucket's replica count
	// ("registry.replicas"; 0: 3 with at least 3 nodes, else 1).
	RegistryReplicas int

	ClusterSecurity // cluster_security.go
}

var subjectToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// Clustered reports whether realm is one of the clustered realms.
func (c *Cluster) Clustered(realm wamp.URI) bool {
	return c != nil && (c.Realms == nil || slices.Contains(c.Realms, realm))
}

func (p *parser) cluster(m *mapping, c *Config) {
	v, path := m.get("cluster")
	if v == nil {
		return
	}
	cm := p.mapping(v, path)
	if cm == nil {
		return
	}
	cl := &Cluster{SubjectPrefix: "tg"}
	if n, np := cm.get("node_name"); n != nil {
		cl.NodeName, _ = p.str(n, np)
		if cl.NodeName == "" {
			p.errorf(n, np, "must be a non-empty name")
		}
	} else if h, err := os.Hostname(); err == nil {
		cl.NodeName = h
	}
	if n, np := cm.get("subject_prefix"); n != nil {
		if s, ok := p.str(n, np); ok && !subjectToken.MatchString(s) {
			p.errorf(n, np, "must be 1 to 32 of [A-Za-z0-9_-] (one NATS subject token), got %q", s)
		} else if ok {
			cl.SubjectPrefix = s
		}
	}
	p.clusterRealms(cm, cl)
	p.clusterMembership(cm, cl)
	if r, rp := cm.get("registry"); r != nil {
		p.clusterRegistry(r, rp, cl)
	}
	if n, np := cm.need("nats"); n != nil {
		p.clusterNATS(n, np, cl)
	}
	cm.done()
	c.Cluster = cl
}

func (p *parser) clusterNATS(n *yaml.Node, path string, cl *Cluster) {
	nm := p.mapping(n, path)
	if nm == nil {
		return
	}
	u, up := nm.get("url")
	e, ep := nm.get("embedded")
	switch {
	case u != nil && e != nil:
		p.errorf(e, ep, "give either nats.url (an external NATS) or nats.embedded, not both")
	case u != nil:
		if s, ok := p.str(u, up); ok {
			for _, one := range strings.Split(s, ",") {
				if x, err := url.Parse(strings.TrimSpace(one)); err != nil || x.Scheme != "nats" && x.Scheme != "tls" || x.Host == "" {
					p.errorf(u, up, "must be nats://host:port (comma-separated for several), got %q", one)
				}
			}
			cl.URL = s
		}
		p.clusterExternal(nm, cl)
	case e != nil:
		for _, k := range []string{"credentials", "tls", "ping_interval"} {
			if v, vp := nm.get(k); v != nil {
				p.errorf(v, vp, "only for an external NATS (nats.url); the embedded server's routes take nats.embedded.auth, .tls and .ping_interval")
			}
		}
		p.clusterEmbedded(e, ep, cl)
	default:
		p.errorf(nm.n, path, "missing nats.embedded or nats.url")
	}
	nm.done()
}

func (p *parser) clusterEmbedded(n *yaml.Node, path string, cl *Cluster) {
	em := p.mapping(n, path)
	if em == nil {
		return
	}
	if v, vp := em.get("jetstream"); v != nil {
		p.clusterJetStream(v, vp, cl)
	}
	cl.ClusterName = "tollgate"
	if v, vp := em.get("cluster_name"); v != nil {
		if s, ok := p.str(v, vp); ok && s != "" {
			cl.ClusterName = s
		} else if ok {
			p.errorf(v, vp, "must be a non-empty name")
		}
	}
	if v, vp := em.get("listen"); v != nil {
		if s, ok := p.str(v, vp); ok {
			p.hostPort(v, vp, s)
			cl.Listen = s
		}
	}
	if v, vp := em.get("advertise"); v != nil {
		if s, ok := p.str(v, vp); ok {
			host, port, err := net.SplitHostPort(s)
			switch {
			case err != nil || host == "" || !validPort(port) || port == "0":
				p.errorf(v, vp, "must be host:port the peers can dial (port 1 to 65535), got %q", s)
			case cl.Listen == "":
				p.errorf(v, vp, "needs nats.embedded.listen: advertise announces the route listener's address")
			default:
				cl.Advertise = s
			}
		}
	}
	if v, vp := em.get("routes"); v != nil {
		items, _ := p.seq(v, vp)
		for i, it := range items {
			ip := index(vp, i)
			s, ok := p.str(it, ip)
			if !ok {
				continue
			}
			if x, err := url.Parse(s); err != nil || x.Scheme != "nats-route" && x.Scheme != "nats" || x.Host == "" {
				p.errorf(it, ip, "must be nats-route://host:port, got %q", s)
				continue
			}
			cl.Routes = append(cl.Routes, s)
		}
		if len(cl.Routes) > 0 && cl.Listen == "" {
			p.errorf(v, vp, "routes need nats.embedded.listen (the route listener the peers connect to)")
		}
	}
	if v, vp := em.get("ping_interval"); v != nil {
		cl.PingInterval, _ = p.duration(v, vp, time.Millisecond, "milliseconds")
	}
	if v, vp := em.get("max_pings_out"); v != nil {
		cl.MaxPingsOut, _ = p.integer(v, vp, 1, 100)
	}
	if v, vp := em.get("max_payload"); v != nil {
		cl.MaxPayload, _ = p.integer(v, vp, 1024, 64<<20)
	}
	p.clusterRouteSecurity(em, cl)
	em.done()
}

// clusterRealms reads "realms": all (the default) or a list of this
// config's realms (checked once every realm is known).
func (p *parser) clusterRealms(cm *mapping, cl *Cluster) {
	v, vp := cm.get("realms")
	if v == nil {
		return
	}
	if r := p.resolve(v); r != nil && r.Kind == yaml.ScalarNode {
		if s, ok := p.str(v, vp); ok && s != "all" {
			p.errorf(v, vp, "must be all or a list of realm names, got %q", s)
		}
		return
	}
	items, ok := p.seq(v, vp)
	if !ok {
		return
	}
	if len(items) == 0 {
		p.errorf(v, vp, "must list at least one realm, or be all (without clustered realms, leave out the cluster key)")
		return
	}
	cl.Realms = []wamp.URI{}
	for i, it := range items {
		ip := index(vp, i)
		s, ok := p.str(it, ip)
		switch {
		case !ok:
		case s == "":
			p.errorf(it, ip, "empty realm name")
		case slices.Contains(cl.Realms, wamp.URI(s)):
			p.errorf(it, ip, "realm %q is listed twice", s)
		default:
			cl.Realms = append(cl.Realms, wamp.URI(s))
			p.pendingRealms = append(p.pendingRealms, roleRef{s, it, ip})
		}
	}
}

// ---- membership and faults ----

func (p *parser) clusterMembership(cm *mapping, cl *Cluster) {
	cl.Heartbeat, cl.DeadAfter, cl.GatherTimeout, cl.DrainAfter = 250*time.Millisecond, 1500*time.Millisecond, time.Second, 10*time.Second
	cl.ConfigMismatch = "strict"
	sub := func(key string, f func(m *mapping)) {
		if v, vp := cm.get(key); v != nil {
			if m := p.mapping(v, vp); m != nil {
				f(m)
				m.done()
			}
		}
	}
	dur := func(m *mapping, key string, dst *time.Duration, zero bool) {
		v, vp := m.get(key)
		if v == nil {
			return
		}
		if r := p.resolve(v); zero && r != nil && r.Kind == yaml.ScalarNode && (r.Value == "0" || r.Value == "0s") {
			*dst = 0 // never
			return
		}
		if d, ok := p.duration(v, vp, time.Millisecond, "milliseconds"); ok {
			*dst = d
		}
	}
	sub("heartbeat", func(m *mapping) {
		dur(m, "interval", &cl.Heartbeat, false)
		dur(m, "dead_after", &cl.DeadAfter, false)
		if cl.DeadAfter < 2*cl.Heartbeat {
			n, np := m.get("dead_after")
			if n == nil {
				n, np = m.n, join(m.path, "dead_after")
			}
			p.errorf(n, np, "must be at least twice heartbeat.interval (%v), got %v: one late heartbeat would declare a node dead", cl.Heartbeat, cl.DeadAfter)
		}
	})
	sub("meta", func(m *mapping) { dur(m, "gather_timeout", &cl.GatherTimeout, false) })
	sub("partition", func(m *mapping) { dur(m, "drain_after", &cl.DrainAfter, true) })
	if v, vp := cm.get("config_mismatch"); v != nil {
		if s, ok := p.str(v, vp); ok && s != "strict" && s != "warn" {
			p.errorf(v, vp, "must be strict or warn, got %q", s)
		} else if ok {
			cl.ConfigMismatch = s
		}
	}
}

// clusterRegistry reads "registry" (cluster_rpc in docs/cluster.md).
func (p *parser) clusterRegistry(n *yaml.Node, path string, cl *Cluster) {
	rm := p.mapping(n, path)
	if rm == nil {
		return
	}
	if v, vp := rm.get("replicas"); v != nil {
		cl.RegistryReplicas, _ = p.integer(v, vp, 1, 5)
	}
	rm.done()
}

// clusterJetStream reads "nats.embedded.jetstream": the registry is a
// memory bucket, but JetStream needs a store directory.
func (p *parser) clusterJetStream(n *yaml.Node, path string, cl *Cluster) {
	jm := p.mapping(n, path)
	if jm == nil {
		return
	}
	if v, vp := jm.get("store_dir"); v != nil {
		if s, ok := p.str(v, vp); ok && s == "" {
			p.errorf(v, vp, "must be a directory (leave the key out for a temporary one)")
		} else {
			cl.StoreDir = s
		}
	}
	if v, vp := jm.get("max_memory"); v != nil {
		m, _ := p.integer(v, vp, 1<<20, 1<<40)
		cl.MaxMemory = int64(m)
	}
	jm.done()
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 0 && n <= math.MaxUint16
}

// summary is the cluster's part of Config.Summary ("" for a single node).
func (c *Cluster) summary() string {
	if c == nil {
		return ""
	}
	only := ""
	if c.Realms != nil {
		names := make([]string, len(c.Realms))
		for i, r := range c.Realms {
			names[i] = string(r)
		}
		only = " for " + strings.Join(names, ", ") + " (other realms node-local)"
	}
	if c.URL != "" {
		return fmt.Sprintf(", cluster node %s over NATS %s%s", c.NodeName, c.URL, only)
	}
	return fmt.Sprintf(", cluster node %s (embedded NATS, routes on %s to %s%s)%s", c.NodeName, c.Listen, plural(len(c.Routes), "peer"), c.ClusterSecurity.summary(), only)
}
