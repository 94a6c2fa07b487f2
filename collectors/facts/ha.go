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
	AgentPackage bool   `json:"agent_package,omitempty"`
	Raw          string `json:"raw,omitempty"`
}
