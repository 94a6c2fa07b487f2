package msguard.quiesce_test

import data.msguard.fixtures
import data.msguard.quiesce.processes

procs(list) := fixtures.with_snapshot({"processes": {"daemons": list}})

test_quiet_host_passes if {
	inp := procs([{"pid": 9, "daemon": "ns-slapd", "role": "slapd:budgie"}])
	count(processes.deny_dispatcher_running) == 0 with input as inp
	count(processes.deny_msg_running) == 0 with input as inp
	count(processes.deny_admin_running) == 0 with input as inp
	count(processes.deny_webserver_running) == 0 with input as inp
	count(processes.deny_ds_unreachable) == 0 with input as inp
}

test_dispatcher_names_pids if {
	inp := procs([{"pid": 101, "daemon": "dispatcher", "role": "msg:budgie"}, {"pid": 102, "daemon": "tcp_smtp_server", "role": "msg:budgie"}])
	some f in processes.deny_dispatcher_running with input as inp
	f.msg == "running: dispatcher pid 101, tcp_smtp_server pid 102"
	f.remediation[0].text == "/usr/iplanet/server5/msg-budgie/imsimta stop dispatcher"
}

test_msg_daemons if {
	some d in ["stored", "imapd", "popd", "mshttpd", "job_controller", "enpd"]
	count(processes.deny_msg_running) == 1 with input as procs([{"pid": 5, "daemon": d, "role": "msg:budgie"}])
}

test_admin_and_webserver if {
	inp := procs([
		{"pid": 7, "daemon": "ns-httpd", "role": "admin-server"},
		{"pid": 8, "daemon": "ns-httpd", "role": "webserver:https-mail.siroe.com"},
	])
	count(processes.deny_admin_running) == 1 with input as inp
	some w in processes.deny_webserver_running with input as inp
	w.remediation[0].text == "/usr/iplanet/server5/https-mail.siroe.com/stop"
}

test_ds_down if {
	count(processes.deny_ds_unreachable) == 1 with input as fixtures.with_snapshot({"ldap": {"reachable": false, "bound": false, "url": "ldap://x", "error": "refused"}})
}
