package directory

// Helpers for tests outside this package that run their own real 389
// Directory Server in container mode (one instance per machine: take
// simtest.Lock389 first).

// DS389MailRecipientSchema is a schema LDIF (for the instance's schema
// directory) that adds inetLocalMailRecipient, which 389's own schema
// lacks.
const DS389MailRecipientSchema = ds389MailRecipientSchema

// DS389ContainerMode prepares /data for dscreate's container mode and
// removes the pid file and LDAPI socket a dead instance left in /data/run;
// it fails when another 389 instance is alive.
func DS389ContainerMode() error { return containerMode() }

// DS389ClearContainerRun removes the pid file and LDAPI socket that a
// stopped 389 instance (or dscreate) leaves in /data/run; it fails while
// an instance is alive.
func DS389ClearContainerRun() error { return clearStaleContainerRun() }

// DS389Dirs are the directories and files dscreate and ns-slapd make for
// the instance slapd-name, to remove when it is torn down.
func DS389Dirs(name string) []string { return ds389Dirs(name) }

// DS389ConfigDir is /etc/dirsrv/slapd-name, the instance's configuration
// (dse.ldif, schema/, and the NSS database that holds its certificates).
func DS389ConfigDir(name string) string { return ds389ConfigDir(name) }

// DS389PidFile is the pid file to give ns-slapd -i for slapd-name.
func DS389PidFile(name string) string { return ds389PidFile(name) }
