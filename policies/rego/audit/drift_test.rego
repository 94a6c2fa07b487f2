package msguard.audit_drift_test

import data.msguard.audit.drift
import data.msguard.fixtures

# upgraded is the fixture host after the upgrade, with its configuration and disk.
upgraded := object.union(fixtures.ready_51, {
	"collected_at": "2026-11-27T10:00:00Z",
	"versions": object.union(fixtures.ready_51.versions, {"messaging": {"installed": true, "version": "5.2", "agreed": true, "sources": []}}),
	"ldap": object.union(fixtures.ready_51.ldap, {"pab_entries": 10}),
	"mounts": {"store": {"mount_point": false}, "filesystems": {
		"server_root": {"path": "/usr/iplanet/server5", "mount_point": "/", "total_bytes": 1000, "free_bytes": 500},
		"store": {"path": "/usr/iplanet/server5/msg-budgie/store/partition/primary", "mount_point": "/store", "total_bytes": 1000, "free_bytes": 400},
	}},
	"configs": {"files": [
		{"name": "msg-budgie/config/msg.conf", "values": {"local.hostname": "mail", "alarm.diskavail.msgalarmthreshold": "10"}},
		{"name": "msg-budgie/backup.20261127090000/config/msg.conf", "values": {"local.hostname": "mail"}},
	]},
})

inp(now, base) := {"snapshot": object.union(upgraded, now), "params": object.union(fixtures.params, {"phase": "audit", "now": "2026-11-27T12:00:00Z", "baseline": base})}

same(now) := inp(now, upgraded)


test_unchanged_host_passes if {
	count(drift.deny_baseline_unusable) == 0 with input as same({})
	count(drift.deny_pab) == 0 with input as same({})
	count(drift.deny_pab_unknown) == 0 with input as same({})
	count(drift.deny_queue_undelivered) == 0 with input as same({})
	count(drift.deny_config_customizations) == 0 with input as same({})
	count(drift.deny_versions) == 0 with input as same({})
	count(drift.warn_disk_alarm) == 0 with input as same({})
}

test_baseline_unusable if {
	tests := [
		{"base": object.remove(upgraded, ["ldap"]), "want": "ldap"},
		{"base": object.union(upgraded, {"queue": null}), "want": "queue"},
		{"base": object.union(upgraded, {"ldap": {"bound": false}}), "want": "not bound"},
	]
	every tc in tests {
		some f in drift.deny_baseline_unusable with input as inp({}, tc.base)
		contains(f.msg, tc.want)
	}
}

test_pab if {
	tests := [
		{"pab": 7, "fires": 1},
		{"pab": 10, "fires": 0},
		{"pab": 12, "fires": 0},
	]
	every tc in tests {
		count(drift.deny_pab) == tc.fires with input as same({"ldap": object.union(upgraded.ldap, {"pab_entries": tc.pab})})
	}
	some f in drift.deny_pab with input as same({"ldap": object.union(upgraded.ldap, {"pab_entries": 7})})
	contains(f.msg, "7 PAB entries under o=pab now, 10 in the baseline")
}

test_pab_directory_down_is_not_a_pass if {
	count(drift.deny_pab_unknown) == 1 with input as same({"ldap": {"bound": false, "url": "ldap://x", "error": "refused"}})
}

test_queue_undelivered if {
	tests := [
		{"oldest": "2026-11-27T09:00:00Z", "fires": 1},
		{"oldest": "2026-11-27T10:30:00Z", "fires": 0},
	]
	every tc in tests {
		count(drift.deny_queue_undelivered) == tc.fires with input as same({"queue": {"total": {"messages": 3, "oldest": tc.oldest}}})
	}
	some f in drift.deny_queue_undelivered with input as same({"queue": {"total": {"messages": 3, "oldest": "2026-11-27T09:00:00Z"}}})
	contains(f.msg, "3 messages queued now, 0 in the baseline")
}

test_queue_held_before_baseline_is_not_undelivered if {
	# Held messages wait for the operator: only oldest_active counts.
	held_only := {"messages": 3, "held": 3, "oldest": "2026-11-27T09:00:00Z"}
	count(drift.deny_queue_undelivered) == 0 with input as same({"queue": {"total": held_only}})
	mixed := {"messages": 3, "held": 2, "oldest": "2026-11-27T09:00:00Z", "oldest_active": "2026-11-27T10:30:00Z"}
	count(drift.deny_queue_undelivered) == 0 with input as same({"queue": {"total": mixed}})
	stuck := object.union(mixed, {"oldest_active": "2026-11-27T09:30:00Z"})
	count(drift.deny_queue_undelivered) == 1 with input as same({"queue": {"total": stuck}})
}

