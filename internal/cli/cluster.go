package cli

import (
	"log/slog"

	"github.com/tollgate-wamp/tollgate/cluster"
	"github.com/tollgate-wamp/tollgate/cluster/natscluster"
	"github.com/tollgate-wamp/tollgate/config"
)

// joinCluster starts the node's cluster link from the config's cluster
// key; nil (and no error) for a single node. The router stops it on
// Shutdown.
func joinCluster(c *config.Cluster, log *slog.Logger) (cluster.Cluster, error) {
	if c == nil {
		return nil, nil
	}
	nc, err := natscluster.New(natscluster.Config{
		Node: c.NodeName, SubjectPrefix: c.SubjectPrefix, URL: c.URL,
		ClusterName: c.ClusterName, Listen: c.Listen, Routes: c.Routes,
		PingInterval: c.PingInterval, MaxPingsOut: c.MaxPingsOut, MaxPayload: int32(c.MaxPayload),
		StoreDir: c.StoreDir, MaxMemory: c.MaxMemory, RegistryReplicas: c.RegistryReplicas,
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	log.Info("cluster: joined", "node", c.NodeName, "routes", nc.RouteAddr(), "peers_configured", len(c.Routes), "external_nats", c.URL != "")
	return nc, nil
}
