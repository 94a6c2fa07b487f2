package facts

import "time"

// Processes lists the install's running daemons, matched by executable path.
type Processes struct {
	Daemons []Process `json:"daemons"`
	// Unattributed counts processes whose executable could not be read
	// (not root): they may belong to the install, so quiescence is unknown
	// when this is non-zero and a daemon name matches.
	Unreadable []Process `json:"unreadable,omitempty"`
}

// Process is one running process that belongs to the install.
type Process struct {
	PID  int32  `json:"pid"`
	PPID int32  `json:"ppid"`
	User string `json:"user"`
	Exe  string `json:"exe"`
	// Daemon is the executable's base name: stored, imapd, dispatcher, ns-slapd, ns-httpd, ...
	Daemon string `json:"daemon"`
	// Role refines the daemon: "admin-server" or "webserver:<instance>" for
	// ns-httpd, "slapd:<id>" for ns-slapd, "msg:<instance>" for messaging daemons.
	Role      string    `json:"role"`
	Started   time.Time `json:"started"`
	Listening []int     `json:"listening,omitempty"`
	// Cmdline has secrets redacted.
	Cmdline string `json:"cmdline"`
}
