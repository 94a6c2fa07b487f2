package reports

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/msguard/msguard/judgement"
)

// The rehearsal section of a report (msguard rehearse): the plan as the
// twin ran it, the window it measured and the proof that production was
// untouched. Every format shows it after the findings.

// reportTitle names the report: "postflight report", or for a rehearsal
// "rehearsal report (findings of its quiesce gate)".
func reportTitle(r *judgement.Report) string {
	if r.Rehearsal == nil {
		return r.Phase + " report"
	}
	if r.Phase == "" {
		return "rehearsal report"
	}
	return "rehearsal report (findings of its " + r.Phase + " gate)"
}

// rehearsalVerdicts says in words what remediate's exit code in the twin
// means for the real window.
var rehearsalVerdicts = map[int]string{
	0: "the upgrade went through",
	3: "a gate refused the upgrade",
	5: "a step failed and the twin was backed out",
	6: "a step failed and the backout failed too",
}

func rehearsalVerdict(rh *judgement.Rehearsal) string {
	if v, ok := rehearsalVerdicts[rh.RemediateExitCode]; ok {
		return v
	}
	return "remediate exited " + strconv.Itoa(rh.RemediateExitCode)
}

func ms(n int64) string {
	return (time.Duration(n) * time.Millisecond).Round(10 * time.Millisecond).String()
}

// rehearsalWindow is the one line on the window.
func rehearsalWindow(rh *judgement.Rehearsal) string {
	return fmt.Sprintf("mail service down for %s (first stop to servers started), whole plan %s", ms(rh.DowntimeMS), ms(rh.RunMS))
}

// rehearsalProduction is the one line on production.
func rehearsalProduction(rh *judgement.Rehearsal) string {
	p := rh.Production
	if p.Untouched && p.LiveFiles > 0 {
		return fmt.Sprintf("production untouched: %d entries identical before and after (the %d files its daemons hold open for writing by type, mode and owner), the same %d daemon processes", p.Entries, p.LiveFiles, len(p.DaemonPIDs))
	}
	if p.Untouched {
		return fmt.Sprintf("production untouched: %d entries identical before and after, the same %d daemon processes", p.Entries, len(p.DaemonPIDs))
	}
	return "PRODUCTION CHANGED during the rehearsal: " + p.Difference
}

// rehearsalDirectory is the one line on a directory on another host
// ("" when the directory was on this host).
func rehearsalDirectory(rh *judgement.Rehearsal) string {
	d := rh.Directory
	if d == nil {
		return ""
	}
	return fmt.Sprintf("directory: a scratch copy of %s (%d entries of %s, exported read-only before the twin started); the plan's directory steps ran against the copy, not production's directory", d.URL, d.Entries, strings.Join(d.Suffixes, ", "))
}

// rehearsalText writes the section for the text report.
func (t TextRenderer) rehearsalText(b *bytes.Buffer, rh *judgement.Rehearsal) {
	fmt.Fprintf(b, "\n%s\n", t.paint(ansiBold, fmt.Sprintf("REHEARSAL: %s (remediate exit %d)", rehearsalVerdict(rh), rh.RemediateExitCode)))
	for _, s := range rh.Steps {
		line := fmt.Sprintf("  %-24s %-7s %9s", clean(s.ID), clean(s.Outcome), ms(s.DurationMS))
		if s.Detail != "" {
			line += "  " + clean(s.Detail)
		}
		b.WriteString(line + "\n")
	}
	fmt.Fprintf(b, "  window: %s\n", rehearsalWindow(rh))
	if d := rehearsalDirectory(rh); d != "" {
		fmt.Fprintf(b, "  %s\n", clean(d))
	}
	color := ansiGreen
	if !rh.Production.Untouched {
		color = ansiRed
	}
	fmt.Fprintf(b, "  %s\n", t.paint(color, clean(rehearsalProduction(rh))))
	if rh.Transcripts != "" {
		fmt.Fprintf(b, "  installer transcripts: %s\n", clean(rh.Transcripts))
	}
}

// rehearsalMarkdown writes the section for the Markdown report.
func rehearsalMarkdown(b *bytes.Buffer, rh *judgement.Rehearsal) {
	fmt.Fprintf(b, "\n## Rehearsal: %s\n\n", mdEscape(rehearsalVerdict(rh)))
	fmt.Fprintf(b, "remediate would exit %d on this host; %s.\n\n", rh.RemediateExitCode, mdEscape(rehearsalWindow(rh)))
	b.WriteString("| Step | Outcome | Time | Detail |\n|---|---|---:|---|\n")
	for _, s := range rh.Steps {
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", mdCode(s.ID), mdEscape(s.Outcome), ms(s.DurationMS), mdEscape(s.Detail))
	}
	if d := rehearsalDirectory(rh); d != "" {
		fmt.Fprintf(b, "\n%s\n", mdEscape(d))
	}
	fmt.Fprintf(b, "\n%s\n", mdEscape(rehearsalProduction(rh)))
}

// rehearsalSuite is the JUnit suite of the rehearsal: a test case per
// step, failed and undone steps failures, skipped ones skipped.
func rehearsalSuite(rh *judgement.Rehearsal) junitSuite {
	s := junitSuite{Name: "rehearsal", Time: strconv.FormatFloat(float64(rh.RunMS)/1000, 'f', 3, 64)}
	s.Properties = []junitProperty{
		{Name: "remediate_exit_code", Value: strconv.Itoa(rh.RemediateExitCode)},
		{Name: "downtime_ms", Value: strconv.FormatInt(rh.DowntimeMS, 10)},
		{Name: "production_untouched", Value: strconv.FormatBool(rh.Production.Untouched)},
	}
	if d := rh.Directory; d != nil {
		s.Properties = append(s.Properties, junitProperty{Name: "scratch_directory", Value: d.URL})
	}
	for _, st := range rh.Steps {
		c := junitCase{Name: st.ID, Classname: "msguard.rehearsal." + st.Outcome}
		switch st.Outcome {
		case "failed":
			c.Failure = &junitOutcome{Message: st.Detail, Type: "failed", Body: junitEscape(st.Detail)}
		case "skip":
			c.Skipped = &junitOutcome{Message: st.Detail}
		}
		s.add(c)
	}
	if !rh.Production.Untouched {
		s.add(junitCase{Name: "production untouched", Classname: "msguard.rehearsal",
			Failure: &junitOutcome{Message: rh.Production.Difference, Type: "production", Body: junitEscape(rh.Production.Difference)}})
	}
	return s
}

// rehearsalProperties is the SARIF run's property bag for the rehearsal.
func rehearsalProperties(rh *judgement.Rehearsal) map[string]any {
	steps := make([]map[string]any, 0, len(rh.Steps))
	for _, s := range rh.Steps {
		st := map[string]any{"id": s.ID, "outcome": s.Outcome, "durationMs": s.DurationMS}
		if s.Detail != "" {
			st["detail"] = s.Detail
		}
		steps = append(steps, st)
	}
	props := map[string]any{
		"remediateExitCode":   rh.RemediateExitCode,
		"downtimeMs":          rh.DowntimeMS,
		"runMs":               rh.RunMS,
		"productionUntouched": rh.Production.Untouched,
		"steps":               steps,
	}
	if d := rh.Directory; d != nil {
		props["scratchDirectory"] = map[string]any{"url": d.URL, "suffixes": d.Suffixes, "entries": d.Entries}
	}
	return props
}
