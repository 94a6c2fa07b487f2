package msguard.preflight_ha_test

import data.msguard.fixtures
import data.msguard.preflight.ha

sc22(h) := fixtures.with_snapshot({"host": "budgie", "ha": object.union({"kind": "sc22", "tools": ["hareg"]}, h)})

sc3(h) := fixtures.with_snapshot({"ha": object.union({"kind": "sc3", "tools": ["scrgadm", "scstat"]}, h)})

online(name) := {"name": name, "status": "Online", "reachable": true, "agent_version": "5.1"}

test_not_ha_fires_nothing if {
	count(ha.deny_ha_not_master) == 0 with input as fixtures.with_snapshot({})
	count(ha.deny_ha_node_unreachable) == 0 with input as fixtures.with_snapshot({})
	count(ha.deny_ha_not_master) == 0 with input as fixtures.with_snapshot({"ha": {"kind": "vcs"}})
	count(ha.deny_ha_node_unreachable) == 0 with input as sc22({"master": "budgie", "is_master": true})
}

test_master_passes if {
	count(ha.deny_ha_not_master) == 0 with input as sc22({"master": "budgie", "is_master": true})
}

test_not_master_names_the_master if {
	some f in ha.deny_ha_not_master with input as sc22({"master": "parrot"})
	f.key == "preflight.ha.not_master"
	f.msg == "Sun Cluster 2.2: this host budgie does not master logical host ims-lh; start the upgrade on parrot"
	f.actual == "master: parrot"
}

test_master_unknown_never_passes if {
	some f in ha.deny_ha_not_master with input as sc22({"master_error": "haget not found"})
	contains(f.msg, "could not tell")
	contains(f.msg, "haget not found")
}

test_master_unknown_a if {
	count(ha.deny_ha_not_master) == 1 with input as sc22({})
}

test_all_nodes_reachable_passes if {
	count(ha.deny_ha_node_unreachable) == 0 with input as sc3({"nodes": [online("budgie"), online("budgie-2")]})
}

test_node_unreachable_names_each_node if {
	inp := sc3({"nodes": [
		online("budgie"),
		{"name": "budgie-2", "status": "Offline", "reachable": false, "error": "node budgie-2 is Offline in scstat -n"},
		{"name": "budgie-3", "status": "Online", "reachable": false, "error": "ssh budgie-3: ssh: connect to host budgie-3 port 22: Connection timed out"},
	]})
	count(ha.deny_ha_node_unreachable) == 1 with input as inp
	some f in ha.deny_ha_node_unreachable with input as inp
	f.key == "preflight.ha.node_unreachable"
	contains(f.msg, "budgie-2 (node budgie-2 is Offline in scstat -n)")
	contains(f.msg, "budgie-3 (ssh budgie-3: ssh: connect to host budgie-3 port 22: Connection timed out)")
	not contains(f.msg, "budgie (")
}

test_node_without_reachable_field_never_passes if {
	count(ha.deny_ha_node_unreachable) == 1 with input as sc3({"nodes": [{"name": "budgie", "status": "Online"}]})
}

test_nodes_unknown_never_passes if {
	some f in ha.deny_ha_node_unreachable with input as sc3({"nodes_error": "scstat -n: exit status 1"})
	contains(f.msg, "cluster nodes unknown (scstat -n: exit status 1)")
}

test_nodes_unknown_b if {
	count(ha.deny_ha_node_unreachable) == 1 with input as sc3({})
}
