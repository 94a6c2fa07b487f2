package msguard.postflight_mailflow_test

import data.msguard.fixtures
import data.msguard.postflight.mailflow

ok_leg(ms) := {"result": "ok", "latency_ms": ms, "server": "127.0.0.1:25"}

flowing := {
	"user": "probe", "address": "probe@siroe.com", "tag": "msguard-probe-abc",
	"submit": ok_leg(12), "delivery": {"result": "ok", "latency_ms": 800},
	"imap": ok_leg(30), "pop3": ok_leg(20), "cleanup": {"clean": true},
}

inp(mf) := {"snapshot": object.union(fixtures.ready_51, {"mailflow": mf}), "params": object.union(fixtures.params, {"phase": "postflight"})}

all_findings(i) := [f |
	some set in [
		mailflow.deny_submit, mailflow.deny_probe_error, mailflow.deny_delivery, mailflow.deny_fetch,
		mailflow.deny_left_behind, mailflow.skip_submit, mailflow.skip_delivery, mailflow.skip_fetch,
	] with input as i
	some f in set
]

test_flowing_is_quiet if {
	count(all_findings(inp(flowing))) == 0
}

test_pop3_not_served_is_fine if {
	mf := object.union(flowing, {"pop3": {"result": "not_run", "latency_ms": 0, "detail": "service.pop.enable is off"}})
	count(all_findings(inp(mf))) == 0
}

test_no_account_skips_every_key if {
	i := inp({"skipped": "no probe account given (--probe-user): mail flow not probed"})
	count(mailflow.skip_submit) == 1 with input as i
	count(mailflow.skip_delivery) == 1 with input as i
	count(mailflow.skip_fetch) == 1 with input as i
	count(mailflow.deny_submit) == 0 with input as i
	some f in mailflow.skip_submit with input as i
	contains(f.msg, "no probe account")
}

test_old_snapshot_skips if {
	i := {"snapshot": fixtures.ready_51, "params": fixtures.params}
	some f in mailflow.skip_fetch with input as i
	contains(f.msg, "no mail-flow facts")
	count(mailflow.deny_probe_error) == 0 with input as i
}

test_collector_error_denies if {
	i := {"snapshot": object.union(fixtures.ready_51, {"collectors": {"mailflow": {"error": "no smtp port: dispatcher.cnf missing"}}}), "params": fixtures.params}
	some f in mailflow.deny_probe_error with input as i
	contains(f.msg, "no smtp port")
	count(mailflow.skip_submit) == 0 with input as i
}

test_relaying_denied if {
	mf := object.union(flowing, {
		"submit": {"result": "failed", "latency_ms": 9, "server": "127.0.0.1:25", "error": "RCPT TO:<probe@siroe.com> refused", "reply": "550 5.7.1 relaying denied"},
		"delivery": {"result": "not_run", "latency_ms": 0, "detail": "the submit leg failed"},
		"imap": {"result": "not_run", "latency_ms": 0, "detail": "the submit leg failed"},
		"pop3": {"result": "not_run", "latency_ms": 0, "detail": "the submit leg failed"},
	})
	i := inp(mf)
	some f in mailflow.deny_submit with input as i
	f.msg == "submit leg failed (127.0.0.1:25): RCPT TO:<probe@siroe.com> refused; the server said: 550 5.7.1 relaying denied (after 9ms)"
	f.actual == "550 5.7.1 relaying denied"
	some d in mailflow.skip_delivery with input as i
	d.msg == "not run: the submit leg failed"
	count(mailflow.skip_fetch) == 1 with input as i
	count(mailflow.deny_delivery) == 0 with input as i
	count(mailflow.deny_fetch) == 0 with input as i
}

test_delivery_stopped if {
	mf := object.union(flowing, {
		"delivery": {"result": "failed", "latency_ms": 60000, "error": "still queued after 1m0s in tcp_local (the MTA does not deliver)"},
		"imap": {"result": "not_run", "latency_ms": 0, "detail": "the delivery leg failed"},
	})
	i := inp(mf)
	some f in mailflow.deny_delivery with input as i
	contains(f.msg, "delivery leg failed: still queued after 1m0s in tcp_local")
	contains(f.msg, "(after 60.0s)")
	count(mailflow.deny_submit) == 0 with input as i
	count(mailflow.deny_fetch) == 0 with input as i
}

test_imap_refuses_logins if {
	mf := object.union(flowing, {"imap": {"result": "failed", "latency_ms": 4, "server": "127.0.0.1:143", "error": "LOGIN as probe failed", "reply": "Authentication failed"}})
	i := inp(mf)
	some f in mailflow.deny_fetch with input as i
	f.msg == "imap leg failed (127.0.0.1:143): LOGIN as probe failed; the server said: Authentication failed (after 4ms)"
	count(mailflow.deny_submit) == 0 with input as i
	count(mailflow.deny_delivery) == 0 with input as i
}

test_pop3_fails_alone if {
	mf := object.union(flowing, {"pop3": {"result": "failed", "latency_ms": 3, "server": "127.0.0.1:110", "error": "PASS failed", "reply": "-ERR bad login"}})
	some f in mailflow.deny_fetch with input as inp(mf)
	startswith(f.msg, "pop3 leg failed")
}

test_left_behind if {
	mf := object.union(flowing, {"cleanup": {"clean": false, "error": "imap: LOGIN: refused"}})
	some f in mailflow.deny_left_behind with input as inp(mf)
	contains(f.msg, "msguard-probe-abc")
	contains(f.msg, "imap: LOGIN: refused")
}
