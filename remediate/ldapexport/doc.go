// Package ldapexport is msguard's LDAP client for the upgrade: Conn
// (URL, bind, ldaps:// or StartTLS with the operator's CA, TLS 1.2 at
// least, never a plaintext fallback) and Export, the ldapsearch-equivalent
// export of a subtree to an LDIF file, streamed (responses decoded in
// place, nothing allocated per entry) and cross-checked against a count of
// the same search (Count). It knows nothing of the runbook.
package ldapexport
