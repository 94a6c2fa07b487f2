# Comparison of the host with its accepted baseline snapshot.
package msguard.audit.baseline

import data.msguard.lib

base := input.params.baseline

# METADATA
# title: Mail recipients differ from the baseline
# description: The upgrade must keep every inetLocalMailRecipient of the user/group suffix.
# custom:
#   key: audit.baseline.users
#   needs: [ldap, baseline]
deny_users contains f if {
	input.snapshot.ldap.bound
	not users_same
	f := lib.finding("audit.baseline.users", sprintf("%d mail recipients now, %d in the baseline of %s%s", [input.snapshot.ldap.mail_recipients, base.ldap.mail_recipients, object.get(base, "collected_at", "unknown date"), digest_note(input.snapshot.ldap.recipients_digest, base.ldap.recipients_digest)]), {
		"actual": sprintf("%d", [input.snapshot.ldap.mail_recipients]), "expected": sprintf("%d", [base.ldap.mail_recipients]),
		"remediation": [lib.hint("compare with the backup.ldapsearch export (<date>.ug.ldif) and restore missing entries")],
	})
}

users_same if {
	input.snapshot.ldap.mail_recipients == base.ldap.mail_recipients
	input.snapshot.ldap.recipients_digest == base.ldap.recipients_digest
}

# METADATA
# title: Directory not readable for the baseline comparison
# description: The recipient comparison needs a bound directory; unknown never passes.
# custom:
#   key: audit.baseline.users
#   needs: [ldap, baseline]
deny_users_unknown contains f if {
	not input.snapshot.ldap.bound
	f := lib.finding("audit.baseline.users", sprintf("cannot compare recipients: directory %s: %s", [input.snapshot.ldap.url, input.snapshot.ldap.error]), {})
}

# METADATA
# title: Mailboxes differ from the baseline
# description: The upgrade must keep every mailbox of the store (=<uid> directories).
# custom:
#   key: audit.baseline.mailboxes
#   needs: [store, baseline]
deny_mailboxes contains f if {
	not mailboxes_same
	f := lib.finding("audit.baseline.mailboxes", sprintf("%d mailboxes now, %d in the baseline%s", [input.snapshot.store.mailboxes, base.store.mailboxes, missing_users]), {
		"actual": sprintf("%d", [input.snapshot.store.mailboxes]), "expected": sprintf("%d", [base.store.mailboxes]),
		"remediation": [lib.hint("restore the missing mailboxes from the store backup (backup.store)")],
	})
}

mailboxes_same if {
	input.snapshot.store.mailboxes == base.store.mailboxes
	input.snapshot.store.users_digest == base.store.users_digest
}

missing_users := sprintf(": missing %s", [concat(", ", gone)]) if {
	gone := [u | some u in lib.arr(base.store.users); not u in {x | some x in lib.arr(input.snapshot.store.users)}]
	count(gone) > 0
} else := ""

digest_note(a, b) := "" if a == b

else := " (the set of recipients changed)"
