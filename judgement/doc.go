// Package judgement holds the report model: the msguard.report/v1
// document (Report), its findings (Finding, with severities, remediation
// and waivers) and verdicts. Policies produce it, reports render it, audit
// keeps its history; the collectors, which only gather facts, do not know
// it. It imports only the standard library and the snapshot types of
// collectors/facts.
package judgement
