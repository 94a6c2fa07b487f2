package msguard.audit_mailflow_test

import data.msguard.audit.mailflow
import data.msguard.fixtures

leg(ms) := {"result": "ok", "latency_ms": ms}

flowing := {"submit": leg(12), "delivery": leg(800), "imap": leg(30), "pop3": leg(20), "cleanup": {"clean": true}}

inp(mf) := {"snapshot": object.union(fixtures.ready_51, {"mailflow": mf}), "params": object.union(fixtures.params, {"phase": "audit"})}

test_fast_flow_is_quiet if {
	count(mailflow.warn_latency) == 0 with input as inp(flowing)
	count(mailflow.skip_latency) == 0 with input as inp(flowing)
}

test_slow_delivery_warns if {
	some f in mailflow.warn_latency with input as inp(object.union(flowing, {"delivery": leg(75000)}))
	f.msg == "slow legs: delivery 75.0s (threshold 60.0s)"
}

test_threshold_from_data if {
	count(mailflow.warn_latency) == 1 with input as inp(flowing) with data.audit.mailflow_latency_ms.imap as 10
}

test_not_probed_skips if {
	some f in mailflow.skip_latency with input as inp({"skipped": "no probe account given (--probe-user): mail flow not probed"})
	contains(f.msg, "no probe account")
}

test_failed_leg_skips if {
	mf := object.union(flowing, {"imap": {"result": "failed", "latency_ms": 3}})
	some f in mailflow.skip_latency with input as inp(mf)
	contains(f.msg, "the imap leg did not succeed")
	count(mailflow.warn_latency) == 0 with input as inp(mf)
}
