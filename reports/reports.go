// Package reports renders a judged report (judgement.Report) in the formats that
// people and CI read: text, json, junit, sarif, markdown and html. Each format
// lives in its own file behind the one Renderer interface; Get picks one by
// name.
//
// Every renderer is deterministic: the same report gives the same bytes, so
// outputs can be compared against golden files and archived with a ticket.
package reports

import (
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"sort"
	"strings"
)

// Renderer writes one report in one format.
type Renderer interface {
	Render(w io.Writer, r *judgement.Report) error
}

// formats maps each format name to a constructor of its default renderer.
var formats = map[string]func() Renderer{
	"text":     func() Renderer { return NewText(false) },
	"json":     func() Renderer { return JSONRenderer{} },
	"junit":    func() Renderer { return JUnitRenderer{} },
	"sarif":    func() Renderer { return SARIFRenderer{} },
	"markdown": func() Renderer { return MarkdownRenderer{} },
	"html":     func() Renderer { return HTMLRenderer{} },
}

// Formats lists the format names Get accepts, in the order --help shows them.
func Formats() []string {
	return []string{"text", "json", "junit", "sarif", "markdown", "html"}
}

// Get returns the renderer of a format. The text renderer it returns writes no
// colour; use NewText(true) for a terminal that wants it.
func Get(format string) (Renderer, error) {
	mk, ok := formats[format]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q (formats: %s)", format, strings.Join(Formats(), ", "))
	}
	return mk(), nil
}

// Outcomes of a finding, after waivers: the groups every format shows, in
// the order it shows them.
const (
	outcomeError  = "error"
	outcomeDeny   = "deny"
	outcomeWarn   = "warn"
	outcomeWaived = "waived"
	outcomeInfo   = "info"
	outcomeSkip   = "skip"
)

// outcomeOrder is the display order of the outcome groups: what blocks the
// upgrade first, what was only noted last.
var outcomeOrder = []string{outcomeError, outcomeDeny, outcomeWarn, outcomeWaived, outcomeSkip, outcomeInfo}

// outcome classifies a finding: a waiver wins over the severity, and an
// unknown severity is shown as a deny because unknown never passes.
func outcome(f *judgement.Finding) string {
	if f.Waived != nil {
		return outcomeWaived
	}
	switch f.Severity {
	case judgement.SeverityError:
		return outcomeError
	case judgement.SeverityWarn:
		return outcomeWarn
	case judgement.SeverityInfo:
		return outcomeInfo
	case judgement.SeveritySkip:
		return outcomeSkip
	default:
		return outcomeDeny
	}
}

// blocking reports whether an outcome makes the verdict not ready/unhealthy.
func blocking(o string) bool { return o == outcomeError || o == outcomeDeny }

// group is the findings of one outcome, in display order.
type group struct {
	Outcome  string
	Findings []judgement.Finding
}

// grouped returns the findings of r by outcome in outcomeOrder, each group
// sorted by key (stable, so findings with the same key keep their order).
// Empty groups are left out.
func grouped(r *judgement.Report) []group {
	by := map[string][]judgement.Finding{}
	for i := range r.Findings {
		o := outcome(&r.Findings[i])
		by[o] = append(by[o], r.Findings[i])
	}
	var out []group
	for _, o := range outcomeOrder {
		fs := by[o]
		if len(fs) == 0 {
			continue
		}
		sort.SliceStable(fs, func(i, j int) bool { return fs[i].Key < fs[j].Key })
		out = append(out, group{Outcome: o, Findings: fs})
	}
	return out
}

// ordered returns the findings of r flattened in display order.
func ordered(r *judgement.Report) []judgement.Finding {
	var out []judgement.Finding
	for _, g := range grouped(r) {
		out = append(out, g.Findings...)
	}
	return out
}

// summaryLine is the one-line summary every human format ends with, e.g.
// "verdict not_ready: 2 deny, 1 warn, 0 error, 1 waived, 27 pass".
func summaryLine(r *judgement.Report) string {
	s := r.Summary
	line := fmt.Sprintf("verdict %s: %d deny, %d warn, %d error, %d waived, %d pass",
		r.Verdict, s.Deny, s.Warn, s.Error, s.Waived, s.Pass)
	if s.Skipped > 0 {
		line += fmt.Sprintf(", %d skipped", s.Skipped)
	}
	return line
}

// verdictLabel is the verdict as a banner shows it ("NOT READY").
func verdictLabel(v string) string {
	if v == "" {
		return "UNKNOWN"
	}
	return strings.ToUpper(strings.ReplaceAll(v, "_", " "))
}

// verdictClass sorts a verdict into "ok" (ready, healthy), "bad" (not ready,
// unhealthy) or "error" (the judgement failed, or an unknown verdict).
func verdictClass(v string) string {
	switch v {
	case judgement.VerdictReady, judgement.VerdictHealthy:
		return "ok"
	case judgement.VerdictNotReady, judgement.VerdictUnhealthy:
		return "bad"
	default:
		return "error"
	}
}

// remediationText joins the remediation of a finding into one line, commands
// prefixed with "$ "; it is empty when the finding has none.
func remediationText(f *judgement.Finding) string {
	parts := make([]string, 0, len(f.Remediation))
	for _, rm := range f.Remediation {
		parts = append(parts, remediationLine(rm))
	}
	return strings.Join(parts, "; ")
}

// remediationLine is one remediation step as plain text.
func remediationLine(rm judgement.Remediation) string {
	if rm.Type == "command" {
		return "$ " + rm.Text
	}
	return rm.Text
}

// waiverText describes a waiver: "reason (approver, expires YYYY-MM-DD)".
func waiverText(w *judgement.Waived) string {
	return fmt.Sprintf("%s (%s, expires %s)", w.Reason, w.Approver, w.Expires)
}

// timeLayout is how the human formats print times: RFC 3339 in the zone the
// report carries, so output does not depend on the machine's zone.
const timeLayout = "2006-01-02T15:04:05Z07:00"
