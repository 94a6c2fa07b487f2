package facts

// Configs holds the parsed configuration files, secrets redacted.
type Configs struct {
	Files []ConfigFile `json:"files"`
	// IMTAChannels are the channel names defined in imta.cnf.
	IMTAChannels []string `json:"imta_channels,omitempty"`
	// Ports gathers the ports the configs name: "smtp" (dispatcher.cnf),
	// "imap", "pop", "http" (msg.conf), "admin" (adm.conf), "ldap"
	// (install.inf [slapd] ServerPort), and each Web Server instance by
	// its directory name ("https-admserv": magnus.conf Port).
	Ports map[string]int `json:"ports,omitempty"`
}

// ConfigFile is one file's keys. Secret values are "<redacted>".
type ConfigFile struct {
	// Name is the path relative to the server root, e.g. "msg-budgie/config/msg.conf".
	Name   string            `json:"name"`
	SHA256 string            `json:"sha256"`
	Values map[string]string `json:"values,omitempty"`
	Error  string            `json:"error,omitempty"`
}

// Redacted replaces a secret value everywhere msguard writes facts.
const Redacted = "<redacted>"
