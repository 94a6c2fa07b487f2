# Helpers shared by msguard's policies.
package msguard.lib

# finding builds a finding object from a key, a message and extra fields
# (actual, expected, remediation, ...).
finding(key, msg, extra) := object.union({"key": key, "msg": msg}, extra)

# version_index is the position of version v in data.versions[product].order;
# undefined when the version is unknown.
version_index(product, v) := i if {
	some i
	data.versions[product].order[i] == v
}

# older is true when version a is known and older than version b.
older(product, a, b) if version_index(product, a) < version_index(product, b)

# known is true when v is one of the product's known versions.
known(product, v) if version_index(product, v)

# root is the server root of the snapshot.
root := input.snapshot.server_root

# inst is the messaging instance directory, ROOT/msg-<instance>.
inst := sprintf("%s/msg-%s", [root, input.snapshot.instance])

# wsroot is the Web Server root (the server root when none was found).
wsroot := r if {
	r := input.snapshot.webserver_root
	r != ""
} else := root

# cmd is a remediation step that is a command to run.
cmd(text) := {"type": "command", "text": text}

# hint is a remediation step that is advice.
hint(text) := {"type": "hint", "text": text}

# sources_text lists where a product's version was read: "5.1 (imsimta version), 5.1 (smtp greeting)".
sources_text(product) := concat(", ", [s |
	some src in input.snapshot.versions[product].sources
	src.version != ""
	s := sprintf("%s (%s)", [src.version, src.source])
])

# daemons_named lists the install's running daemons whose name is in names.
daemons_named(names) := [p |
	some p in input.snapshot.processes.daemons
	p.daemon in names
]

# pids_text renders daemons as "dispatcher pid 123, tcp_smtp_server pid 124".
pids_text(procs) := concat(", ", [sprintf("%s pid %d", [p.daemon, p.pid]) | some p in procs])

# arr returns x when it is an array and [] otherwise (Go's nil slices are null).
arr(x) := x if is_array(x)

else := []

# text joins a possibly-null list of strings.
text(x, sep) := concat(sep, arr(x))

# queue_oldest_active is the modification time of the oldest queued message
# that is not held, or null when every queued message is held (or none is).
# A snapshot written before oldest_active existed has only oldest: it is
# used whenever some message is not held, so such a queue is never judged
# empty.
queue_oldest_active := t.oldest_active if {
	t := input.snapshot.queue.total
	t.oldest_active != null
} else := t.oldest if {
	t := input.snapshot.queue.total
	t.messages > t.held
	t.oldest != null
} else := null
