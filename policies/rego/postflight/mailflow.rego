# Mail flow after the upgrade (runbook §5): the mail-flow probe submits a
# tagged message over SMTP, watches it leave the queue, reads it over IMAP
# (and POP3) and deletes it. Each leg that failed is a deny naming the leg
# and the server's reply; a leg that was not run, or a probe that was not
# run at all (no probe account given), is a skip: never a pass.
package msguard.postflight.mailflow

import data.msguard.lib

mf := object.get(input.snapshot, "mailflow", null)

probe_error := object.get(object.get(object.get(input.snapshot, "collectors", {}), "mailflow", {}), "error", "")

# not_probed says why there are no legs to judge ("" when there are).
not_probed := mf.skipped if {
	mf != null
	object.get(mf, "skipped", "") != ""
} else := "no mail-flow facts in this snapshot (taken before msguard had the probe, or with --only)" if {
	mf == null
	probe_error == ""
}

# unjudged says why the delivery and fetch legs could not be judged when
# the probe did not run or failed to: the submit key says what happened.
unjudged := not_probed if {
	not_probed
} else := sprintf("not run: the mail-flow probe did not run: %s", [probe_error]) if {
	mf == null
	probe_error != ""
}

# leg_text renders a failed leg: "127.0.0.1:25: RCPT TO:<x> refused: 550 5.7.1 relaying denied (after 12ms)".
leg_text(name, leg) := sprintf("%s leg failed%s: %s%s (after %s)", [
	name,
	server_text(leg),
	object.get(leg, "error", ""),
	reply_text(leg),
	ms_text(leg.latency_ms),
])

server_text(leg) := sprintf(" (%s)", [leg.server]) if object.get(leg, "server", "") != ""

else := ""

reply_text(leg) := sprintf("; the server said: %s", [leg.reply]) if object.get(leg, "reply", "") != ""

else := ""

ms_text(v) := sprintf("%dms", [round(v)]) if v < 10000

else := sprintf("%d.%ds", [tenths / 10 - (tenths % 10) / 10, tenths % 10]) if tenths := round(v / 100)

failed(leg) := leg if {
	leg != null
	leg.result == "failed"
}

not_run(leg) := leg if {
	leg != null
	leg.result == "not_run"
}

# METADATA
# title: Mail flow - the dispatcher did not take the probe message
# description: The probe submits a tagged message to the dispatcher's SMTP port (dispatcher.cnf) for the probe account; the server must accept it.
# custom:
#   key: postflight.mailflow.submit
#   needs: []
deny_submit contains f if {
	leg := failed(mf.submit)
	f := lib.finding("postflight.mailflow.submit", leg_text("submit", leg), {
		"actual": object.get(leg, "reply", leg.error), "expected": "250: the message accepted",
		"remediation": [
			lib.cmd(sprintf("%s/imsimta test -rewrite %s", [lib.inst, mf.address])),
			lib.hint("check that the dispatcher and tcp_smtp_server run and that the probe account's domain is local (imta.cnf rewrite rules, mappings ORIG_SEND_ACCESS)"),
		],
	})
}

# METADATA
# title: Mail flow - the probe could not run
# description: The mailflow collector failed (no SMTP port, the probe timed out); the mail flow is unknown, and unknown never passes.
# custom:
#   key: postflight.mailflow.submit
#   needs: []
deny_probe_error contains f if {
	mf == null
	probe_error != ""
	f := lib.finding("postflight.mailflow.submit", sprintf("the mail-flow probe did not run: %s", [probe_error]), {
		"expected": "the probe's facts", "remediation": [lib.hint("fix the mailflow collector error in facts_errors and run again")],
	})
}

# METADATA
# title: Mail flow - the probe message was not delivered
# description: After the dispatcher accepted it, the message must leave the queue (INST/imta/queue) for the store within the probe's timeout; a job controller that is up but does not deliver leaves it queued.
# custom:
#   key: postflight.mailflow.delivery
#   needs: []
deny_delivery contains f if {
	leg := failed(mf.delivery)
	f := lib.finding("postflight.mailflow.delivery", leg_text("delivery", leg), {
		"actual": leg.error, "expected": "the message delivered (gone from the queue)",
		"remediation": [
			lib.cmd(sprintf("%s/imsimta qm directory", [lib.inst])),
			lib.hint("check the job controller (job_controller.cnf) and the ims-ms channel; imsimta cnbuild and imsimta restart job_controller after a configuration change"),
		],
	})
}

# METADATA
# title: Mail flow - the probe message could not be read
# description: The probe account must read the delivered message over IMAP (and POP3 when service.pop.enable is on); a refused login (a directory or schema problem) or a message missing from INBOX fails this leg.
# custom:
#   key: postflight.mailflow.fetch
#   needs: []
deny_fetch contains f if {
	some name in ["imap", "pop3"]
	leg := failed(object.get(mf, name, null))
	f := lib.finding("postflight.mailflow.fetch", leg_text(name, leg), {
		"actual": object.get(leg, "reply", leg.error), "expected": sprintf("the message read over %s", [upper(name)]),
		"remediation": [lib.hint(sprintf("log in as %s over %s by hand; a refused login after the upgrade is usually the directory (ims_dssetup.pl, inetMailUser) or the service's configuration", [mf.user, upper(name)]))],
	})
}

# METADATA
# title: Mail flow - the probe left its message behind
# description: The probe deletes its message (from the queue when it was not delivered, from the mailbox otherwise); when it cannot, the message is still there.
# custom:
#   key: postflight.mailflow.fetch
#   needs: []
deny_left_behind contains f if {
	mf.cleanup != null
	not mf.cleanup.clean
	f := lib.finding("postflight.mailflow.fetch", sprintf("the probe could not delete its message (tag %s): %s", [mf.tag, object.get(mf.cleanup, "error", "")]), {
		"actual": "left behind", "expected": "deleted",
		"remediation": [lib.hint(sprintf("delete the message whose subject holds %s from %s's INBOX (or the queue) by hand", [mf.tag, mf.user]))],
	})
}

# METADATA
# title: Mail flow not probed (submit)
# description: Without a probe account (--probe-user) the mail flow is not probed; this key is skipped, not passed.
# custom:
#   key: postflight.mailflow.submit
#   needs: []
skip_submit contains f if {
	not_probed
	f := lib.finding("postflight.mailflow.submit", not_probed, {"remediation": [lib.hint("give a probe account: --probe-user, --probe-password-file (or MSGUARD_PROBE_PASSWORD), --probe-address")]})
}

# METADATA
# title: Mail flow not probed (delivery)
# description: The delivery leg runs only after a submitted message; without it (or without a probe) this key is skipped, not passed.
# custom:
#   key: postflight.mailflow.delivery
#   needs: []
skip_delivery contains f if {
	unjudged
	f := lib.finding("postflight.mailflow.delivery", unjudged, {})
}

skip_delivery contains f if {
	leg := not_run(mf.delivery)
	f := lib.finding("postflight.mailflow.delivery", sprintf("not run: %s", [leg.detail]), {})
}

# METADATA
# title: Mail flow not probed (fetch)
# description: The fetch legs run only after a delivered message; without it (or without a probe) this key is skipped, not passed.
# custom:
#   key: postflight.mailflow.fetch
#   needs: []
skip_fetch contains f if {
	unjudged
	f := lib.finding("postflight.mailflow.fetch", unjudged, {})
}

skip_fetch contains f if {
	leg := not_run(mf.imap)
	f := lib.finding("postflight.mailflow.fetch", sprintf("not run: %s", [leg.detail]), {})
}