test_config_customization_lost if {
	files := [
		{"name": "msg-budgie/config/msg.conf", "values": {"local.hostname": "mail"}},
		{"name": "msg-budgie/backup.20261127090000/config/msg.conf", "values": {"local.hostname": "mail", "service.imap.idletimeout": "7200"}},
	]
	some f in drift.deny_config_customizations with input as same({"configs": {"files": files}})
	contains(f.msg, `msg.conf service.imap.idletimeout: "7200" -> "(absent)"`)
	count(drift.deny_config_customizations) == 0 with input as same({"configs": {"files": files}})
		with data.audit.config_ignore_keys as ["service.imap.idletimeout"]
}

test_versions if {
	tests := [
		{"name": "still 5.1", "now": {"messaging": {"installed": true, "version": "5.1"}}, "want": `Messaging Server is "5.1"`},
		{"name": "old ds", "now": {"directory": {"installed": true, "version": "4.13"}}, "want": `Directory Server is "4.13"`},
		{"name": "web server changed", "now": {"webserver": {"installed": true, "version": "6.0SP1"}}, "want": `webserver was "6.0SP2" in the baseline, now "6.0SP1"`},
	]
	every tc in tests {
		some f in drift.deny_versions with input as same({"versions": object.union(upgraded.versions, tc.now)})
		contains(f.msg, tc.want)
	}
}

test_versions_pre_upgrade_baseline_pins_nothing if {
	# A pre-upgrade baseline (remediate's before.json) has 5.1: only the targets count.
	count(drift.deny_versions) == 0 with input as inp({}, fixtures.ready_51)
}

test_disk_alarm if {
	tests := [
		{"threshold": "10", "free": 50, "fires": 1},
		{"threshold": "10", "free": 100, "fires": 0},
		{"threshold": "50", "free": 400, "fires": 1},
	]
	every tc in tests {
		files := [{"name": "msg-budgie/config/msg.conf", "values": {"alarm.diskavail.msgalarmthreshold": tc.threshold}}]
		fs := {"server_root": {"path": "/r", "mount_point": "/", "total_bytes": 1000, "free_bytes": 900}, "store": {"path": "/s", "mount_point": "/store", "total_bytes": 1000, "free_bytes": tc.free}}
		count(drift.warn_disk_alarm) == tc.fires with input as same({"configs": {"files": files}, "mounts": {"filesystems": fs}})
	}
}

test_disk_alarm_default_threshold if {
	fs := {"store": {"path": "/s", "mount_point": "/store", "total_bytes": 1000, "free_bytes": 50}}
	some f in drift.warn_disk_alarm with input as same({"configs": {"files": []}, "mounts": {"filesystems": fs}})
	contains(f.msg, "5% free, below the alarm threshold of 10%")
}

test_config_lines_lost if {
	diffs := [
		{"backup": "msg-budgie/backup.20261127090000", "name": "imta/config/aliases", "state": "lines_missing", "missing": ["helpdesk: user0001@siroe.com"], "missing_total": 1},
		{"backup": "msg-budgie/backup.20261127090000", "name": "html/login.html", "state": "lines_missing", "missing": ["<p>site</p>"], "missing_total": 1},
	]
	now := {"configs": object.union(upgraded.configs, {"backup_diffs": diffs})}
	tests := [
		{"ignore": [], "fires": true, "want": `html/login.html: line "<p>site</p>" missing; imta/config/aliases: line "helpdesk: user0001@siroe.com" missing`},
		{"ignore": ["imta/config/aliases"], "fires": true, "want": `1 customised keys or lines`},
		{"ignore": ["imta/config/aliases", "html/login.html"], "fires": false, "want": ""},
	]
	every tc in tests {
		fs := drift.deny_config_customizations with input as same(now) with data.audit.config_ignore_files as tc.ignore
		(count(fs) > 0) == tc.fires
		every f in fs {
			contains(f.msg, tc.want)
		}
	}
}
