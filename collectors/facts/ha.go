package facts

// HA describes the cluster software managing the install, if any.
type HA struct {
	// Kind is "none", "sc22" (Sun Cluster 2.2), "vcs" (Veritas) or "sc3".
	Kind string `json:"kind"`
	// Tools lists the cluster CLIs found on PATH.
	Tools []string `json:"tools,omitempty"`
	// Services maps a Messaging service or group to its state as the CLI
	// reports it ("on", "off", "ONLINE", "OFFLINE", ...). For VCS and SC 3.x,
	// "<group>@<node>" holds each node's state and "<group>" is online when
	// any node has it online.
	Services map[string]string `json:"services,omitempty"`
	// Dependencies lists "parent -> child" resource links (VCS).
	Dependencies []string `json:"dependencies,omitempty"`
	// AgentPackage is true when SUNWscims is installed (SC 3.x).
	AgentPackage bool `json:"agent_package,omitempty"`

	// Master is the physical host that masters the Sun Cluster 2.2
	// logical host ims-lh (`haget -f master -h ims-lh`); "" when unknown.
	Master string `json:"master,omitempty"`
	// IsMaster is true when this host masters ims-lh (`haget -f mastered`
	// lists it). False when it does not or when that is unknown: then
	// MasterError says why.
	IsMaster bool `json:"is_master,omitempty"`
	// MasterError is why the master could not be determined (a haget
	// command failed); "" when both haget commands succeeded.
	MasterError string `json:"master_error,omitempty"`

	// Nodes are the Sun Cluster 3.x nodes (`scstat -n`), none dropped.
	Nodes []HANode `json:"nodes,omitempty"`
	// NodesError is why the nodes could not be listed (scstat -n failed).
	NodesError string `json:"nodes_error,omitempty"`

	Raw string `json:"raw,omitempty"`
}

// HANode is one Sun Cluster 3.x node and its SUNWscims agent package.
type HANode struct {
	Name string `json:"name"`
	// Status is the node's status in `scstat -n` ("Online", "Offline").
	Status string `json:"status"`
	// Local is true for this host (its package is read with pkginfo, the
	// others' over ssh).
	Local bool `json:"local,omitempty"`
	// Reachable is true when the node is Online and its package could be
	// read (ssh answered); an unreachable node says why in Error.
	Reachable bool `json:"reachable"`
	// AgentVersion is the SUNWscims VERSION (`pkginfo -l SUNWscims`);
	// "" when the package is not installed or the node was not reached.
	AgentVersion string `json:"agent_version,omitempty"`
	// Error is why the node was not reached or its package not read.
	Error string `json:"error,omitempty"`
}
