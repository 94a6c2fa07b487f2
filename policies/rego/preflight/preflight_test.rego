package msguard.preflight_test

import data.msguard.fixtures
import data.msguard.preflight.host
import data.msguard.preflight.install
import data.msguard.preflight.versions

test_ready_host_fires_nothing if {
	inp := fixtures.with_snapshot({})
	count(install.deny_server_root_invalid) == 0 with input as inp
	count(install.deny_host_mismatch) == 0 with input as inp
	count(install.deny_store_missing) == 0 with input as inp
	count(install.deny_run_unfinished) == 0 with input as inp
	count(install.deny_media_missing) == 0 with input as inp
	count(versions.deny_msg_version_unknown) == 0 with input as inp
	count(versions.deny_msg_version_unsupported) == 0 with input as inp
	count(versions.deny_msg_already_upgraded) == 0 with input as inp
	count(versions.deny_ds_version_unknown) == 0 with input as inp
	count(versions.warn_ds_upgrade_required) == 0 with input as inp
	count(versions.warn_webserver_upgrade_required) == 0 with input as inp
	count(versions.warn_da_upgrade_required) == 0 with input as inp
	count(host.deny_ds_unreachable) == 0 with input as inp
	count(host.deny_disk_backup_space) == 0 with input as inp
	count(host.warn_queue_backlog) == 0 with input as inp
	count(host.warn_queue_held) == 0 with input as inp
}

test_server_root_invalid if {
	inp := fixtures.with_snapshot({"install": {"valid": false, "problems": ["no admin-serv/", "no msg-* instance"]}})
	some f in install.deny_server_root_invalid with input as inp
	f.key == "preflight.server_root.invalid"
	contains(f.msg, "no admin-serv/; no msg-* instance")
}

test_host_mismatch if {
	inp := fixtures.with_snapshot({"install": {"valid": true, "same_machine": false, "full_machine_name": "old.siroe.com", "this_host": ["new"], "store_exists": true}})
	some f in install.deny_host_mismatch with input as inp
	contains(f.msg, "old.siroe.com")
}

test_host_mismatch_null_host_list_still_fires if {
	inp := fixtures.with_snapshot({"install": {"valid": true, "same_machine": false, "full_machine_name": "old", "this_host": null, "store_exists": true}})
	count(install.deny_host_mismatch) == 1 with input as inp
}

test_store_missing if {
	inp := fixtures.with_snapshot({"install": {"valid": true, "same_machine": true, "store_exists": false, "store_path": "/r/msg-b/store/partition/primary"}})
	some f in install.deny_store_missing with input as inp
	contains(f.msg, "/r/msg-b/store/partition/primary does not exist")
}

test_run_unfinished if {
	some status in ["failed", "in_progress"]
	inp := fixtures.with_snapshot({"run_state": {"status": status, "last_step": "msg.setup", "reason": "setup exited 1"}})
	some f in install.deny_run_unfinished with input as inp
	contains(f.msg, "msg.setup")
}

test_run_finished_passes if {
	some status in ["none", "completed", "backed_out"]
	count(install.deny_run_unfinished) == 0 with input as fixtures.with_snapshot({"run_state": {"status": status}})
}

test_media_missing_only_for_remediate if {
	count(install.deny_media_missing) == 1 with input as fixtures.with_params({"for_remediate": true})
	count(install.deny_media_missing) == 1 with input as fixtures.with_params({"for_remediate": true, "media": {"path": "/m", "version": "", "error": "no msg52/setup"}})
	count(install.deny_media_missing) == 0 with input as fixtures.with_params({"for_remediate": true, "media": {"path": "/m", "version": "5.2"}})
}

msg_version(v) := fixtures.with_snapshot({"versions": object.union(fixtures.ready_51.versions, {"messaging": {"installed": true, "version": v, "agreed": true, "sources": []}})})

ds_version(v) := fixtures.with_snapshot({"versions": object.union(fixtures.ready_51.versions, {"directory": {"installed": true, "version": v, "agreed": true, "sources": []}})})

test_msg_versions if {
	count(versions.deny_msg_version_unknown) == 1 with input as msg_version("")
	count(versions.deny_msg_version_unsupported) == 0 with input as msg_version("")
	count(versions.deny_msg_version_unsupported) == 1 with input as msg_version("4.15")
	count(versions.deny_msg_version_unsupported) == 0 with input as msg_version("5.0")
	count(versions.deny_msg_already_upgraded) == 1 with input as msg_version("5.2")
	count(versions.deny_msg_version_unsupported) == 0 with input as msg_version("5.2")
}

test_ds_versions if {
	count(versions.warn_ds_upgrade_required) == 1 with input as ds_version("4.13")
	count(versions.warn_ds_upgrade_required) == 0 with input as ds_version("4.16")
	count(versions.deny_ds_version_unknown) == 1 with input as ds_version("")
}

test_webserver_41_needs_migration if {
	inp := fixtures.with_snapshot({"versions": object.union(fixtures.ready_51.versions, {"webserver": {"installed": true, "version": "4.1", "sources": []}})})
	some f in versions.warn_webserver_upgrade_required with input as inp
	contains(f.msg, "migrate")
}

