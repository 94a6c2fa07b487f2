# Configuration the 5.2 setup did not carry over (runbook §4).
package msguard.postflight.config

import data.msguard.lib

files := {f.name: f | some f in lib.arr(input.snapshot.configs.files)}

inst_rel := sprintf("msg-%s", [input.snapshot.instance])

# backups are the backup.<timestamp> directories setup -k left, relative to the root.
backups := {b |
	some name, _ in files
	m := regex.find_all_string_submatch_n(`^(.*/backup\.[0-9]{14})/config/[^/]+$`, name, 1)
	count(m) > 0
	b := m[0][1]
}

latest := max(backups)

# changed lists each key of the saved msg.conf/local.conf whose value the new file does not keep.
changed contains sprintf("%s %s: %q -> %q", [base, k, old_v, new_v]) if {
	some base in ["msg.conf", "local.conf"]
	old := files[sprintf("%s/config/%s", [latest, base])]
	new := files[sprintf("%s/config/%s", [inst_rel, base])]
	some k, old_v in old.values
	new_v := object.get(object.get(new, "values", {}), k, "(absent)")
	new_v != old_v
}

# METADATA
# title: Customisations not carried over by the upgrade
# description: setup -k moves msg.conf and local.conf into backup.<timestamp> and writes new ones; customised keys must be compared and re-applied.
# custom:
#   key: postflight.config.customizations
#   needs: [configs]
warn_customizations contains f if {
	count(changed) > 0
	f := lib.finding("postflight.config.customizations",
		sprintf("%d keys of %s differ in the new configuration: %s", [count(changed), latest, concat("; ", sort(changed))]),
		{
			"actual": concat("; ", sort(changed)), "expected": "every customised key re-applied",
			"remediation": [lib.cmd(sprintf("diff %s/%s/config/msg.conf %s/config/msg.conf", [lib.root, latest, lib.inst]))],
		})
}
