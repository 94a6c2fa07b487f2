package reports

import (
	"bytes"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"strings"
	"unicode"
)

// TextRenderer writes the report for a person at a terminal: a header, the
// findings grouped by outcome (error and deny first, then warn, waived and
// info), the facts errors, and a one-line summary last so it stays on screen.
type TextRenderer struct {
	// Color adds ANSI colours; leave it false for files and pipes.
	Color bool
}

// NewText returns a text renderer, with ANSI colours when color is true.
func NewText(color bool) TextRenderer { return TextRenderer{Color: color} }

// ANSI SGR sequences used by the coloured output.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiDim    = "\x1b[2m"
	ansiRed    = "\x1b[1;31m"
	ansiGreen  = "\x1b[1;32m"
	ansiYellow = "\x1b[1;33m"
	ansiCyan   = "\x1b[36m"
)

// outcomeColor is the colour of each outcome's heading and tag.
var outcomeColor = map[string]string{
	outcomeError:  ansiRed,
	outcomeDeny:   ansiRed,
	outcomeWarn:   ansiYellow,
	outcomeWaived: ansiCyan,
	outcomeInfo:   ansiDim,
	outcomeSkip:   ansiDim,
}

// outcomeHeading is the section title of each outcome group.
var outcomeHeading = map[string]string{
	outcomeError:  "ERRORS (could not judge)",
	outcomeDeny:   "DENIED",
	outcomeWarn:   "WARNINGS",
	outcomeWaived: "WAIVED",
	outcomeInfo:   "INFO",
	outcomeSkip:   "SKIPPED (not checked)",
}

// Render writes r as text.
func (t TextRenderer) Render(w io.Writer, r *judgement.Report) error {
	var b bytes.Buffer
	t.header(&b, r)
	for _, g := range grouped(r) {
		fmt.Fprintf(&b, "\n%s\n", t.paint(outcomeColor[g.Outcome], fmt.Sprintf("%s (%d)", outcomeHeading[g.Outcome], len(g.Findings))))
		for i := range g.Findings {
			t.finding(&b, g.Outcome, &g.Findings[i])
		}
	}
	if len(r.FactsErrors) > 0 {
		fmt.Fprintf(&b, "\n%s\n", t.paint(ansiRed, fmt.Sprintf("FACTS ERRORS (%d)", len(r.FactsErrors))))
		for _, fe := range r.FactsErrors {
			fmt.Fprintf(&b, "  %s: %s\n", clean(fe.Collector), indentRest(clean(fe.Error), "    "))
		}
	}
	if r.MailFlow != nil {
		fmt.Fprintf(&b, "\n%s\n", t.paint(ansiBold, "MAIL FLOW"))
		for _, l := range mailflowLines(r.MailFlow) {
			fmt.Fprintf(&b, "  %s\n", clean(l))
		}
	}
	if r.Rehearsal != nil {
		t.rehearsalText(&b, r.Rehearsal)
	}
	fmt.Fprintf(&b, "\n%s\n", t.paint(verdictColor(r.Verdict), summaryLine(r)))
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

// header writes who, where, which phase and the verdict.
func (t TextRenderer) header(b *bytes.Buffer, r *judgement.Report) {
	fmt.Fprintf(b, "%s\n", t.paint(ansiBold, "msguard "+reportTitle(r)))
	fmt.Fprintf(b, "  host:        %s\n", clean(r.Host))
	fmt.Fprintf(b, "  server root: %s\n", clean(r.ServerRoot))
	fmt.Fprintf(b, "  phase:       %s\n", clean(r.Phase))
	if r.RunID != "" {
		fmt.Fprintf(b, "  run:         %s\n", clean(r.RunID))
	}
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(b, "  finished:    %s\n", r.FinishedAt.Format(timeLayout))
	}
	fmt.Fprintf(b, "  verdict:     %s\n", t.paint(verdictColor(r.Verdict), verdictLabel(clean(r.Verdict))))
}

// finding writes one finding: tag, key and title, then its details indented.
func (t TextRenderer) finding(b *bytes.Buffer, o string, f *judgement.Finding) {
	tag := "[" + clean(f.Severity) + "]"
	if o == outcomeWaived {
		tag = "[waived " + clean(f.Severity) + "]"
	}
	fmt.Fprintf(b, "  %s %s", t.paint(outcomeColor[o], tag), t.paint(ansiBold, clean(f.Key)))
	if f.Title != "" {
		fmt.Fprintf(b, ": %s", clean(f.Title))
	}
	b.WriteString("\n")
	const ind = "      "
	if f.Msg != "" {
		fmt.Fprintf(b, "%s%s\n", ind, indentRest(clean(f.Msg), ind))
	}
	if f.Actual != "" {
		fmt.Fprintf(b, "%sactual:   %s\n", ind, indentRest(clean(f.Actual), ind+"          "))
	}
	if f.Expected != "" {
		fmt.Fprintf(b, "%sexpected: %s\n", ind, indentRest(clean(f.Expected), ind+"          "))
	}
	if f.Waived != nil {
		fmt.Fprintf(b, "%swaived:   %s\n", ind, indentRest(clean(waiverText(f.Waived)), ind+"          "))
	}
	if len(f.Remediation) > 0 {
		fmt.Fprintf(b, "%sremediation:\n", ind)
		for _, rm := range f.Remediation {
			line := clean(remediationLine(rm))
			if rm.Type == "command" {
				line = t.paint(ansiBold, line)
			}
			fmt.Fprintf(b, "%s  %s\n", ind, indentRest(line, ind+"    "))
		}
	}
}

// paint wraps s in an ANSI colour when colours are on.
func (t TextRenderer) paint(color, s string) string {
	if !t.Color || color == "" {
		return s
	}
	return color + s + ansiReset
}

// verdictColor is green for ready/healthy, red otherwise.
func verdictColor(v string) string {
	if verdictClass(v) == "ok" {
		return ansiGreen
	}
	return ansiRed
}

// indentRest indents every line of s after the first, so a multi-line message
// stays under its finding.
func indentRest(s, ind string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+ind)
}

// clean makes host-provided text safe for a terminal: control characters
// other than newline and tab (an ESC in a log line, say) are shown as \xNN
// instead of being sent to the terminal.
func clean(s string) string {
	if strings.IndexFunc(s, isControl) < 0 {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		if isControl(c) {
			fmt.Fprintf(&b, "\\x%02x", c)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// isControl reports a control character other than newline and tab.
func isControl(c rune) bool {
	return c != '\n' && c != '\t' && unicode.IsControl(c)
}
