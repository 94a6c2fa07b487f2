# Health after the upgrade (runbook §5); also what scheduled audits run.
package msguard.postflight.health

import data.msguard.lib

# METADATA
# title: Messaging Server is not 5.2
# description: After setup -k every source must report Messaging Server 5.2.
# custom:
#   key: postflight.msg.version
#   needs: [versions]
deny_msg_version contains f if {
	v := input.snapshot.versions.messaging.version
	v != data.versions.messaging.target
	f := lib.finding("postflight.msg.version", sprintf("Messaging Server is %q (%s)", [v, lib.sources_text("messaging")]), {
		"actual": v, "expected": data.versions.messaging.target,
	})
}

# METADATA
# title: Messaging Server sources disagree
# description: Every source must report the same version after the upgrade (a greeting from an old binary still running, say).
# custom:
#   key: postflight.msg.version
#   needs: [versions]
deny_msg_version_disagree contains f if {
	input.snapshot.versions.messaging.version == data.versions.messaging.target
	not input.snapshot.versions.messaging.agreed
	f := lib.finding("postflight.msg.version", sprintf("sources disagree: %s", [lib.sources_text("messaging")]), {
		"expected": sprintf("%s everywhere", [data.versions.messaging.target]),
	})
}

# METADATA
# title: Directory Server older than 4.16
# description: Messaging Server 5.2 needs the Directory Server it ships with, 4.16, or newer.
# custom:
#   key: postflight.ds.version
#   needs: [versions]
deny_ds_version contains f if {
	v := input.snapshot.versions.directory.version
	not ds_ok(v)
	f := lib.finding("postflight.ds.version", sprintf("Directory Server is %q (%s)", [v, lib.sources_text("directory")]), {
		"actual": v, "expected": sprintf(">= %s", [data.versions.directory.minimum]),
	})
}

ds_ok(v) if {
	lib.known("directory", v)
	not lib.older("directory", v, data.versions.directory.minimum)
}

running := {p.daemon | some p in lib.arr(input.snapshot.processes.daemons)}

missing_daemons := [d | some d in data.postflight.daemons; not d in running]

# METADATA
# title: Messaging Server processes are not running
# description: post.start runs start-msg; every daemon of the install must then run.
# custom:
#   key: postflight.msg.not_running
#   needs: [processes]
deny_msg_not_running contains f if {
	count(missing_daemons) > 0
	f := lib.finding("postflight.msg.not_running", sprintf("not running: %s", [concat(", ", missing_daemons)]), {
		"actual": concat(", ", sort([d | some d in running])), "expected": concat(", ", data.postflight.daemons),
		"remediation": [lib.cmd(sprintf("%s/start-msg", [lib.inst]))],
	})
}

# METADATA
# title: Message store not restored
# description: post.store remounts the store or moves the saved one back; an empty or missing partition means it was not.
# custom:
#   key: postflight.store.not_restored
#   needs: [install, store]
deny_store_not_restored contains f if {
	not store_ok
	f := lib.finding("postflight.store.not_restored", sprintf("%s: %s", [input.snapshot.install.store_path, store_problem]), {
		"actual": store_problem, "expected": "the pre-upgrade mailboxes",
		"remediation": [lib.hint(sprintf("mount the store on %s again, or move the saved partition back", [input.snapshot.install.store_path]))],
	})
}

store_ok if {
	input.snapshot.install.store_exists
	input.snapshot.store.mailboxes > 0
}

store_problem := "missing" if not input.snapshot.install.store_exists

else := sprintf("%d mailboxes", [input.snapshot.store.mailboxes])

