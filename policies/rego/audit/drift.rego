# What a scheduled audit checks besides the recipients and mailboxes of
# baseline.rego: the rest of the baseline (PAB, queue, versions), the
# customisations setup -k left in backup.<timestamp>, and the disk alarm
# the server itself would raise (runbook §5, §8).
package msguard.audit.drift

import data.msguard.lib
import data.msguard.postflight.config
import data.msguard.postflight.health

base := input.params.baseline

# base_missing lists the baseline's collectors whose facts a comparison needs but are absent.
base_missing contains c if {
	some c in ["ldap", "store", "queue", "versions"]
	object.get(base, c, null) == null
}

base_missing contains "ldap (not bound when the baseline was taken)" if {
	object.get(base, "ldap", null) != null
	not base.ldap.bound
}

# METADATA
# title: Baseline snapshot incomplete
# description: A comparison with facts the baseline lacks would pass by default; unknown never passes, so the baseline must hold every fact the audit compares.
# custom:
#   key: audit.baseline.unusable
#   needs: [baseline]
deny_baseline_unusable contains f if {
	count(base_missing) > 0
	f := lib.finding("audit.baseline.unusable", sprintf("the baseline of %s lacks: %s", [object.get(base, "collected_at", "unknown date"), concat(", ", sort(base_missing))]), {
		"actual": concat(", ", sort(base_missing)), "expected": "ldap, store, queue and versions facts",
		"remediation": [lib.hint("take a new baseline with msguard collect -o baseline.json while the directory is up, and pass it with --baseline")],
	})
}

# METADATA
# title: Personal address book entries lost
# description: The entries under o=pab in the baseline must still be there; fewer now means address books were lost (a missed ims_dssetup step or a partial restore).
# custom:
#   key: audit.baseline.pab
#   needs: [ldap, baseline]
deny_pab contains f if {
	input.snapshot.ldap.bound
	base.ldap.bound
	input.snapshot.ldap.pab_entries < base.ldap.pab_entries
	f := lib.finding("audit.baseline.pab", sprintf("%d PAB entries under o=pab now, %d in the baseline of %s", [input.snapshot.ldap.pab_entries, base.ldap.pab_entries, object.get(base, "collected_at", "unknown date")]), {
		"actual": sprintf("%d", [input.snapshot.ldap.pab_entries]), "expected": sprintf(">= %d", [base.ldap.pab_entries]),
		"remediation": [lib.hint("restore the missing o=pab entries from the backup.ldapsearch export (<date>.pab.ldif)")],
	})
}

# METADATA
# title: Directory not readable for the PAB comparison
# description: The PAB comparison needs a bound directory; unknown never passes.
# custom:
#   key: audit.baseline.pab
#   needs: [ldap, baseline]
deny_pab_unknown contains f if {
	not input.snapshot.ldap.bound
	f := lib.finding("audit.baseline.pab", sprintf("cannot count PAB entries: directory %s: %s", [input.snapshot.ldap.url, object.get(input.snapshot.ldap, "error", "not bound")]), {})
}

queue_oldest := lib.queue_oldest_active

# METADATA
# title: Messages queued before the baseline are still undelivered
# description: After the upgrade messages must not stay in the queue (post.queue). A message that is not held and whose file is older than the baseline snapshot was queued before it and has not been delivered since.
# custom:
#   key: audit.queue.undelivered
#   needs: [queue, baseline]
deny_queue_undelivered contains f if {
	queue_oldest != null
	time.parse_rfc3339_ns(queue_oldest) < time.parse_rfc3339_ns(base.collected_at)
	f := lib.finding("audit.queue.undelivered", sprintf("%d messages queued now, %v in the baseline of %s; the oldest, from %s, was queued before the baseline and is still there", [input.snapshot.queue.total.messages, object.get(base, ["queue", "total", "messages"], "unknown"), base.collected_at, queue_oldest]), {
		"actual": sprintf("oldest %s", [queue_oldest]), "expected": sprintf("nothing queued before %s", [base.collected_at]),
		"remediation": [lib.cmd(sprintf("%s/imsimta qm directory", [lib.inst]))],
	})
}

ignored_keys := {k | some k in data.audit.config_ignore_keys}

# lost lists each customised key of the backup.<timestamp> copy that the new file still lacks or changes.
lost contains sprintf("%s %s: %q -> %q", [fname, k, old_v, new_v]) if {
	some fname in ["msg.conf", "local.conf"]
	old := config.files[sprintf("%s/config/%s", [config.latest, fname])]
	new := config.files[sprintf("%s/config/%s", [config.inst_rel, fname])]
	some k, old_v in old.values
	not k in ignored_keys
	new_v := object.get(object.get(new, "values", {}), k, "(absent)")
	new_v != old_v
}

