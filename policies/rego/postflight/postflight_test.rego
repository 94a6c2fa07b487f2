package msguard.postflight_test

import data.msguard.fixtures
import data.msguard.postflight.config
import data.msguard.postflight.health

all_daemons := [{"pid": i, "daemon": d, "role": "msg:budgie"} |
	some i, d in ["job_controller", "dispatcher", "tcp_smtp_server", "stored", "imapd", "popd", "mshttpd", "enpd"]
]

upgraded := object.union(fixtures.ready_51, {
	"versions": object.union(fixtures.ready_51.versions, {"messaging": {"installed": true, "version": "5.2", "agreed": true, "sources": [{"source": "imsimta version", "version": "5.2"}]}}),
	"processes": {"daemons": all_daemons},
})

inp(patch) := {"snapshot": object.union(upgraded, patch), "params": object.union(fixtures.params, {"phase": "postflight"})}

test_healthy_upgraded_host if {
	i := inp({})
	count(health.deny_msg_version) == 0 with input as i
	count(health.deny_msg_version_disagree) == 0 with input as i
	count(health.deny_ds_version) == 0 with input as i
	count(health.deny_msg_not_running) == 0 with input as i
	count(health.deny_store_not_restored) == 0 with input as i
	count(health.deny_dssetup_missing) == 0 with input as i
	count(health.deny_maillog_errors) == 0 with input as i
	count(health.warn_queue_stuck) == 0 with input as i
	count(health.warn_webserver_version) == 0 with input as i
	count(health.warn_da_version) == 0 with input as i
	count(config.warn_customizations) == 0 with input as i
}

test_still_51 if {
	count(health.deny_msg_version) == 1 with input as {"snapshot": fixtures.ready_51, "params": fixtures.params}
}

test_sources_disagree if {
	v := object.union(upgraded.versions, {"messaging": {"installed": true, "version": "5.2", "agreed": false, "sources": [{"source": "imsimta version", "version": "5.2"}, {"source": "imap greeting", "version": "5.1"}]}})
	some f in health.deny_msg_version_disagree with input as inp({"versions": v})
	contains(f.msg, "5.1 (imap greeting)")
}

test_ds_413 if {
	v := object.union(upgraded.versions, {"directory": {"installed": true, "version": "4.13", "sources": []}})
	count(health.deny_ds_version) == 1 with input as inp({"versions": v})
	v2 := object.union(upgraded.versions, {"directory": {"installed": true, "version": "", "sources": []}})
	count(health.deny_ds_version) == 1 with input as inp({"versions": v2})
}

test_imapd_stopped if {
	some f in health.deny_msg_not_running with input as inp({"processes": {"daemons": [p | some p in all_daemons; p.daemon != "imapd"]}})
	f.msg == "not running: imapd"
}

test_store_not_restored if {
	count(health.deny_store_not_restored) == 1 with input as inp({"store": {"mailboxes": 0}})
	count(health.deny_store_not_restored) == 1 with input as inp({"install": object.union(upgraded.install, {"store_exists": false})})
}

test_dssetup_missing if {
	some f in health.deny_dssetup_missing with input as inp({"ldap": object.union(upgraded.ldap, {"pab_exists": false, "schema_inetmailuser": false})})
	contains(f.msg, "o=pab")
	contains(f.msg, "schema inetMailUser")
}

test_maillog_errors if {
	some f in health.deny_maillog_errors with input as inp({"maillog": object.union(upgraded.maillog, {"error_count": 2, "errors": [{"line": 7, "code": "J", "diagnostic": "550 rejected"}]})})
	contains(f.msg, "first at line 7: J 550 rejected")
}

test_queue_stuck_threshold if {
	count(health.warn_queue_stuck) == 1 with input as inp({"queue": {"total": {"messages": 3, "oldest": "2026-11-27T11:00:00Z"}}})
	count(health.warn_queue_stuck) == 0 with input as inp({"queue": {"total": {"messages": 3, "oldest": "2026-11-27T11:45:00Z"}}})
}

