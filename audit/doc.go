// Package audit is what `msguard audit` adds around a policy judgement: the
// run history kept as one JSON report per run (rotated by count and age),
// the differences between two runs, Prometheus metrics derived from a
// report, the defaults a recorded remediate run provides (baseline and
// restart time), and an HTTP server that re-runs the audit at most once
// per interval and never twice at the same time.
package audit
