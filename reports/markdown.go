package reports

import (
	"bytes"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"strings"
)

// MarkdownRenderer writes the report as GitHub-flavoured Markdown for a change
// ticket: title, verdict line, run details, a summary table, a findings table,
// the remediation of each finding, the waived findings with reason, approver
// and expiry, and the facts errors.
//
// Text from the host is escaped: Markdown punctuation gets a backslash, and
// <, > and & become entities, so a message cannot inject markup or HTML.
type MarkdownRenderer struct{}

// Render writes r as Markdown.
func (MarkdownRenderer) Render(w io.Writer, r *judgement.Report) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# msguard %s: %s\n\n", mdEscape(reportTitle(r)), mdEscape(r.Host))
	fmt.Fprintf(&b, "**Verdict: %s** (%s, exit code %d)\n\n", mdEscape(verdictLabel(r.Verdict)), mdCode(r.Verdict), r.ExitCode)

	b.WriteString("| | |\n|---|---|\n")
	row := func(label, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", label, v)
		}
	}
	row("Host", mdEscape(r.Host))
	row("Server root", mdCode(r.ServerRoot))
	row("Phase", mdEscape(r.Phase))
	row("Run", mdCode(r.RunID))
	if !r.StartedAt.IsZero() {
		row("Started", r.StartedAt.Format(timeLayout))
	}
	if !r.FinishedAt.IsZero() {
		row("Finished", r.FinishedAt.Format(timeLayout))
	}
	row("msguard", mdEscape(r.Tool.Version))

	s := r.Summary
	b.WriteString("\n## Summary\n\n")
	if s.Skipped > 0 {
		b.WriteString("| deny | error | warn | waived | skipped | pass |\n|---:|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d |\n", s.Deny, s.Error, s.Warn, s.Waived, s.Skipped, s.Pass)
	} else {
		b.WriteString("| deny | error | warn | waived | pass |\n|---:|---:|---:|---:|---:|\n")
		fmt.Fprintf(&b, "| %d | %d | %d | %d | %d |\n", s.Deny, s.Error, s.Warn, s.Waived, s.Pass)
	}
	if r.MailFlow != nil {
		b.WriteString("\n## Mail flow\n\n")
		if r.MailFlow.Skipped != "" {
			fmt.Fprintf(&b, "Not probed: %s\n", mdEscape(r.MailFlow.Skipped))
		} else {
			fmt.Fprintf(&b, "%s\n\n", mdEscape(mailflowProbe(r.MailFlow)))
			b.WriteString("| Leg | Result | Latency | Server | Detail |\n|---|---|---:|---|---|\n")
			for _, l := range mailflowLegs(r.MailFlow) {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(l.Name), mdEscape(l.Result), l.Latency, mdEscape(l.Server), mdEscape(l.Detail))
			}
		}
	}

	findings := ordered(r)
	b.WriteString("\n## Findings\n\n")
	if len(findings) == 0 {
		b.WriteString("No findings.\n")
	} else {
		b.WriteString("| Key | Severity | Title | Message |\n|---|---|---|---|\n")
		for i := range findings {
			f := &findings[i]
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCode(f.Key), mdSeverity(f), mdEscape(f.Title), mdFindingMsg(f))
		}
	}

	if hasRemediation(findings) {
		b.WriteString("\n## Remediation\n")
		for i := range findings {
			f := &findings[i]
			if len(f.Remediation) == 0 {
				continue
			}
			fmt.Fprintf(&b, "\n### %s", mdCode(f.Key))
			if f.Title != "" {
				fmt.Fprintf(&b, ": %s", mdEscape(f.Title))
			}
			b.WriteString("\n\n")
			for _, rm := range f.Remediation {
				if rm.Type == "command" {
					b.WriteString("- " + mdFence(rm.Text, "  "))
				} else {
					fmt.Fprintf(&b, "- %s\n", mdEscape(rm.Text))
				}
			}
		}
	}

	var waived []judgement.Finding
	for _, f := range findings {
		if f.Waived != nil {
			waived = append(waived, f)
		}
	}
	if len(waived) > 0 {
		b.WriteString("\n## Waived\n\n")
		b.WriteString("| Key | Severity | Reason | Approver | Expires |\n|---|---|---|---|---|\n")
		for _, f := range waived {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCode(f.Key), mdEscape(f.Severity),
				mdEscape(f.Waived.Reason), mdEscape(f.Waived.Approver), mdEscape(f.Waived.Expires))
		}
	}

	if len(r.FactsErrors) > 0 {
		b.WriteString("\n## Facts errors\n\n")
		b.WriteString("Facts that could not be collected are never a pass.\n\n")
		b.WriteString("| Collector | Error |\n|---|---|\n")
		for _, fe := range r.FactsErrors {
			fmt.Fprintf(&b, "| %s | %s |\n", mdCode(fe.Collector), mdEscape(fe.Error))
		}
	}

	if r.Rehearsal != nil {
		rehearsalMarkdown(&b, r.Rehearsal)
	}
	fmt.Fprintf(&b, "\n---\n\n%s\n", mdEscape(summaryLine(r)))
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

// mdSeverity is the severity cell: "deny", or "deny (waived)".
func mdSeverity(f *judgement.Finding) string {
	if f.Waived != nil {
		return mdEscape(f.Severity) + " (waived)"
	}
	return mdEscape(f.Severity)
}

// mdFindingMsg is the message cell, with actual and expected when set.
func mdFindingMsg(f *judgement.Finding) string {
	s := mdEscape(f.Msg)
	if f.Actual != "" {
		s += "<br>actual: " + mdCode(f.Actual)
	}
	if f.Expected != "" {
		s += "<br>expected: " + mdCode(f.Expected)
	}
	return s
}

// hasRemediation reports whether any finding has remediation steps.
func hasRemediation(fs []judgement.Finding) bool {
	for i := range fs {
		if len(fs[i].Remediation) > 0 {
			return true
		}
	}
	return false
}

// mdEscaper escapes inline Markdown: punctuation that starts emphasis, code,
// links, tables or HTML is backslash-escaped, and the HTML specials become
// entities (a backslash does not stop GitHub from reading <tag>).
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`|`, `\|`, `~`, `\~`, `#`, `\#`, `!`, `\!`,
	`&`, `&amp;`, `<`, `&lt;`, `>`, `&gt;`,
)

// mdEscape makes host text inline Markdown that shows as itself. Line breaks
// become <br> so the text stays in its table cell or list item.
func mdEscape(s string) string {
	s = mdEscaper.Replace(strings.TrimRight(s, "\n"))
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "<br>")
}

// mdCode renders s as an inline code span. Inside a code span nothing is
// interpreted except the backticks that close it, so the span is delimited by
// one backtick more than the longest run in s. A code span cannot hold a line
// break or a table pipe, so those fall back to escaped text.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	if strings.ContainsAny(s, "\n|") {
		return mdEscape(s)
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// mdFence renders a command as a fenced sh block, literal whatever it holds.
// Every line after the first is indented by ind, so the block can sit in a
// list item.
func mdFence(s, ind string) string {
	fence := strings.Repeat("`", max(3, longestRun(s, '`')+1))
	body := strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+ind)
	return fence + "sh\n" + ind + body + "\n" + ind + fence + "\n"
}

// longestRun is the length of the longest run of c in s.
func longestRun(s string, c byte) int {
	longest, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			longest = max(longest, n)
		} else {
			n = 0
		}
	}
	return longest
}
