// The Fleet renderers of `msguard report --from ... --from ...`: text,
// JSON, JUnit, SARIF and markdown (HTML is in fleet_html.go).

package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/judgement"
)

// FleetRenderer writes a merged fleet in one format.
type FleetRenderer interface {
	Render(w io.Writer, f *Fleet) error
}

// fleetFormats maps each format name to its fleet renderer.
var fleetFormats = map[string]FleetRenderer{
	"text":     FleetTextRenderer{},
	"json":     FleetJSONRenderer{},
	"junit":    FleetJUnitRenderer{},
	"sarif":    FleetSARIFRenderer{},
	"markdown": FleetMarkdownRenderer{},
	"html":     FleetHTMLRenderer{},
}

// GetFleet returns the fleet renderer of a format (the names of Formats).
// The text renderer it returns writes no colour.
func GetFleet(format string) (FleetRenderer, error) {
	rd, ok := fleetFormats[format]
	if !ok {
		return nil, fmt.Errorf("unknown report format %q (formats: %s)", format, strings.Join(Formats(), ", "))
	}
	return rd, nil
}

// FleetTextRenderer writes the fleet for a terminal: a header, the table (one
// row per report), the blocking findings of each row, and the summary last.
type FleetTextRenderer struct {
	// Color adds ANSI colours; leave it false for files and pipes.
	Color bool
}

// Render writes f as text.
func (t FleetTextRenderer) Render(w io.Writer, f *Fleet) error {
	p := TextRenderer{Color: t.Color}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n", p.paint(ansiBold, fmt.Sprintf("msguard fleet report: %d reports, %d hosts", len(f.Reports), f.Hosts())))
	fmt.Fprintf(&b, "  verdict: %s\n\n", p.paint(verdictColor(f.Verdict), verdictLabel(f.Verdict)))
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSERVER ROOT\tPHASE\tVERDICT\tDENY\tWARN\tERROR\tWAIVED\tEXIT\tTOP FINDINGS")
	for _, r := range f.Rows {
		// Colour is left out of the table: escape codes would skew tabwriter.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", cell(r.Host), cell(r.ServerRoot), cell(r.Phase),
			cell(r.Verdict), r.Summary.Deny, r.Summary.Warn, r.Summary.Error, r.Summary.Waived, r.ExitCode, topText(r))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write text fleet report: %w", err)
	}
	for i, r := range f.Reports {
		var blockers []judgement.Finding
		for _, fd := range ordered(r) {
			if blocking(outcome(&fd)) {
				blockers = append(blockers, fd)
			}
		}
		if len(blockers) == 0 && len(r.FactsErrors) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", p.paint(ansiRed, clean(f.Rows[i].Suite)))
		for _, fd := range blockers {
			fmt.Fprintf(&b, "  [%s] %s: %s\n", clean(fd.Severity), clean(fd.Key), indentRest(clean(fd.Msg), "      "))
		}
		for _, fe := range r.FactsErrors {
			fmt.Fprintf(&b, "  [facts error] %s: %s\n", clean(fe.Collector), indentRest(clean(fe.Error), "      "))
		}
	}
	fmt.Fprintf(&b, "\n%s\n", p.paint(verdictColor(f.Verdict), f.summaryLine()))
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write text fleet report: %w", err)
	}
	return nil
}

// cell is host text for one table cell: no control characters, no line
// breaks or tabs, "-" when empty.
func cell(s string) string {
	s = strings.NewReplacer("\n", " ", "\t", " ").Replace(clean(s))
	if s == "" {
		return "-"
	}
	return s
}

// topText is the top findings of a row as one line: "a, b, c (+2 more)".
func topText(r FleetRow) string {
	if len(r.Top) == 0 {
		return "-"
	}
	s := cell(strings.Join(r.Top, ", "))
	if r.More > 0 {
		s += fmt.Sprintf(" (+%d more)", r.More)
	}
	return s
}

// FleetJSONRenderer writes the msguard.fleet/v1 document: the fleet verdict,
// exit code and totals, the table rows, and every report whole.
type FleetJSONRenderer struct{}

// Render writes f as indented JSON.
func (FleetJSONRenderer) Render(w io.Writer, f *Fleet) error {
	out := *f
	if out.Rows == nil {
		out.Rows = []FleetRow{}
	}
	out.Reports = make([]*judgement.Report, len(f.Reports))
	for i, r := range f.Reports {
		c := *r // shallow copy: f's reports are not modified
		if c.Findings == nil {
			c.Findings = []judgement.Finding{}
		}
		if c.FactsErrors == nil {
			c.FactsErrors = []facts.FactsError{}
		}
		out.Reports[i] = &c
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write json fleet report: %w", err)
	}
	return nil
}

// FleetJUnitRenderer writes one JUnit file for the fleet: one
// <testsuite name="HOST/PHASE"> per report (FleetRow.Suite), each finding and
// passed key a <testcase name="KEY" classname="HOST">, with the outcomes of
// JUnitRenderer (deny and error fail, warn and waived are skipped). Each
// suite carries the report's host, server root, verdict and exit code as
// properties, and its facts errors in <system-err>.
type FleetJUnitRenderer struct{}