# METADATA
# title: ims_dssetup.pl effects missing
# description: ims_dssetup.pl adds the messaging schema (inetMailUser) and the o=pab entry; without them MTA direct LDAP lookup fails.
# custom:
#   key: postflight.ldap.dssetup_missing
#   needs: [ldap]
deny_dssetup_missing contains f if {
	count(dssetup_missing) > 0
	f := lib.finding("postflight.ldap.dssetup_missing", sprintf("missing in %s: %s", [input.snapshot.ldap.url, concat(", ", dssetup_missing)]), {
		"actual": concat(", ", dssetup_missing), "expected": "schema inetMailUser and o=pab",
		"remediation": [lib.hint("run ims_dssetup.pl from the 5.2 media against the user/group directory")],
	})
}

dssetup_missing contains "directory unreachable" if not input.snapshot.ldap.bound

dssetup_missing contains "schema inetMailUser" if {
	input.snapshot.ldap.bound
	not input.snapshot.ldap.schema_inetmailuser
}

dssetup_missing contains "o=pab" if {
	input.snapshot.ldap.bound
	not input.snapshot.ldap.pab_exists
}

# METADATA
# title: Errors in the MTA log since the restart
# description: post.maillog reads mail.log_current after the restart; J, R, B records and Error diagnostics are failures.
# custom:
#   key: postflight.maillog.errors
#   needs: [maillog]
deny_maillog_errors contains f if {
	input.snapshot.maillog.error_count > 0
	first := lib.arr(input.snapshot.maillog.errors)
	f := lib.finding("postflight.maillog.errors", sprintf("%d error records in %s%s", [input.snapshot.maillog.error_count, input.snapshot.maillog.path, first_error(first)]), {
		"actual": sprintf("%d", [input.snapshot.maillog.error_count]), "expected": "0",
		"remediation": [lib.cmd(sprintf("grep -nE ' (J|R|B) |Error:' %s", [input.snapshot.maillog.path]))],
	})
}

first_error(errs) := sprintf(", first at line %d: %s %s", [errs[0].line, errs[0].code, errs[0].diagnostic]) if count(errs) > 0

else := ""

# METADATA
# title: Messages stuck in the queue
# description: post.queue watches the queue after the restart; messages older than the threshold are not moving. Held (.HELD) messages wait for the operator, not the MTA, and are not judged here.
# custom:
#   key: postflight.queue.stuck
#   needs: [queue]
warn_queue_stuck contains f if {
	oldest := lib.queue_oldest_active
	oldest != null
	age_min := (time.parse_rfc3339_ns(input.params.now) - time.parse_rfc3339_ns(oldest)) / 60000000000
	age_min > data.thresholds.queue_stuck_minutes
	t := input.snapshot.queue.total
	f := lib.finding("postflight.queue.stuck", sprintf("%d messages queued (%d held), the oldest not held from %s (%d minutes old)", [t.messages, t.held, oldest, floor(age_min)]), {
		"actual": sprintf("%d minutes", [floor(age_min)]), "expected": sprintf("<= %d minutes", [data.thresholds.queue_stuck_minutes]),
		"remediation": [lib.cmd(sprintf("%s/imsimta qm directory", [lib.inst]))],
	})
}

# METADATA
# title: Web Server is not 6.0 SP2
# description: Messaging Server 5.2 supports iPlanet Web Server 6.0 SP2 (post.webserver).
# custom:
#   key: postflight.webserver.version
#   needs: [versions]
warn_webserver_version contains f if {
	ws := input.snapshot.versions.webserver
	ws.installed
	ws.version != data.versions.webserver.target
	f := lib.finding("postflight.webserver.version", sprintf("Web Server is %s", [ws.version]), {"actual": ws.version, "expected": data.versions.webserver.target})
}

# METADATA
# title: Delegated Administrator is not 1.2
# description: post.da uninstalls the old Delegated Administrator and installs 1.2.
# custom:
#   key: postflight.da.version
#   needs: [versions]
warn_da_version contains f if {
	da := input.snapshot.versions.delegated_admin
	da.installed
	da.version != data.versions.delegated_admin.target
	f := lib.finding("postflight.da.version", sprintf("Delegated Administrator is %s", [da.version]), {"actual": da.version, "expected": data.versions.delegated_admin.target})
}
