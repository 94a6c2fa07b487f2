// Package directory is the Directory Server of msguard-sim (see package
// sim): every ROOT/slapd-<id> instance is served by a real LDAP server,
// OpenLDAP's slapd (backend "openldap") or 389 Directory Server (backend
// "389"), run under a supervisor that is ROOT/bin/slapd/server/ns-slapd,
// so the process belongs to the simulated install.
//
// It registers the "directory" create step (instance trees, seeded data),
// the ns-slapd program, the ctl verbs start-slapd, stop-slapd and db2ldif,
// and a teardown; ApplyDSSetup is what ims_dssetup.pl does to a directory.
package directory
