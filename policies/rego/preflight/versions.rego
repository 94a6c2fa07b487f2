# Which products are on the host and whether the plan must upgrade them.
package msguard.preflight.versions

import data.msguard.lib

msg := input.snapshot.versions.messaging

ds := input.snapshot.versions.directory

# METADATA
# title: Messaging Server version unknown
# description: No source (imsimta version, SMTP or IMAP greeting) gave a Messaging Server version.
# custom:
#   key: preflight.msg.version_unknown
#   needs: [versions]
deny_msg_version_unknown contains f if {
	msg.version == ""
	f := lib.finding("preflight.msg.version_unknown",
		sprintf("no collector could determine the Messaging Server version: %s", [source_errors("messaging")]),
		{
			"expected": "a 5.x version from imsimta version or a greeting",
			"remediation": [lib.cmd(sprintf("%s/imsimta version", [lib.inst]))],
		})
}

# METADATA
# title: Messaging Server version cannot be upgraded to 5.2
# description: Appendix C upgrades 5.x releases below 5.2 only.
# custom:
#   key: preflight.msg.version_unsupported
#   needs: [versions]
deny_msg_version_unsupported contains f if {
	msg.version != ""
	not msg.version in data.versions.messaging.upgradable
	msg.version != data.versions.messaging.target
	f := lib.finding("preflight.msg.version_unsupported",
		sprintf("Messaging Server %s (%s) is not a 5.x release below 5.2", [msg.version, lib.sources_text("messaging")]),
		{"actual": msg.version, "expected": concat(" or ", data.versions.messaging.upgradable)})
}

# METADATA
# title: Messaging Server is already 5.2
# description: There is nothing to upgrade; run the postflight checks instead.
# custom:
#   key: preflight.msg.already_upgraded
#   needs: [versions]
deny_msg_already_upgraded contains f if {
	msg.version == data.versions.messaging.target
	f := lib.finding("preflight.msg.already_upgraded",
		sprintf("Messaging Server is already %s (%s)", [msg.version, lib.sources_text("messaging")]),
		{
			"actual": msg.version, "expected": sprintf("below %s", [data.versions.messaging.target]),
			"remediation": [lib.cmd(sprintf("msguard check --phase postflight --server-root %s", [lib.root]))],
		})
}

# METADATA
# title: Directory Server version unknown
# description: Neither ns-slapd -v nor slapd.inf gave a Directory Server version, so the plan cannot decide on §3.
# custom:
#   key: preflight.ds.version_unknown
#   needs: [versions]
deny_ds_version_unknown contains f if {
	ds.version == ""
	f := lib.finding("preflight.ds.version_unknown",
		sprintf("the Directory Server version could not be determined: %s", [source_errors("directory")]),
		{"remediation": [lib.cmd(sprintf("%s/bin/slapd/server/ns-slapd -v", [lib.root]))]})
}

# METADATA
# title: Directory Server must be upgraded first
# description: Messaging Server 5.2 ships with Directory Server 4.16; an older DS is upgraded in runbook §3 (setup -k, components 1, 2, 3).
# custom:
#   key: preflight.ds.upgrade_required
#   needs: [versions]
warn_ds_upgrade_required contains f if {
	lib.older("directory", ds.version, data.versions.directory.minimum)
	f := lib.finding("preflight.ds.upgrade_required",
		sprintf("Directory Server %s (%s) is older than %s: the plan includes §3", [ds.version, lib.sources_text("directory"), data.versions.directory.minimum]),
		{
			"actual": ds.version, "expected": data.versions.directory.minimum,
			"remediation": [lib.hint("remediate runs setup -k with components 1, 2, 3 and ims_dssetup.pl before the Messaging upgrade")],
		})
}

# METADATA
# title: Web Server needs an upgrade or a migration
# description: Messaging Server 5.2 supports iPlanet Web Server 6.0 SP2; Web Server 4.x must be migrated, not upgraded.
# custom:
#   key: preflight.webserver.upgrade_required
#   needs: [versions]
warn_webserver_upgrade_required contains f if {
	ws := input.snapshot.versions.webserver
	ws.installed
	ws.version != data.versions.webserver.target
	f := lib.finding("preflight.webserver.upgrade_required",
		sprintf("Web Server %s (%s) is not %s%s", [ws.version, lib.sources_text("webserver"), data.versions.webserver.target, migrate_note(ws.version)]),
		{"actual": ws.version, "expected": data.versions.webserver.target})
}

migrate_note(v) := ": 4.x cannot be upgraded, migrate it" if {
	lib.older("webserver", v, data.versions.webserver.migrate_below)
} else := ""

# METADATA
# title: Delegated Administrator needs an upgrade
# description: Messaging Server 5.2 works with Delegated Administrator 1.2; the old one is uninstalled first (its settings kept as *.nda).
# custom:
#   key: preflight.da.upgrade_required
#   needs: [versions]
warn_da_upgrade_required contains f if {
	da := input.snapshot.versions.delegated_admin
	da.installed
	da.version != data.versions.delegated_admin.target
	f := lib.finding("preflight.da.upgrade_required",
		sprintf("Delegated Administrator %s is not %s", [da.version, data.versions.delegated_admin.target]),
		{"actual": da.version, "expected": data.versions.delegated_admin.target})
}

source_errors(product) := concat("; ", [sprintf("%s: %s", [s.source, s.error]) |
	some s in lib.arr(input.snapshot.versions[product].sources)
	s.error != ""
])
