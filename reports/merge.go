package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
)

// FleetSchema identifies the merged JSON document that `msguard report` writes
// with several --from and --format json. It only adds to contract.md: every
// host's msguard.report/v1 document is carried whole in "reports".
const FleetSchema = "msguard.fleet/v1"

// topFindings is how many finding keys a fleet row names.
const topFindings = 3

// Fleet is several saved reports (hosts, server roots, phases) merged into one
// view: one row per report, the totals, and the worst verdict and exit code.
// Merge builds it; the Fleet renderers write it as one table (text, markdown,
// html), one JUnit file with a testsuite per host and phase, one SARIF log
// with a run per report, or the msguard.fleet/v1 JSON document.
//
// The exit code is the worst of the inputs: 3 when any report is not ready or
// unhealthy (or its judgement failed, or it carries an exit code that is not a
// verdict: unknown never passes), else 4 when any report exited 4 (each input's
// exit_code keeps the --fail-on-warn of its own run), else 0.
type Fleet struct {
	Schema string `json:"schema"`
	// Verdict is "error" when any judgement failed, else not_ready (unhealthy
	// when every report is a postflight or audit) when any report is, else
	// ready (healthy).
	Verdict  string            `json:"verdict"`
	ExitCode int               `json:"exit_code"`
	Summary  judgement.Summary `json:"summary"` // the sum of every report's summary
	// Rows are the table: one per report, in the order of Reports.
	Rows []FleetRow `json:"hosts"`
	// Reports are the merged reports, sorted by host, server root, phase and
	// start time so the output does not depend on the order of --from.
	Reports []*judgement.Report `json:"reports"`
}

// FleetRow is one line of the fleet table: one report.
type FleetRow struct {
	Host       string            `json:"host"`
	ServerRoot string            `json:"server_root"`
	Phase      string            `json:"phase"`
	Verdict    string            `json:"verdict"`
	ExitCode   int               `json:"exit_code"`
	Summary    judgement.Summary `json:"summary"`
	// Top holds up to three unwaived error, deny and warn keys, the most
	// serious first; More counts the ones left out.
	Top  []string `json:"top_findings"`
	More int      `json:"more_findings"`
	// Suite is the row's name in JUnit and elsewhere: "HOST/PHASE", with the
	// server root (and then a number) added when two rows would share it.
	Suite string `json:"suite"`
}

