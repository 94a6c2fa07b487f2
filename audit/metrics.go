package audit

import (
	"bytes"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/atomicfile"
)

// auditVerdicts are the verdicts of the audit phase, each exported as a
// series of msguard_verdict so that the current one is 1 and the others 0.
var auditVerdicts = []string{judgement.VerdictHealthy, judgement.VerdictUnhealthy, judgement.VerdictError}

// WriteMetrics writes the report as Prometheus text exposition format
// (version 0.0.4), everything derived from the report alone so that the
// same report always gives the same text:
//
//	msguard_findings{key,severity}         unwaived findings by key and severity ("waived" for waived ones)
//	msguard_verdict{phase,verdict}         1 for the report's verdict, 0 for the phase's others
//	msguard_queue_messages{channel}        queued messages per channel (when the queue was collected)
//	msguard_queue_oldest_age_seconds       age of the oldest queued message at the end of the run (0: empty)
//	msguard_last_run_timestamp_seconds     when the run finished
//	msguard_collector_errors{collector}    1 when the collector failed, else 0
func WriteMetrics(w io.Writer, r *judgement.Report) error {
	var b bytes.Buffer
	family := func(name, help string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}

	family("msguard_findings", "Findings of the last msguard run by key and severity (waived findings have severity waived).")
	type ks struct{ key, sev string }
	counts := map[ks]int{}
	for _, f := range r.Findings {
		sev := f.Severity
		if f.Waived != nil {
			sev = "waived"
		}
		counts[ks{f.Key, sev}]++
	}
	keys := make([]ks, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].key != keys[j].key {
			return keys[i].key < keys[j].key
		}
		return keys[i].sev < keys[j].sev
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "msguard_findings{key=%s,severity=%s} %d\n", quote(k.key), quote(k.sev), counts[k])
	}

	family("msguard_verdict", "1 for the verdict of the last msguard run, 0 for the phase's other verdicts.")
	verdicts := auditVerdicts
	if r.Phase == "preflight" || r.Phase == "quiesce" {
		verdicts = []string{judgement.VerdictReady, judgement.VerdictNotReady, judgement.VerdictError}
	}
	if !contains(verdicts, r.Verdict) {
		verdicts = append(append([]string(nil), verdicts...), r.Verdict)
	}
	for _, v := range verdicts {
		val := 0
		if v == r.Verdict {
			val = 1
		}
		fmt.Fprintf(&b, "msguard_verdict{phase=%s,verdict=%s} %d\n", quote(r.Phase), quote(v), val)
	}

	if a := r.Audit; a != nil && a.Queue != nil {
		family("msguard_queue_messages", "Messages in the MTA queue by channel, held messages included.")
		channels := make([]string, 0, len(a.QueueChannels))
		for c := range a.QueueChannels {
			channels = append(channels, c)
		}
		sort.Strings(channels)
		for _, c := range channels {
			fmt.Fprintf(&b, "msguard_queue_messages{channel=%s} %d\n", quote(c), a.QueueChannels[c])
		}
		family("msguard_queue_oldest_age_seconds", "Age of the oldest queued message when the run finished (0 when the queue is empty).")
		age := 0.0
		if a.Queue.Oldest != nil && a.Queue.Messages > 0 {
			age = max(0, r.FinishedAt.Sub(*a.Queue.Oldest).Seconds())
		}
		fmt.Fprintf(&b, "msguard_queue_oldest_age_seconds %s\n", num(age))
	}

	family("msguard_last_run_timestamp_seconds", "Unix time at which the last msguard run finished.")
	fmt.Fprintf(&b, "msguard_last_run_timestamp_seconds %s\n", num(float64(r.FinishedAt.UnixMilli())/1000))

	family("msguard_collector_errors", "1 when the collector failed in the last run (its facts are missing), else 0.")
	failed := map[string]bool{}
	for _, fe := range r.FactsErrors {
		failed[fe.Collector] = true
	}
	names := append([]string(nil), facts.AllCollectors...)
	for c := range failed {
		if !contains(names, c) {
			names = append(names, c)
		}
	}
	sort.Strings(names)
	for _, c := range names {
		val := 0
		if failed[c] {
			val = 1
		}
		fmt.Fprintf(&b, "msguard_collector_errors{collector=%s} %d\n", quote(c), val)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteMetricsFile writes the metrics of r to path atomically (mode 0644,
// so that node_exporter's textfile collector can read it) and never
// leaves a half-written file for a scrape to see.
func WriteMetricsFile(path string, r *judgement.Report) error {
	var b bytes.Buffer
	if err := WriteMetrics(&b, r); err != nil {
		return err
	}
	if err := atomicfile.Write(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write metrics file: %w", err)
	}
	return nil
}

// quote renders a label value: double-quoted, with backslash, double
// quote and newline escaped as the text format requires.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
