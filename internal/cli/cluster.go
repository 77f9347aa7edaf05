package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/config"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// joinCluster starts the node's cluster link from the config's cluster
// key; nil (and no error) for a single node. The router stops it on
// Shutdown.
func joinCluster(c *config.Cluster, realms []router.RealmOptions, log *slog.Logger) (cluster.Cluster, error) {
	if c == nil {
		return nil, nil
	}
	clustered, names := clusteredRealms(c, realms)
	cfg := natscluster.Config{
		Node: c.NodeName, SubjectPrefix: c.SubjectPrefix, URL: c.URL,
		ClusterName: c.ClusterName, Listen: c.Listen, Advertise: c.Advertise, Routes: c.Routes,
		PingInterval: c.PingInterval, MaxPingsOut: c.MaxPingsOut, MaxPayload: int32(c.MaxPayload),
		StoreDir: c.StoreDir, MaxMemory: c.MaxMemory, RegistryReplicas: c.RegistryReplicas,
		Logger:            log,
		HeartbeatInterval: c.Heartbeat, DeadAfter: c.DeadAfter, GatherTimeout: c.GatherTimeout,
		DrainAfter: c.DrainAfter, ConfigHash: realmsHash(clustered), ConfigMismatch: c.ConfigMismatch,
		RouteTLS: tlsFiles(c.RouteTLS), ClientListen: c.ClientListen, ClientTLS: tlsFiles(c.ClientTLS),
		ClientVerify: c.ClientTLS != nil && c.ClientTLS.Verify,
		Credentials:  c.Credentials, TLS: tlsFiles(c.TLS), ClientPingInterval: c.ClientPingInterval,
	}
	if c.RouteUser != "" {
		cfg.RouteAuth = &natscluster.RouteAuth{User: c.RouteUser, Password: c.RoutePassword}
	}
	nc, err := natscluster.New(cfg)
	if err != nil {
		return nil, err
	}
	log.Info("cluster: joined", "node", c.NodeName, "realms", names, "routes", nc.RouteAddr(), "peers_configured", len(c.Routes), "external_nats", c.URL != "",
		"route_auth", c.RouteUser != "", "route_tls", c.RouteTLS != nil, "client_listen", nc.ClientAddr())
	return nc, nil
}

// realmsHash is the digest of the clustered realms' config (names,
// roles, permissions, authorizers, limits), by name, that must be equal on
// every node; the heartbeats carry it (config_mismatch). Node-local realms
// are left out: they may differ from node to node.
func realmsHash(clustered []router.RealmOptions) string {
	clustered = slices.Clone(clustered)
	slices.SortFunc(clustered, func(a, b router.RealmOptions) int { return strings.Compare(string(a.Name), string(b.Name)) })
	b, err := json.Marshal(clustered)
	if err != nil {
		return "" // not comparable: nodes differ only if they differ in this too
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func tlsFiles(t *config.ClusterTLS) *natscluster.TLSFiles {
	if t == nil {
		return nil
	}
	return &natscluster.TLSFiles{Cert: t.Cert, Key: t.Key, CA: t.CA}
}

// clusteredRealms are the realms c clusters, and their names.
func clusteredRealms(c *config.Cluster, realms []router.RealmOptions) ([]router.RealmOptions, []wamp.URI) {
	var out []router.RealmOptions
	var names []wamp.URI
	for _, r := range realms {
		if c.Clustered(r.Name) {
			out, names = append(out, r), append(names, r.Name)
		}
	}
	return out, names
}
