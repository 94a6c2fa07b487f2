# How long mail takes to flow, night after night: each leg of the
# mail-flow probe against its threshold in the data file
# (audit.mailflow_latency_ms). Failed legs are judged by the postflight
# rules (postflight.mailflow.*); a probe that did not run is a skip.
package msguard.audit.mailflow

import data.msguard.lib
import data.msguard.postflight.mailflow as probe

legs := ["submit", "delivery", "imap", "pop3"]

# slow lists the legs that took longer than their threshold.
slow contains sprintf("%s %s (threshold %s)", [name, probe.ms_text(leg.latency_ms), probe.ms_text(limit)]) if {
	some name in legs
	leg := object.get(probe.mf, name, null)
	leg != null
	leg.result == "ok"
	limit := data.audit.mailflow_latency_ms[name]
	leg.latency_ms > limit
}

# METADATA
# title: Mail flows slowly
# description: A leg of the mail-flow probe (submit, delivery, IMAP or POP3 fetch) took longer than its threshold in the data file (audit.mailflow_latency_ms).
# custom:
#   key: audit.mailflow.latency
#   needs: []
warn_latency contains f if {
	count(slow) > 0
	f := lib.finding("audit.mailflow.latency", sprintf("slow legs: %s", [concat(", ", sort(slow))]), {
		"actual": concat(", ", sort(slow)), "expected": "every leg within audit.mailflow_latency_ms",
		"remediation": [lib.hint("see the report's mail-flow section for every leg's latency; a slow delivery is usually the job controller or the ims-ms channel, a slow fetch the store or the directory")],
	})
}

# METADATA
# title: Mail-flow latency not measured
# description: Without a probe that ran every leg there is no latency to judge; this key is skipped, not passed.
# custom:
#   key: audit.mailflow.latency
#   needs: []
skip_latency contains f if {
	f := lib.finding("audit.mailflow.latency", probe.not_probed, {})
}

skip_latency contains f if {
	not probe.not_probed
	probe.mf != null
	some name in ["submit", "delivery", "imap"]
	leg := object.get(probe.mf, name, {"result": "missing"})
	leg.result != "ok"
	f := lib.finding("audit.mailflow.latency", sprintf("not measured: the %s leg did not succeed (see postflight.mailflow.*)", [name]), {})
}

skip_latency contains f if {
	probe.mf == null
	probe.probe_error != ""
	f := lib.finding("audit.mailflow.latency", sprintf("not measured: the mail-flow probe did not run: %s", [probe.probe_error]), {})
}