// Render writes f as JUnit XML.
func (FleetJUnitRenderer) Render(w io.Writer, f *Fleet) error {
	doc := junitSuites{Name: "msguard fleet", Time: "0.000"}
	var total float64
	for i, r := range f.Reports {
		s := junitSuite{Name: f.Rows[i].Suite, Time: "0.000", Hostname: r.Host}
		if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
			d := r.FinishedAt.Sub(r.StartedAt).Seconds()
			total += d
			s.Time = strconv.FormatFloat(d, 'f', 3, 64)
		}
		if !r.StartedAt.IsZero() {
			s.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
		}
		s.Properties = []junitProperty{
			{Name: "host", Value: r.Host},
			{Name: "server_root", Value: r.ServerRoot},
			{Name: "phase", Value: r.Phase},
			{Name: "verdict", Value: r.Verdict},
			{Name: "exit_code", Value: strconv.Itoa(r.ExitCode)},
			{Name: "run_id", Value: r.RunID},
			{Name: "msguard_version", Value: r.Tool.Version},
		}
		for _, fd := range ordered(r) {
			c := junitCaseOf(r.Phase, &fd)
			c.Classname = r.Host
			s.add(c)
		}
		passed := append([]string(nil), r.Passed...)
		sort.Strings(passed)
		for _, k := range passed {
			s.add(junitCase{Name: k, Classname: r.Host})
		}
		var errs []string
		for _, fe := range r.FactsErrors {
			errs = append(errs, "facts error: "+fe.Collector+": "+fe.Error)
		}
		if len(errs) > 0 {
			s.SystemErr = &junitText{Inner: junitEscape(strings.Join(errs, "\n"))}
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = strconv.FormatFloat(total, 'f', 3, 64)
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit fleet report: %w", err)
	}
	b.WriteString("\n")
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write junit fleet report: %w", err)
	}
	return nil
}

// FleetSARIFRenderer writes one SARIF 2.1.0 log with one run per report (the
// run of SARIFRenderer). Each run's automationDetails category names the
// phase and host ("msguard/PHASE/HOST/RUN_ID"), so code scanning keeps the
// hosts' results apart.
type FleetSARIFRenderer struct{}

// Render writes f as a SARIF log.
func (FleetSARIFRenderer) Render(w io.Writer, f *Fleet) error {
	doc := sarifLog{Schema: sarifSchemaURI, Version: "2.1.0", Runs: []sarifRun{}}
	for _, r := range f.Reports {
		for _, run := range sarifDocument(r).Runs {
			run.AutomationDetails = &sarifAutomation{ID: "msguard/" + orUnknown(r.Phase) + "/" + orUnknown(r.Host) + "/" + r.RunID}
			doc.Runs = append(doc.Runs, run)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write sarif fleet report: %w", err)
	}
	return nil
}

// FleetMarkdownRenderer writes the fleet as GitHub-flavoured Markdown: the
// verdict, the table, and the blocking findings of each report. Host text is
// escaped as in MarkdownRenderer.
type FleetMarkdownRenderer struct{}

// Render writes f as Markdown.
func (FleetMarkdownRenderer) Render(w io.Writer, f *Fleet) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# msguard fleet report: %d reports, %d hosts\n\n", len(f.Reports), f.Hosts())
	fmt.Fprintf(&b, "**Verdict: %s** (%s, exit code %d)\n\n", mdEscape(verdictLabel(f.Verdict)), mdCode(f.Verdict), f.ExitCode)
	b.WriteString("| Host | Server root | Phase | Verdict | Deny | Warn | Error | Waived | Exit | Top findings |\n")
	b.WriteString("|---|---|---|---|---:|---:|---:|---:|---:|---|\n")
	for _, r := range f.Rows {
		top := make([]string, len(r.Top))
		for i, k := range r.Top {
			top[i] = mdCode(k)
		}
		t := strings.Join(top, ", ")
		if r.More > 0 {
			t += fmt.Sprintf(" (+%d more)", r.More)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %d | %d | %d | %d | %s |\n", mdEscape(r.Host), mdCode(r.ServerRoot),
			mdEscape(r.Phase), mdCode(r.Verdict), r.Summary.Deny, r.Summary.Warn, r.Summary.Error, r.Summary.Waived, r.ExitCode, t)
	}
	s := f.Summary
	fmt.Fprintf(&b, "| **total** | | | %s | %d | %d | %d | %d | %d | |\n", mdCode(f.Verdict), s.Deny, s.Warn, s.Error, s.Waived, f.ExitCode)
	for i, r := range f.Reports {
		var rows []string
		for _, fd := range ordered(r) {
			if blocking(outcome(&fd)) {
				rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |", mdCode(fd.Key), mdSeverity(&fd), mdEscape(fd.Title), mdFindingMsg(&fd)))
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n| Key | Severity | Title | Message |\n|---|---|---|---|\n%s\n", mdEscape(f.Rows[i].Suite), strings.Join(rows, "\n"))
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write markdown fleet report: %w", err)
	}
	return nil
}
