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
	// BackupDiffs compares each file that the 5.2 setup moved into the
	// newest INST/backup.<timestamp> with the file now in its place,
	// except config/msg.conf and config/local.conf, whose keys Files holds
	// (runbook §4). One entry per file that lost something, by Name.
	BackupDiffs []BackupDiff `json:"backup_diffs,omitempty"`
}

// BackupDiff is one file of a backup.<timestamp> that the current file
// does not carry over.
type BackupDiff struct {
	// Backup is the backup directory relative to the server root, e.g.
	// "msg-budgie/backup.20020916103000".
	Backup string `json:"backup"`
	// Name is the file relative to the backup directory and to INST, e.g.
	// "imta/config/mappings" or "html/login.html".
	Name string `json:"name"`
	// State is BackupLinesMissing, BackupFileAbsent, BackupBinaryDiffers or
	// BackupUnreadable.
	State string `json:"state"`
	// Missing are the non-blank lines of the backup copy that the current
	// file lacks, in their order, each once, secrets redacted as in Values;
	// at most MaxBackupDiffLines of them.
	Missing []string `json:"missing,omitempty"`
	// MissingTotal counts every missing line, Missing's included.
	MissingTotal int `json:"missing_total,omitempty"`
	// Error says why a file could not be compared (BackupUnreadable).
	Error string `json:"error,omitempty"`
}

// States of a BackupDiff.
const (
	BackupLinesMissing  = "lines_missing"  // text lines of the backup copy are not in the current file
	BackupFileAbsent    = "absent"         // no regular file in its place now
	BackupBinaryDiffers = "binary_differs" // a file holding NUL bytes differs
	BackupUnreadable    = "unreadable"     // either copy could not be read
)

// MaxBackupDiffLines bounds BackupDiff.Missing.
const MaxBackupDiffLines = 50

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
