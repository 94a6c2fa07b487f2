# High availability (runbook §6): where and whether the upgrade can run on
# a cluster member.
package msguard.preflight.ha

import data.msguard.lib

ha := input.snapshot.ha

# METADATA
# title: This host does not master the Sun Cluster 2.2 logical host
# description: Runbook §6 starts a Sun Cluster 2.2 upgrade on the physical host currently mastering the logical host ims-lh (haget); elsewhere hareg cannot take the data service off.
# custom:
#   key: preflight.ha.not_master
#   needs: [ha]
deny_ha_not_master contains f if {
	ha.kind == "sc22"
	not ha.is_master == true
	f := lib.finding("preflight.ha.not_master", not_master_msg, {
		"actual": not_master_actual,
		"expected": sprintf("%s masters logical host ims-lh", [input.snapshot.host]),
		"remediation": [lib.hint(not_master_hint), lib.cmd("haget -f master -h ims-lh")],
	})
}

not_master_msg := sprintf("Sun Cluster 2.2: could not tell whether this host %s masters logical host ims-lh: %s", [input.snapshot.host, ha.master_error]) if {
	ha.master_error
} else := sprintf("Sun Cluster 2.2: this host %s does not master logical host ims-lh; start the upgrade on %s", [input.snapshot.host, ha.master]) if {
	ha.master
} else := sprintf("Sun Cluster 2.2: this host %s does not master logical host ims-lh; start the upgrade on its master (haget -f master -h ims-lh named none)", [input.snapshot.host])

not_master_actual := sprintf("unknown: %s", [ha.master_error]) if ha.master_error

else := sprintf("master: %s", [ha.master]) if ha.master

else := "master unknown"

not_master_hint := sprintf("run msguard and the upgrade on %s, the physical host mastering ims-lh", [ha.master]) if {
	not ha.master_error
	ha.master
} else := "find the master with haget -f master -h ims-lh and run the upgrade there"

# nodes_problems lists, per Sun Cluster 3.x node that cannot be reached,
# "<node> (<why>)"; a node list that could not be read is one problem.
nodes_problems contains p if {
	ha.kind == "sc3"
	ha.nodes_error
	p := sprintf("cluster nodes unknown (%s)", [ha.nodes_error])
}

nodes_problems contains p if {
	ha.kind == "sc3"
	not ha.nodes_error
	count(lib.arr(object.get(ha, "nodes", null))) == 0
	p := "cluster nodes unknown (scstat -n listed none)"
}

nodes_problems contains p if {
	ha.kind == "sc3"
	some n in lib.arr(ha.nodes)
	not n.reachable == true
	p := sprintf("%s (%s)", [n.name, node_why(n)])
}

node_why(n) := n.error if n.error

else := sprintf("status %s", [n.status])

unreachable_names := [n.name |
	some n in lib.arr(ha.nodes)
	not n.reachable == true
]

# METADATA
# title: A Sun Cluster 3.x node cannot be reached
# description: Runbook §6 installs SUNWscims from the 5.2 media on every cluster node (ha.sc3.agent); a node that is down or that ssh cannot reach would keep the old agent.
# custom:
#   key: preflight.ha.node_unreachable
#   needs: [ha]
deny_ha_node_unreachable contains f if {
	count(nodes_problems) > 0
	problems := concat(", ", sort([p | some p in nodes_problems]))
	f := lib.finding("preflight.ha.node_unreachable",
		sprintf("Sun Cluster 3.x: cannot reach %s; SUNWscims must be installed on every node", [problems]),
		{
			"actual": problems,
			"expected": "every cluster node Online and reachable over ssh",
			"remediation": [
				lib.hint(sprintf("bring %s up and make it answer ssh -o BatchMode=yes from this host before the upgrade", [node_list])),
				lib.cmd("scstat -n"),
			],
		})
}

node_list := concat(", ", sort(unreachable_names)) if count(unreachable_names) > 0

else := "the cluster nodes"
