package msguard.audit_test

import data.msguard.audit.baseline
import data.msguard.fixtures

inp(now) := {"snapshot": object.union(fixtures.ready_51, now), "params": object.union(fixtures.params, {"phase": "audit", "baseline": fixtures.ready_51})}

test_same_as_baseline if {
	count(baseline.deny_users) == 0 with input as inp({})
	count(baseline.deny_mailboxes) == 0 with input as inp({})
	count(baseline.deny_users_unknown) == 0 with input as inp({})
}

test_user_deleted if {
	some f in baseline.deny_users with input as inp({"ldap": object.union(fixtures.ready_51.ldap, {"mail_recipients": 49, "recipients_digest": "d2"})})
	contains(f.msg, "49 mail recipients now, 50 in the baseline")
}

test_same_count_other_users if {
	count(baseline.deny_users) == 1 with input as inp({"ldap": object.union(fixtures.ready_51.ldap, {"recipients_digest": "other"})})
}

test_mailbox_removed if {
	some f in baseline.deny_mailboxes with input as inp({"store": {"mailboxes": 49, "users": [], "users_digest": "x"}})
	contains(f.msg, "missing user0001")
}

test_directory_down_is_not_a_pass if {
	count(baseline.deny_users_unknown) == 1 with input as inp({"ldap": {"bound": false, "url": "ldap://x", "error": "refused"}})
}
