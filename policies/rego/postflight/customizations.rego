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
} | {d.backup | some d in lib.arr(input.snapshot.configs.backup_diffs)}

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

# diffs are the other files of the newest backup that the new files do not carry over.
diffs contains d if {
	some d in lib.arr(input.snapshot.configs.backup_diffs)
	d.backup == latest
}

# file_losses describes each such file's loss, by file: the lines missing (redacted), or why it differs.
file_losses contains {"file": d.name, "text": sprintf("%s: line %q missing", [d.name, line])} if {
	some d in diffs
	some line in lib.arr(d.missing)
}

file_losses contains {"file": d.name, "text": sprintf("%s: %d more lines missing", [d.name, n])} if {
	some d in diffs
	n := object.get(d, "missing_total", 0) - count(lib.arr(d.missing))
	n > 0
}

file_losses contains {"file": d.name, "text": sprintf("%s: %s", [d.name, why])} if {
	some d in diffs
	reasons := {
		"absent": "file absent from the new configuration",
		"binary_differs": "binary content differs",
		"unreadable": sprintf("cannot compare: %s", [object.get(d, "error", "unreadable")]),
	}
	why := reasons[d.state]
}

lost_lines := {l.text | some l in file_losses}

# diff_cmds compare the saved trees with the new ones, for the trees that lost something.
diff_cmds contains lib.cmd(sprintf("diff -r %s/%s/%s %s/%s", [lib.root, latest, tree, lib.inst, tree])) if {
	some tree in ["imta/config", "html"]
	some d in diffs
	startswith(d.name, concat("", [tree, "/"]))
}

all_changed := changed | lost_lines

# METADATA
# title: Customisations not carried over by the upgrade
# description: setup -k moves msg.conf, local.conf, imta/config/ and html/ into backup.<timestamp> and writes new ones; customised keys and lines must be compared and re-applied.
# custom:
#   key: postflight.config.customizations
#   needs: [configs]
warn_customizations contains f if {
	count(all_changed) > 0
	f := lib.finding("postflight.config.customizations",
		sprintf("%d keys or lines of %s differ in the new configuration: %s", [count(all_changed), latest, concat("; ", sort(all_changed))]),
		{
			"actual": concat("; ", sort(all_changed)), "expected": "every customised key and line re-applied",
			"remediation": array.concat(
				[lib.cmd(sprintf("diff %s/%s/config/msg.conf %s/config/msg.conf", [lib.root, latest, lib.inst]))],
				sort(diff_cmds),
			),
		})
}