// Merge builds the fleet view of reports. The reports are not modified; the
// fleet keeps pointers to them.
func Merge(rs ...*judgement.Report) *Fleet {
	f := &Fleet{Schema: FleetSchema, Reports: append([]*judgement.Report(nil), rs...)}
	sort.SliceStable(f.Reports, func(i, j int) bool {
		a, b := f.Reports[i], f.Reports[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.ServerRoot != b.ServerRoot {
			return a.ServerRoot < b.ServerRoot
		}
		if a.Phase != b.Phase {
			return a.Phase < b.Phase
		}
		return a.StartedAt.Before(b.StartedAt)
	})
	names := suiteNames(f.Reports)
	worst, health := exitcode.OK, len(f.Reports) > 0
	failed := false
	for i, r := range f.Reports {
		row := FleetRow{
			Host: r.Host, ServerRoot: r.ServerRoot, Phase: r.Phase, Verdict: r.Verdict,
			ExitCode: r.ExitCode, Summary: r.Summary, Top: []string{}, Suite: names[i],
		}
		for _, fd := range ordered(r) {
			if o := outcome(&fd); o != outcomeError && o != outcomeDeny && o != outcomeWarn {
				continue
			}
			if len(row.Top) < topFindings {
				row.Top = append(row.Top, fd.Key)
			} else {
				row.More++
			}
		}
		f.Rows = append(f.Rows, row)
		addSummary(&f.Summary, r.Summary)
		if r.Phase != "postflight" && r.Phase != "audit" {
			health = false
		}
		if r.Verdict == judgement.VerdictError {
			failed = true
		}
		worst = worse(worst, reportCode(r))
	}
	f.ExitCode = worst
	switch {
	case failed:
		f.Verdict = judgement.VerdictError
	case worst == exitcode.NotReady && health:
		f.Verdict = judgement.VerdictUnhealthy
	case worst == exitcode.NotReady:
		f.Verdict = judgement.VerdictNotReady
	case health:
		f.Verdict = judgement.VerdictHealthy
	default:
		f.Verdict = judgement.VerdictReady
	}
	return f
}

// reportCode is the exit code one report contributes to the fleet: 3 for a
// blocking verdict or an exit code that is no verdict, else its own 0 or 4.
func reportCode(r *judgement.Report) int {
	switch r.Verdict {
	case judgement.VerdictReady, judgement.VerdictHealthy:
	default:
		return exitcode.NotReady
	}
	switch r.ExitCode {
	case exitcode.OK, exitcode.WarnOnly:
		return r.ExitCode
	default:
		return exitcode.NotReady
	}
}

// worse returns the worse of two fleet exit codes (3 > 4 > 0).
func worse(a, b int) int {
	rank := func(c int) int {
		switch c {
		case exitcode.OK:
			return 0
		case exitcode.WarnOnly:
			return 1
		default:
			return 2
		}
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// addSummary adds s to sum.
func addSummary(sum *judgement.Summary, s judgement.Summary) {
	sum.Deny += s.Deny
	sum.Warn += s.Warn
	sum.Pass += s.Pass
	sum.Waived += s.Waived
	sum.Error += s.Error
}

// suiteNames names each report "HOST/PHASE", adding " (SERVER_ROOT)" where two
// reports would share a name, then " #N" where they still would.
func suiteNames(rs []*judgement.Report) []string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = orUnknown(r.Host) + "/" + orUnknown(r.Phase)
	}
	dups := func() map[string]int {
		n := map[string]int{}
		for _, s := range names {
			n[s]++
		}
		return n
	}
	d := dups()
	for i, r := range rs {
		if d[names[i]] > 1 {
			names[i] += " (" + orUnknown(r.ServerRoot) + ")"
		}
	}
	d = dups()
	seen := map[string]int{}
	for i := range names {
		if d[names[i]] > 1 {
			base := names[i]
			seen[base]++
			names[i] = base + " #" + strconv.Itoa(seen[base])
		}
	}
	return names
}

// orUnknown shows an empty field as "unknown".
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Hosts counts the distinct host names of the fleet.
func (f *Fleet) Hosts() int {
	seen := map[string]bool{}
	for _, r := range f.Reports {
		seen[r.Host] = true
	}
	return len(seen)
}

// summaryLine is the fleet's one-line summary, e.g. "fleet verdict
// not_ready: 2 reports, 2 hosts: 1 deny, 9 warn, 0 error, 0 waived, 60 pass;
// exit code 3".
func (f *Fleet) summaryLine() string {
	s := f.Summary
	return fmt.Sprintf("fleet verdict %s: %d reports, %d hosts: %d deny, %d warn, %d error, %d waived, %d pass; exit code %d",
		f.Verdict, len(f.Reports), f.Hosts(), s.Deny, s.Warn, s.Error, s.Waived, s.Pass, f.ExitCode)
}

// DecodeFleet reads a msguard.fleet/v1 document and checks the schema of
// every report it carries. The rows are rebuilt from the reports.
func DecodeFleet(rd io.Reader) (*Fleet, error) {
	var f Fleet
	if err := json.NewDecoder(rd).Decode(&f); err != nil {
		return nil, fmt.Errorf("decode fleet report: %w", err)
	}
	if f.Schema != FleetSchema {
		return nil, fmt.Errorf("fleet report schema %q is not %q", f.Schema, FleetSchema)
	}
	for i, r := range f.Reports {
		if r == nil || r.Schema != judgement.ReportSchema {
			return nil, fmt.Errorf("fleet report: reports[%d] is not a %q document", i, judgement.ReportSchema)
		}
	}
	return Merge(f.Reports...), nil
}

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

// FleetHTMLRenderer writes the fleet as one self-contained HTML page (inline
// CSS, no scripts, a Content-Security-Policy that forbids both): a verdict
// banner, the table with each row coloured by its verdict, and the blocking
// findings of each report. <meta name="msguard-verdict"> carries the fleet
// verdict. All report text goes through html/template escaping.
type FleetHTMLRenderer struct{}

// fleetHTMLView is what the fleet template sees.
type fleetHTMLView struct {
	F           *Fleet
	Label       string
	Class       string
	Hosts       int
	Rows        []fleetHTMLRow
	SummaryLine string
}

// fleetHTMLRow is one table row and its blocking findings.
type fleetHTMLRow struct {
	FleetRow
	Class    string
	Blocking []judgement.Finding
}

// fleetHTMLTemplate is parsed once; Must is fine because the text is a
// constant that the tests execute.
var fleetHTMLTemplate = template.Must(template.New("fleet").Parse(fleetHTMLSource))

// Render writes f as an HTML page.
func (FleetHTMLRenderer) Render(w io.Writer, f *Fleet) error {
	v := fleetHTMLView{F: f, Label: verdictLabel(f.Verdict), Class: verdictClass(f.Verdict), Hosts: f.Hosts(), SummaryLine: f.summaryLine()}
	for i, r := range f.Reports {
		row := fleetHTMLRow{FleetRow: f.Rows[i], Class: verdictClass(r.Verdict)}
		if row.Class == "ok" && r.ExitCode == exitcode.WarnOnly {
			row.Class = "warn"
		}
		for _, fd := range ordered(r) {
			if blocking(outcome(&fd)) {
				row.Blocking = append(row.Blocking, fd)
			}
		}
		v.Rows = append(v.Rows, row)
	}
	return renderPage(w, fleetHTMLTemplate, v, "html fleet report")
}

const fleetHTMLSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="msguard-verdict" content="{{.F.Verdict}}">
<title>msguard fleet report: {{len .F.Reports}} reports: {{.Label}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330; background: #f4f5f7; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.25rem 2rem; }
code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
.banner { padding: 1.25rem; color: #fff; }
.banner h1 { margin: 0 auto; max-width: 72rem; font-size: 2rem; letter-spacing: .04em; }
.banner p { margin: .35rem auto 0; max-width: 72rem; }
.banner.ok { background: #1f7a3a; }
.banner.bad { background: #b3261e; }
.banner.error { background: #6a3d9a; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #d0d4dc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
td.n { text-align: right; }
tr.ok td:first-child { border-left: 6px solid #1f7a3a; }
tr.warn td:first-child { border-left: 6px solid #c77c02; }
tr.bad td:first-child, tr.error td:first-child { border-left: 6px solid #b3261e; }
.msg { white-space: pre-wrap; overflow-wrap: anywhere; }
footer { border-top: 1px solid #d0d4dc; margin-top: 2rem; padding-top: .75rem; font-weight: 600; }
@media print { .banner { color: #000; border: 3px solid currentColor; } }
</style>
</head>
<body>
<header class="banner {{.Class}}" id="verdict">
<h1>{{.Label}}</h1>
<p>msguard fleet report: {{len .F.Reports}} reports, {{.Hosts}} hosts, exit code {{.F.ExitCode}}</p>
</header>
<main>
<section id="fleet">
<h2>Hosts</h2>
<table class="fleet">
<tr><th>Host</th><th>Server root</th><th>Phase</th><th>Verdict</th><th>deny</th><th>warn</th><th>error</th><th>waived</th><th>exit</th><th>Top findings</th></tr>
{{- range .Rows}}
<tr class="{{.Class}}" data-suite="{{.Suite}}"><td>{{.Host}}</td><td><code>{{.ServerRoot}}</code></td><td>{{.Phase}}</td><td>{{.Verdict}}</td><td class="n">{{.Summary.Deny}}</td><td class="n">{{.Summary.Warn}}</td><td class="n">{{.Summary.Error}}</td><td class="n">{{.Summary.Waived}}</td><td class="n">{{.ExitCode}}</td><td>{{range $i, $k := .Top}}{{if $i}}, {{end}}<code>{{$k}}</code>{{end}}{{if .More}} (+{{.More}} more){{end}}</td></tr>
{{- end}}
</table>
</section>
{{- range .Rows}}
{{- if .Blocking}}
<section class="blocking">
<h2>{{.Suite}}</h2>
<table>
<tr><th>Key</th><th>Severity</th><th>Title</th><th>Message</th></tr>
{{- range .Blocking}}
<tr data-key="{{.Key}}"><td><code>{{.Key}}</code></td><td>{{.Severity}}</td><td>{{.Title}}</td><td class="msg">{{.Msg}}</td></tr>
{{- end}}
</table>
</section>
{{- end}}
{{- end}}
<footer id="summary-line">{{.SummaryLine}}</footer>
</main>
</body>
</html>
`
