# Readiness of the server root itself (runbook §8, before the window).
package msguard.preflight.install

import data.msguard.lib

# METADATA
# title: Server root is not a valid iPlanet install
# description: The upgrade needs admin-serv/, setup/install.inf and a msg-* instance in the server root.
# custom:
#   key: preflight.server_root.invalid
#   needs: [install]
deny_server_root_invalid contains f if {
	not input.snapshot.install.valid
	f := lib.finding("preflight.server_root.invalid",
		sprintf("%s is not a Messaging Server root: %s", [lib.root, lib.text(input.snapshot.install.problems, "; ")]),
		{
			"actual": lib.text(input.snapshot.install.problems, "; "),
			"expected": "admin-serv/, setup/install.inf and one msg-* instance",
			"remediation": [lib.hint("pass --server-root with the directory that holds setup/install.inf (default /usr/iplanet/server5)")],
		})
}

# METADATA
# title: install.inf names another machine
# description: setup -k must run on the machine the server was installed on; FullMachineName must be this host.
# custom:
#   key: preflight.host.mismatch
#   needs: [install]
deny_host_mismatch contains f if {
	input.snapshot.install.valid
	not input.snapshot.install.same_machine
	f := lib.finding("preflight.host.mismatch",
		sprintf("install.inf FullMachineName is %q but this host is %s", [input.snapshot.install.full_machine_name, lib.text(input.snapshot.install.this_host, ", ")]),
		{
			"actual": input.snapshot.install.full_machine_name,
			"expected": lib.text(input.snapshot.install.this_host, " or "),
			"remediation": [lib.hint("run msguard and the upgrade on the machine named in setup/install.inf")],
		})
}

# METADATA
# title: Message store partition is missing
# description: backup.store renames or unmounts INST/store/partition/primary; it must exist.
# custom:
#   key: preflight.store.missing
#   needs: [install]
deny_store_missing contains f if {
	input.snapshot.install.valid
	not input.snapshot.install.store_exists
	f := lib.finding("preflight.store.missing",
		sprintf("%s does not exist", [input.snapshot.install.store_path]),
		{
			"actual": "missing",
			"expected": "a directory or mount point",
			"remediation": [lib.hint(sprintf("mount the store on %s or restore it before the upgrade", [input.snapshot.install.store_path]))],
		})
}

# METADATA
# title: An earlier remediate run is unfinished
# description: A failed or interrupted run must be resumed or backed out before a new one starts.
# custom:
#   key: preflight.run.unfinished
#   needs: [run_state]
deny_run_unfinished contains f if {
	input.snapshot.run_state.status in {"in_progress", "failed"}
	f := lib.finding("preflight.run.unfinished",
		sprintf("remediate run is %s at step %q (%s)", [input.snapshot.run_state.status, input.snapshot.run_state.last_step, input.snapshot.run_state.reason]),
		{
			"actual": input.snapshot.run_state.status,
			"expected": "none, completed or backed_out",
			"remediation": [
				lib.cmd(sprintf("msguard remediate --server-root %s --resume", [lib.root])),
				lib.cmd(sprintf("msguard backout --server-root %s", [lib.root])),
			],
		})
}

# METADATA
# title: Installer media missing or not 5.2
# description: remediate runs setup -k from the Messaging Server 5.2 media given with --media.
# custom:
#   key: preflight.media.missing
#   needs: []
deny_media_missing contains f if {
	input.params.for_remediate
	not media_ok
	f := lib.finding("preflight.media.missing", media_msg, {
		"expected": "DIR/msg52/setup of Messaging Server 5.2",
		"remediation": [lib.hint("pass --media with the directory holding msg52/setup")],
	})
}

media_ok if input.params.media.version == "5.2"

media_msg := "no installer media given (--media)" if {
	input.params.media == null
} else := sprintf("media at %s is not Messaging Server 5.2: %s", [input.params.media.path, input.params.media.error])
