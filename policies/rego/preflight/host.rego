# Directory, disk, queue: what must be true of the running host.
package msguard.preflight.host

import data.msguard.lib

ldap := input.snapshot.ldap

# METADATA
# title: Directory Server unreachable
# description: The directory must run during the whole upgrade; setup -k and ims_dssetup.pl write to it.
# custom:
#   key: preflight.ds.unreachable
#   needs: [ldap]
deny_ds_unreachable contains f if {
	not ldap_ok
	f := lib.finding("preflight.ds.unreachable",
		sprintf("directory %s as %s: %s", [ldap.url, ldap.bind_dn, ldap.error]),
		{
			"actual": ldap_state, "expected": "reachable and bound",
			"remediation": [lib.hint("start the Directory Server (slapd-*/start-slapd) and check --ldap-url and the bind password")],
		})
}

ldap_ok if {
	ldap.reachable
	ldap.bound
}

ldap_state := "unreachable" if not ldap.reachable

else := "bind failed"

# need is what §2's backups take: the measured size when known, else store + queue.
need := input.params.backup_need_bytes if input.params.backup_need_bytes > 0

else := input.snapshot.store.bytes + input.snapshot.queue.total.bytes

# restore_need is the room a backout's restore takes in the server root's
# filesystem: measured when known, else the queue (the upgraded MTA delivers
# it after the restart; the restore writes it back whole).
restore_need := input.params.restore_need_bytes if object.get(input.params, "restore_need_bytes", 0) > 0

else := object.get(input.snapshot, ["queue", "total", "bytes"], 0)

with_margin(n) := round((n * (100 + data.thresholds.backup_margin_percent)) / 100)

root_fs := input.snapshot.mounts.filesystems.server_root

backup_fs := input.snapshot.mounts.filesystems.backup if input.snapshot.mounts.filesystems.backup

else := root_fs

# The backups and the restore share a filesystem unless both mount points
# are known and differ (no --backup-dir: the backups go below the root's).
apart if {
	backup_fs.mount_point
	root_fs.mount_point
	backup_fs.mount_point != root_fs.mount_point
}

# METADATA
# title: Not enough free space for the backups
# description: Runbook §2 backs up the server root, the queue, the directory and the store before anything changes; a backout's restore then writes the queue back into the server root's filesystem, beside the upgraded install.
# custom:
#   key: preflight.disk.backup_space
#   needs: [mounts, store, queue]
deny_disk_backup_space contains f if {
	not apart
	total := with_margin(need + restore_need)
	backup_fs.free_bytes < total
	f := lib.finding("preflight.disk.backup_space",
		sprintf("%s has %d bytes free; the backups need %d and a backout's restore %d more (the queue written back beside the upgraded install): %d with the %d%% margin", [backup_fs.path, backup_fs.free_bytes, need, restore_need, total, data.thresholds.backup_margin_percent]),
		{
			"actual": sprintf("%d", [backup_fs.free_bytes]), "expected": sprintf(">= %d", [total]),
			"remediation": [lib.hint("free space there or pass --backup-dir on a larger filesystem (outside the server root)")],
		})
}

deny_disk_backup_space contains f if {
	apart
	total := with_margin(need)
	backup_fs.free_bytes < total
	f := lib.finding("preflight.disk.backup_space",
		sprintf("%s has %d bytes free; the backups need %d: %d with the %d%% margin", [backup_fs.path, backup_fs.free_bytes, need, total, data.thresholds.backup_margin_percent]),
		{
			"actual": sprintf("%d", [backup_fs.free_bytes]), "expected": sprintf(">= %d", [total]),
			"remediation": [lib.hint("free space there or pass --backup-dir on a larger filesystem (outside the server root)")],
		})
}

deny_disk_backup_space contains f if {
	apart
	total := with_margin(restore_need)
	root_fs.free_bytes < total
	f := lib.finding("preflight.disk.backup_space",
		sprintf("%s (the server root's filesystem) has %d bytes free; a backout's restore needs %d there (the queue written back beside the upgraded install): %d with the %d%% margin", [root_fs.path, root_fs.free_bytes, restore_need, total, data.thresholds.backup_margin_percent]),
		{
			"actual": sprintf("%d", [root_fs.free_bytes]), "expected": sprintf(">= %d", [total]),
			"remediation": [lib.hint("free space in the server root's filesystem: a backout could not put the queue back")],
		})
}

q := input.snapshot.queue.total

# METADATA
# title: Messages are queued
# description: Mail in flight when intake stopped is saved by backup.queue; a large backlog lengthens the window.
# custom:
#   key: preflight.queue.backlog
#   needs: [queue]
warn_queue_backlog contains f if {
	q.messages > 0
	f := lib.finding("preflight.queue.backlog",
		sprintf("%d messages (%d bytes) queued in %s, oldest %s", [q.messages, q.bytes, input.snapshot.queue.path, q.oldest]),
		{
			"actual": sprintf("%d", [q.messages]), "expected": "0",
			"remediation": [lib.cmd(sprintf("%s/imsimta qm directory", [lib.inst]))],
		})
}

# METADATA
# title: Held messages in the queue
# description: .HELD messages are not eligible for delivery; they survive the upgrade only through backup.queue.
# custom:
#   key: preflight.queue.held
#   needs: [queue]
warn_queue_held contains f if {
	q.held > 0
	f := lib.finding("preflight.queue.held",
		sprintf("%d held messages in %s (%s)", [q.held, input.snapshot.queue.path, held_channels]),
		{"actual": sprintf("%d", [q.held]), "expected": "0"})
}

held_channels := concat(", ", [sprintf("%s: %d", [c.name, c.held]) |
	some c in lib.arr(input.snapshot.queue.channels)
	c.held > 0
])