test_no_webserver_no_warning if {
	inp := fixtures.with_snapshot({"versions": object.union(fixtures.ready_51.versions, {"webserver": {"installed": false, "version": "", "sources": []}})})
	count(versions.warn_webserver_upgrade_required) == 0 with input as inp
}

test_da_11 if {
	inp := fixtures.with_snapshot({"versions": object.union(fixtures.ready_51.versions, {"delegated_admin": {"installed": true, "version": "1.1", "sources": []}})})
	count(versions.warn_da_upgrade_required) == 1 with input as inp
}

test_ds_unreachable if {
	inp := fixtures.with_snapshot({"ldap": {"url": "ldap://x:389", "bind_dn": "cn=Directory Manager", "reachable": false, "bound": false, "error": "connection refused"}})
	some f in host.deny_ds_unreachable with input as inp
	contains(f.msg, "connection refused")
	inp2 := fixtures.with_snapshot({"ldap": {"url": "ldap://x:389", "bind_dn": "cn=Directory Manager", "reachable": true, "bound": false, "error": "invalid credentials"}})
	count(host.deny_ds_unreachable) == 1 with input as inp2
}

test_backup_space if {
	inp := fixtures.with_snapshot({"mounts": {"filesystems": {"backup": {"path": "/b", "free_bytes": 1000}}}})
	some f in host.deny_disk_backup_space with input as inp
	contains(f.msg, "/b has 1000 bytes free; the backups need 1000000 and a backout's restore 0 more (the queue written back beside the upgraded install): 1200000 with the 20% margin")
}

# The room a backout's restore needs counts: on the backups' filesystem when
# it is the server root's (or unknown), else on the server root's.
space_input(backup_mp, root_mp, backup_need, restore_need, queue_bytes) := {"snapshot": object.union(fixtures.ready_51, {
	"mounts": {"store": {"mount_point": false}, "filesystems": {
		"server_root": {"path": "/usr/iplanet/server5", "mount_point": root_mp, "free_bytes": 10000000000},
		"backup": {"path": "/var/backups/msguard", "mount_point": backup_mp, "free_bytes": 10000000000},
	}},
	"queue": {"path": "/q", "channels": [], "total": {"messages": 10, "held": 0, "temp": 0, "bytes": queue_bytes}},
}), "params": object.union(fixtures.params, {"backup_need_bytes": backup_need, "restore_need_bytes": restore_need})}

test_backup_space_counts_restore if {
	# shared filesystem: 1 GB of backups fit alone, not with 8 GB of restore
	count(host.deny_disk_backup_space) == 0 with input as space_input("/", "/", 1000000000, 1, 0)
	some f in host.deny_disk_backup_space with input as space_input("/", "/", 1000000000, 8000000000, 0)
	contains(f.msg, "/var/backups/msguard has 10000000000 bytes free; the backups need 1000000000 and a backout's restore 8000000000 more")
	# mount points unknown: shared
	count(host.deny_disk_backup_space) == 1 with input as space_input("", "", 1000000000, 8000000000, 0)
	# no measured restore need: the queue's bytes
	count(host.deny_disk_backup_space) == 1 with input as space_input("/", "/", 1000000000, 0, 8000000000)
	count(host.deny_disk_backup_space) == 0 with input as space_input("/", "/", 1000000000, 0, 1000)
}

test_backup_space_restore_apart if {
	# apart: the backups fit at the destination, the restore not in the root's filesystem
	count(host.deny_disk_backup_space) == 0 with input as space_input("/var", "/usr", 8000000000, 8000000000, 0)
	some f in host.deny_disk_backup_space with input as space_input("/var", "/usr", 1000000000, 9000000000, 0)
	contains(f.msg, "/usr/iplanet/server5 (the server root's filesystem) has 10000000000 bytes free; a backout's restore needs 9000000000 there")
	some g in host.deny_disk_backup_space with input as space_input("/var", "/usr", 9000000000, 1, 0)
	contains(g.msg, "/var/backups/msguard has 10000000000 bytes free; the backups need 9000000000: 10800000000 with the 20% margin")
}

test_backup_space_uses_measured_need if {
	inp := {"snapshot": fixtures.ready_51, "params": object.union(fixtures.params, {"backup_need_bytes": 20000000000})}
	count(host.deny_disk_backup_space) == 1 with input as inp
}

test_queue if {
	inp := fixtures.with_snapshot({"queue": {"path": "/q", "channels": [{"name": "tcp_local", "held": 20}], "total": {"messages": 1000, "held": 20, "bytes": 2048000, "oldest": "2026-11-27T10:00:00Z"}}})
	some b in host.warn_queue_backlog with input as inp
	contains(b.msg, "1000 messages (2048000 bytes) queued in /q, oldest 2026-11-27T10:00:00Z")
	some h in host.warn_queue_held with input as inp
	contains(h.msg, "tcp_local: 20")
}
