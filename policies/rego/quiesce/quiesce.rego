# Gate before the first backup step: everything but the directory is stopped.
package msguard.quiesce.processes

import data.msguard.lib

intake := lib.daemons_named({"dispatcher", "tcp_smtp_server"})

msgd := lib.daemons_named({"stored", "imapd", "popd", "mshttpd", "job_controller", "enpd"})

admin := [p | some p in lib.arr(input.snapshot.processes.daemons); p.role == "admin-server"]

web := [p | some p in lib.arr(input.snapshot.processes.daemons); startswith(p.role, "webserver:")]

# METADATA
# title: Mail intake is still running
# description: Runbook §1 stops the dispatcher first so no new mail arrives during the backup.
# custom:
#   key: quiesce.dispatcher.running
#   needs: [processes]
deny_dispatcher_running contains f if {
	count(intake) > 0
	f := lib.finding("quiesce.dispatcher.running", sprintf("running: %s", [lib.pids_text(intake)]), {
		"actual": lib.pids_text(intake), "expected": "no dispatcher or tcp_smtp_server",
		"remediation": [lib.cmd(sprintf("%s/imsimta stop dispatcher", [lib.inst]))],
	})
}

# METADATA
# title: Messaging Server processes are still running
# description: Runbook §1 stops the Messaging Server (stop-msg) before the backup and setup -k.
# custom:
#   key: quiesce.msg.running
#   needs: [processes]
deny_msg_running contains f if {
	count(msgd) > 0
	f := lib.finding("quiesce.msg.running", sprintf("running: %s", [lib.pids_text(msgd)]), {
		"actual": lib.pids_text(msgd), "expected": "none of stored, imapd, popd, mshttpd, job_controller, enpd",
		"remediation": [lib.cmd(sprintf("%s/stop-msg", [lib.inst]))],
	})
}

# METADATA
# title: Administration Server is still running
# description: Runbook §1 stops the Administration Server (stop-admin).
# custom:
#   key: quiesce.admin.running
#   needs: [processes]
deny_admin_running contains f if {
	count(admin) > 0
	f := lib.finding("quiesce.admin.running", sprintf("running: %s", [lib.pids_text(admin)]), {
		"actual": lib.pids_text(admin), "expected": "stopped",
		"remediation": [lib.cmd(sprintf("%s/stop-admin", [lib.root]))],
	})
}

# METADATA
# title: A Web Server instance is still running
# description: Runbook §1 stops the Web Server admin instance and every machine instance.
# custom:
#   key: quiesce.webserver.running
#   needs: [processes]
deny_webserver_running contains f if {
	count(web) > 0
	f := lib.finding("quiesce.webserver.running", sprintf("running: %s", [concat(", ", [sprintf("%s pid %d", [p.role, p.pid]) | some p in web])]), {
		"actual": lib.pids_text(web), "expected": "stopped",
		"remediation": [lib.cmd(sprintf("%s/%s/stop", [lib.wsroot, trim_prefix(p.role, "webserver:")])) | some p in web],
	})
}

# METADATA
# title: Directory Server is not up
# description: The directory must stay up during the whole upgrade (runbook §1).
# custom:
#   key: quiesce.ds.unreachable
#   needs: [ldap]
deny_ds_unreachable contains f if {
	not ldap_ok
	f := lib.finding("quiesce.ds.unreachable", sprintf("directory %s: %s", [input.snapshot.ldap.url, input.snapshot.ldap.error]), {
		"expected": "reachable and bound",
		"remediation": [lib.hint("start it again with slapd-<id>/start-slapd; never stop the directory during the upgrade")],
	})
}

ldap_ok if {
	input.snapshot.ldap.reachable
	input.snapshot.ldap.bound
}
