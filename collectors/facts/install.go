package facts

// Install describes the server root as found on disk.
type Install struct {
	// Valid is true when the root has admin-serv/, setup/install.inf and at
	// least one msg-* instance; Problems says what is missing otherwise.
	Valid    bool     `json:"valid"`
	Problems []string `json:"problems,omitempty"`

	MsgInstances   []string `json:"msg_instances"`   // "msg-budgie", ...
	SlapdInstances []string `json:"slapd_instances"` // "slapd-budgie", ...
	HTTPSInstances []string `json:"https_instances"` // "https-admserv", "https-mail.siroe.com", ...

	// InstallInf is setup/install.inf, section → key → value, with every
	// password value removed (the key is kept, its value is "<redacted>").
	InstallInf map[string]map[string]string `json:"install_inf"`
	// FullMachineName is install.inf [General] FullMachineName; ThisHost
	// is the collecting host's names, for the same-machine check.
	FullMachineName string   `json:"full_machine_name"`
	ThisHost        []string `json:"this_host"`
	SameMachine     bool     `json:"same_machine"`

	StorePath string `json:"store_path"` // INST/store/partition/primary
	// StoreExists is false when the primary partition directory is missing.
	StoreExists bool   `json:"store_exists"`
	QueuePath   string `json:"queue_path"`
	// Backups lists INST/backup.<timestamp> directories left by a 5.2 setup.
	Backups []string `json:"backups,omitempty"`
}
