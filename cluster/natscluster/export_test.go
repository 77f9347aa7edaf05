package natscluster

// NodeLost runs c's OnNodeLost hooks for node, as membership will.
var NodeLost = (*Cluster).nodeLost