ignored_files := {f | some f in object.get(data.audit, "config_ignore_files", [])}

# lost also lists the lines of the other saved files (imta/config/*, html/**) that the new files lack.
lost contains l.text if {
	some l in config.file_losses
	not l.file in ignored_files
}

# METADATA
# title: Customised configuration still not re-applied
# description: setup -k keeps the old msg.conf, local.conf, imta/config/ and html/ in backup.<timestamp>; postflight warns once, an audit denies until every customised key and line is re-applied (or the key is listed in data audit.config_ignore_keys, the file relative to INST in audit.config_ignore_files, or the finding is waived).
# custom:
#   key: audit.config.customizations
#   needs: [configs, baseline]
deny_config_customizations contains f if {
	count(lost) > 0
	f := lib.finding("audit.config.customizations", sprintf("%d customised keys or lines of %s are not in the running configuration: %s", [count(lost), config.latest, concat("; ", sort(lost))]), {
		"actual": concat("; ", sort(lost)), "expected": "every customised key and line re-applied",
		"remediation": array.concat(
			array.concat(
				[lib.cmd(sprintf("diff %s/%s/config/msg.conf %s/config/msg.conf", [lib.root, config.latest, lib.inst]))],
				sort(config.diff_cmds),
			),
			[lib.hint("re-apply each key with configutil -o KEY -v VALUE and each line in its file (imta/config changes need imsimta cnbuild), then restart")],
		),
	})
}

products := ["messaging", "directory", "webserver", "delegated_admin"]

version_problems contains sprintf("Messaging Server is %q, want %s", [v, data.versions.messaging.target]) if {
	v := input.snapshot.versions.messaging.version
	v != data.versions.messaging.target
}

version_problems contains sprintf("Directory Server is %q, want %s or newer", [v, data.versions.directory.minimum]) if {
	v := input.snapshot.versions.directory.version
	not health.ds_ok(v)
}

# A baseline taken after the upgrade pins every product's version.
version_problems contains sprintf("%s was %q in the baseline, now %q", [p, bv, nv]) if {
	base.versions.messaging.version == data.versions.messaging.target
	some p in products
	bv := base.versions[p].version
	bv != ""
	nv := input.snapshot.versions[p].version
	nv != bv
}

# METADATA
# title: Versions are not what the upgrade left
# description: The upgrade must stay in place, that is Messaging Server 5.2, Directory Server 4.16 or newer, and no product version changed since a baseline taken after the upgrade (a backout or a restored old binary would show here).
# custom:
#   key: audit.versions.unexpected
#   needs: [versions, baseline]
deny_versions contains f if {
	count(version_problems) > 0
	f := lib.finding("audit.versions.unexpected", concat("; ", sort(version_problems)), {
		"actual": concat(", ", [sprintf("%s %s", [p, input.snapshot.versions[p].version]) | some p in products; input.snapshot.versions[p].installed]),
		"expected": sprintf("messaging %s, directory >= %s", [data.versions.messaging.target, data.versions.directory.minimum]),
	})
}

msg_conf := object.get(config.files, sprintf("%s/config/msg.conf", [config.inst_rel]), {})

# alarm_percent is the server's own disk alarm threshold (percent free), or the default.
alarm_percent := n if {
	n := to_number(msg_conf.values["alarm.diskavail.msgalarmthreshold"])
}

else := data.audit.disk_alarm_default_percent

# METADATA
# title: Free disk space below the server's alarm threshold
# description: Messaging Server raises its disk alarm when free space falls below alarm.diskavail.msgalarmthreshold percent (msg.conf); the audit raises it for the server root and the store the same way.
# custom:
#   key: audit.disk.alarm
#   needs: [mounts, configs]
warn_disk_alarm contains f if {
	some name in data.audit.disk_alarm_filesystems
	fs := input.snapshot.mounts.filesystems[name]
	fs.total_bytes > 0
	pct := (fs.free_bytes * 100) / fs.total_bytes
	pct < alarm_percent
	shown := round(pct * 10) / 10
	f := lib.finding("audit.disk.alarm", sprintf("%s (%s on %s): %v%% free, below the alarm threshold of %v%%", [name, fs.path, fs.mount_point, shown, alarm_percent]), {
		"actual": sprintf("%v%% free", [shown]), "expected": sprintf(">= %v%% free", [alarm_percent]),
		"remediation": [lib.hint(sprintf("free space on %s or grow the filesystem before the server's own alarm (alarm.diskavail.msgalarmthreshold) stops deliveries", [fs.mount_point]))],
	})
}