test_queue_stuck_ignores_held if {
	held_only := {"messages": 2, "held": 2, "oldest": "2026-11-27T09:00:00Z"}
	count(health.warn_queue_stuck) == 0 with input as inp({"queue": {"total": held_only}})
	moving := {"messages": 5, "held": 2, "oldest": "2026-11-27T09:00:00Z", "oldest_active": "2026-11-27T11:50:00Z"}
	count(health.warn_queue_stuck) == 0 with input as inp({"queue": {"total": moving}})
	stuck := object.union(moving, {"oldest_active": "2026-11-27T11:00:00Z"})
	some f in health.warn_queue_stuck with input as inp({"queue": {"total": stuck}})
	contains(f.msg, "5 messages queued (2 held), the oldest not held from 2026-11-27T11:00:00Z (60 minutes old)")
}

test_customizations_lost if {
	files := [
		{"name": "msg-budgie/backup.20261127110000/config/msg.conf", "values": {"service.imap.idletimeout": "7200", "local.hostname": "mail"}},
		{"name": "msg-budgie/config/msg.conf", "values": {"local.hostname": "mail"}},
	]
	some f in config.warn_customizations with input as inp({"configs": {"files": files}})
	contains(f.msg, `msg.conf service.imap.idletimeout: "7200" -> "(absent)"`)
}

test_customized_lines_lost if {
	diffs := [
		{"backup": "msg-budgie/backup.20261127110000", "name": "imta/config/mappings", "state": "lines_missing", "missing": ["  tcp_local|*@partner.siroe.net|tcp_local|*  $Y"], "missing_total": 1},
		{"backup": "msg-budgie/backup.20261127110000", "name": "imta/config/option.dat", "state": "lines_missing", "missing": ["LDAP_PASSWORD=<redacted>"], "missing_total": 3},
		{"backup": "msg-budgie/backup.20261127110000", "name": "html/logo.gif", "state": "binary_differs"},
		{"backup": "msg-budgie/backup.20261127110000", "name": "html/site/motd.html", "state": "absent"},
		{"backup": "msg-budgie/backup.20261127110000", "name": "html/x.html", "state": "unreadable", "error": "open /x: permission denied"},
		# an older backup is not compared
		{"backup": "msg-budgie/backup.20011127110000", "name": "imta/config/aliases", "state": "lines_missing", "missing": ["old: older"], "missing_total": 1},
	]
	tests := [
		{"diffs": diffs, "want": [
			`imta/config/mappings: line "  tcp_local|*@partner.siroe.net|tcp_local|*  $Y" missing`,
			`imta/config/option.dat: line "LDAP_PASSWORD=<redacted>" missing`,
			`imta/config/option.dat: 2 more lines missing`,
			`html/logo.gif: binary content differs`,
			`html/site/motd.html: file absent from the new configuration`,
			`html/x.html: cannot compare: open /x: permission denied`,
			"6 keys or lines of msg-budgie/backup.20261127110000 differ",
		]},
		# Without msg.conf files at all, the backup comes from the diffs alone.
		{"diffs": [diffs[0]], "want": ["1 keys or lines of msg-budgie/backup.20261127110000 differ"]},
	]
	every tc in tests {
		some f in config.warn_customizations with input as inp({"configs": {"files": [], "backup_diffs": tc.diffs}})
		every w in tc.want {
			contains(f.msg, w)
		}
		not contains(f.msg, "old: older")
		some r in f.remediation
		endswith(r.text, "/msg-budgie/backup.20261127110000/imta/config /usr/iplanet/server5/msg-budgie/imta/config")
		startswith(r.text, "diff -r ")
	}
}

test_customizations_none_lost if {
	count(config.warn_customizations) == 0 with input as inp({"configs": {"files": [], "backup_diffs": []}})
}
