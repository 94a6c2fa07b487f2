package reports

import (
	"bytes"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"html/template"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// HTMLRenderer writes the report as one self-contained HTML page: inline CSS,
// no scripts, no external resources (a Content-Security-Policy forbids them
// too), so the file can be mailed or attached to a ticket and opened offline.
// The page has a verdict banner coloured by outcome, the summary, every
// finding with key, severity, title, message and remediation, the waived
// findings with reason, approver and expiry, the facts errors and the passed
// keys. <meta name="msguard-verdict"> carries the verdict for tools that
// scrape the page. All report text goes through html/template escaping.
//
// When Trend holds earlier runs (msguard audit with --history), the page
// also shows a small inline SVG chart of the deny, error and warn counts and
// the queue depth over those runs, with a legend: drawn by the browser from
// the markup alone, still without scripts or external resources. Each count
// has its own line width, dash and marker shape, so that lines that coincide
// (no deny, no error, no warn) all stay visible.
type HTMLRenderer struct {
	// Trend is the audit history, oldest first, the current run last
	// (empty: no trend section).
	Trend []TrendPoint
}

// TrendPoint is one run of an audit history as the trend chart shows it.
type TrendPoint struct {
	Time    time.Time
	Verdict string
	Deny    int // unwaived deny findings
	Error   int // error findings: facts that could not be gathered or judged
	Warn    int
	// Queue is the number of queued messages; -1 when it was not collected.
	Queue int64
}

// htmlView is what the template sees.
type htmlView struct {
	R           *judgement.Report
	Label       string
	Class       string
	Groups      []htmlGroup
	Passed      []htmlPassed
	Started     string
	Finished    string
	SummaryLine string
	Trend       *trendChart
	Rehearsal   *htmlRehearsal
	MailFlow    *htmlMailFlow
	Title       string
}

// htmlRehearsal is the rehearsal section (msguard rehearse).
type htmlRehearsal struct {
	Verdict, Window, Production, Transcripts string
	Directory                                string
	ExitCode                                 int
	Untouched                                bool
	Steps                                    []htmlRehearsalStep
}

type htmlRehearsalStep struct{ ID, Outcome, Time, Detail string }

func newHTMLRehearsal(rh *judgement.Rehearsal) *htmlRehearsal {
	if rh == nil {
		return nil
	}
	v := &htmlRehearsal{Verdict: rehearsalVerdict(rh), Window: rehearsalWindow(rh), Production: rehearsalProduction(rh),
		Transcripts: rh.Transcripts, ExitCode: rh.RemediateExitCode, Untouched: rh.Production.Untouched, Directory: rehearsalDirectory(rh)}
	for _, s := range rh.Steps {
		v.Steps = append(v.Steps, htmlRehearsalStep{ID: s.ID, Outcome: s.Outcome, Time: ms(s.DurationMS), Detail: s.Detail})
	}
	return v
}

// htmlPassed is one key of the Passed list: its title (from the report's
// passed_titles) and its reference in the docs.
type htmlPassed struct{ Key, Title, Ref string }

// KeyReference is the public reference of the finding keys (docs/runbook.md,
// section "Finding keys"): the HTML report links every passed key to it.
// It is a link for the reader to follow, not a resource the page loads.
const KeyReference = "https://github.com/msguard/msguard/blob/main/docs/runbook.md#finding-keys"

// passedList is the Passed section's rows, sorted by key.
func passedList(r *judgement.Report) []htmlPassed {
	keys := append([]string(nil), r.Passed...)
	sort.Strings(keys)
	out := make([]htmlPassed, 0, len(keys))
	for _, k := range keys {
		out = append(out, htmlPassed{Key: k, Title: r.PassedTitles[k], Ref: KeyReference})
	}
	return out
}

// htmlGroup is one outcome section.
type htmlGroup struct {
	Outcome  string
	Heading  string
	Blocking bool
	Findings []judgement.Finding
}

// htmlTemplate is parsed once; Must is fine because the text is a constant
// that the tests execute.
var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// Render writes r as an HTML page.
func (h HTMLRenderer) Render(w io.Writer, r *judgement.Report) error {
	v := htmlView{
		R:           r,
		Label:       verdictLabel(r.Verdict),
		Class:       verdictClass(r.Verdict),
		Passed:      passedList(r),
		SummaryLine: summaryLine(r),
		Trend:       newTrendChart(h.Trend),
		Rehearsal:   newHTMLRehearsal(r.Rehearsal),
		MailFlow:    newHTMLMailFlow(r.MailFlow),
		Title:       reportTitle(r),
	}
	if !r.StartedAt.IsZero() {
		v.Started = r.StartedAt.Format(timeLayout)
	}
	if !r.FinishedAt.IsZero() {
		v.Finished = r.FinishedAt.Format(timeLayout)
	}
	for _, g := range grouped(r) {
		v.Groups = append(v.Groups, htmlGroup{
			Outcome: g.Outcome, Heading: outcomeHeading[g.Outcome],
			Blocking: blocking(g.Outcome), Findings: g.Findings,
		})
	}
	return renderPage(w, htmlTemplate, v, "html report")
}

// renderPage executes tmpl with v into a buffer first, so that a template
// error leaves no half page, then writes it to w; what names the page in
// errors.
func renderPage(w io.Writer, tmpl *template.Template, v any, what string) error {
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return fmt.Errorf("render %s: %w", what, err)
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	return nil
}

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="msguard-verdict" content="{{.R.Verdict}}">
<title>msguard {{.Title}}: {{.R.Host}}: {{.Label}}</title>
<style>
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d2330; background: #f4f5f7; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem 1.25rem 2rem; }
code, pre { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
h1, h2, h3 { line-height: 1.2; }
.banner { padding: 1.25rem; color: #fff; }
.banner h1 { margin: 0 auto; max-width: 60rem; font-size: 2rem; letter-spacing: .04em; }
.banner p { margin: .35rem auto 0; max-width: 60rem; }
.banner.ok { background: #1f7a3a; }
.banner.bad { background: #b3261e; }
.banner.error { background: #6a3d9a; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #d0d4dc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
table.counts td { text-align: right; font-weight: 600; min-width: 3.5rem; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; }
dl.run dt { color: #5a6272; }
dl.run dd { margin: 0; }
.finding { background: #fff; border: 1px solid #d0d4dc; border-left: 6px solid #8a91a0; border-radius: 4px; padding: .6rem 1rem; margin: .75rem 0; }
.finding.error, .finding.deny { border-left-color: #b3261e; }
.finding.warn { border-left-color: #c77c02; }
.finding.waived { border-left-color: #2c6bb3; }
.finding h3 { margin: .2rem 0 .4rem; font-size: 1.05rem; }
.msg, .why, pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.why { color: #5a6272; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 3px; color: #fff; background: #8a91a0; font-size: .8rem; text-transform: uppercase; vertical-align: middle; }
.badge.error, .badge.deny { background: #b3261e; }
.badge.warn { background: #c77c02; }
.badge.waived { background: #2c6bb3; }
.waiver { background: #eaf1fb; border-radius: 3px; padding: .4rem .6rem; }
pre { background: #1d2330; color: #f4f5f7; padding: .45rem .7rem; border-radius: 3px; margin: .2rem 0; }
ul.passed { columns: 2; }
ul.passed li { break-inside: avoid; }
a.ref { color: inherit; }
footer { border-top: 1px solid #d0d4dc; margin-top: 2rem; padding-top: .75rem; font-weight: 600; }
{{- if .Trend}}
svg.trend { background: #fff; border: 1px solid #d0d4dc; max-width: 100%; height: auto; }
svg.trend text { font: 11px system-ui, sans-serif; fill: #5a6272; }
{{- end}}
{{- if .MailFlow}}
table.mailflow tr.failed td { color: #b3261e; font-weight: 600; }
{{- end}}
@media print { .banner { color: #000; border: 3px solid currentColor; } pre { color: #000; background: #eee; } }
</style>
</head>
<body>
<header class="banner {{.Class}}" id="verdict">
<h1>{{.Label}}</h1>
<p>msguard {{.Title}} for <strong>{{.R.Host}}</strong> ({{.R.ServerRoot}}), exit code {{.R.ExitCode}}</p>
</header>
<main>
<section id="summary">
<h2>Summary</h2>
<table class="counts">
<tr><th>deny</th><th>error</th><th>warn</th><th>waived</th><th>pass</th></tr>
<tr><td>{{.R.Summary.Deny}}</td><td>{{.R.Summary.Error}}</td><td>{{.R.Summary.Warn}}</td><td>{{.R.Summary.Waived}}</td><td>{{.R.Summary.Pass}}</td></tr>
</table>
<dl class="run">
<dt>Host</dt><dd>{{.R.Host}}</dd>
<dt>Server root</dt><dd><code>{{.R.ServerRoot}}</code></dd>
<dt>Phase</dt><dd>{{.R.Phase}}</dd>
<dt>Verdict</dt><dd>{{.R.Verdict}}</dd>
{{- if .R.RunID}}
<dt>Run</dt><dd><code>{{.R.RunID}}</code></dd>
{{- end}}
{{- if .Started}}
<dt>Started</dt><dd>{{.Started}}</dd>
{{- end}}
{{- if .Finished}}
<dt>Finished</dt><dd>{{.Finished}}</dd>
{{- end}}
<dt>msguard</dt><dd>{{.R.Tool.Version}}</dd>
</dl>
</section>
{{- with .Trend}}
<section id="trend">
<h2>Trend ({{.Runs}} runs)</h2>
<svg class="trend" id="trend-chart" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-labelledby="trend-title">
<title id="trend-title">{{.Title}}</title>
<line class="axis" x1="{{.X0}}" y1="{{.Y0}}" x2="{{.X1}}" y2="{{.Y0}}" stroke="#8a91a0"/>
<line class="axis" x1="{{.X0}}" y1="{{.Y1}}" x2="{{.X0}}" y2="{{.Y0}}" stroke="#8a91a0"/>
<text x="{{.X0}}" y="{{.Y1}}" dx="-4" text-anchor="end" dominant-baseline="hanging">{{.MaxCount}}</text>
<text x="{{.X0}}" y="{{.Y0}}" dx="-4" text-anchor="end">0</text>
<text x="{{.X1}}" y="{{.Y1}}" dx="4" dominant-baseline="hanging">{{.MaxQueue}} msgs</text>
<text x="{{.X0}}" y="{{.DateY}}">{{.First}}</text>
<text x="{{.X1}}" y="{{.DateY}}" text-anchor="end">{{.Last}}</text>
<polyline class="queue" points="{{.Queue}}" fill="none" stroke="#2c6bb3" stroke-width="1.5" stroke-dasharray="2 3"/>
<polyline class="warn" points="{{.Warn}}" fill="none" stroke="#c77c02" stroke-opacity="0.45" stroke-width="7" stroke-linejoin="round"/>
<polyline class="error" points="{{.Error}}" fill="none" stroke="#6a3d9a" stroke-width="3.5" stroke-dasharray="7 4"/>
<polyline class="deny" points="{{.Deny}}" fill="none" stroke="#b3261e" stroke-width="1.5"/>
{{- range .Marks}}
<g class="marks">
<path class="mark warn" d="M{{.X}},{{.YWarn}} m0,-6 l6,6 l-6,6 l-6,-6 z" fill="#fff" stroke="#c77c02" stroke-width="1.5"/>
<rect class="mark error" x="{{.X}}" y="{{.YError}}" transform="translate(-3.5,-3.5)" width="7" height="7" fill="#6a3d9a"/>
<circle class="run {{.Class}}" cx="{{.X}}" cy="{{.YDeny}}" r="3" fill="{{.Fill}}" stroke="#b3261e" stroke-width="1"><title>{{.Label}}</title></circle>
</g>
{{- end}}
<g class="legend" transform="translate({{.X0}},{{.LegendY}})">
<line x1="0" y1="0" x2="22" y2="0" stroke="#b3261e" stroke-width="1.5"/><circle cx="11" cy="0" r="3" fill="#b3261e"/><text x="27" y="4">deny</text>
<line x1="70" y1="0" x2="92" y2="0" stroke="#6a3d9a" stroke-width="3.5" stroke-dasharray="7 4"/><rect x="77.5" y="-3.5" width="7" height="7" fill="#6a3d9a"/><text x="97" y="4">error</text>
<line x1="145" y1="0" x2="167" y2="0" stroke="#c77c02" stroke-opacity="0.45" stroke-width="7"/><path d="M156,-6 l6,6 l-6,6 l-6,-6 z" fill="#fff" stroke="#c77c02" stroke-width="1.5"/><text x="172" y="4">warn</text>
<line x1="215" y1="0" x2="237" y2="0" stroke="#2c6bb3" stroke-width="1.5" stroke-dasharray="2 3"/><text x="242" y="4">queued messages (right scale)</text>
<circle cx="420" cy="0" r="3" fill="#1f7a3a" stroke="#b3261e" stroke-width="1"/><circle cx="430" cy="0" r="3" fill="#b3261e"/><text x="438" y="4">run healthy / unhealthy</text>
</g>
</svg>
</section>
{{- end}}
{{- range .Groups}}
<section class="group" id="{{.Outcome}}">
<h2>{{.Heading}} ({{len .Findings}})</h2>
{{- $outcome := .Outcome}}
{{- range .Findings}}
<article class="finding {{$outcome}}" data-key="{{.Key}}">
<h3><span class="badge {{$outcome}}">{{.Severity}}{{if .Waived}} waived{{end}}</span> <code class="key">{{.Key}}</code>{{if .Title}} <span class="title">{{.Title}}</span>{{end}}</h3>
{{- if .Msg}}
<p class="msg">{{.Msg}}</p>
{{- end}}
{{- if or .Actual .Expected}}
<table class="values">
{{- if .Actual}}
<tr><th>actual</th><td><code>{{.Actual}}</code></td></tr>
{{- end}}
{{- if .Expected}}
<tr><th>expected</th><td><code>{{.Expected}}</code></td></tr>
{{- end}}
</table>
{{- end}}
{{- if .Description}}
<p class="why">{{.Description}}</p>
{{- end}}
{{- with .Waived}}
<p class="waiver"><strong>Waived:</strong> <span class="reason">{{.Reason}}</span>; approved by <span class="approver">{{.Approver}}</span>, expires <span class="expires">{{.Expires}}</span></p>
{{- end}}
{{- if .Remediation}}
<h4>Remediation</h4>
<ol class="remediation">
{{- range .Remediation}}
{{- if eq .Type "command"}}
<li><pre><code>{{.Text}}</code></pre></li>
{{- else}}
<li>{{.Text}}</li>
{{- end}}
{{- end}}
</ol>
{{- end}}
</article>
{{- end}}
</section>
{{- end}}
{{- with .MailFlow}}
<section class="mailflow" id="mailflow">
<h2>Mail flow</h2>
{{- if .Skipped}}
<p>Not probed: {{.Skipped}}</p>
{{- else}}
<p>{{.Probe}}</p>
<table class="mailflow">
<tr><th>Leg</th><th>Result</th><th>Latency</th><th>Server</th><th>Detail</th></tr>
{{- range .Legs}}
<tr class="{{if .OK}}ok{{else}}failed{{end}}"><td>{{.Name}}</td><td>{{.Result}}</td><td>{{.Latency}}</td><td>{{.Server}}</td><td>{{.Detail}}</td></tr>
{{- end}}
</table>
{{- end}}
</section>
{{- end}}
{{- with .Rehearsal}}
<section class="rehearsal" id="rehearsal">
<h2>Rehearsal: {{.Verdict}}</h2>
<p>remediate would exit {{.ExitCode}} on this host; {{.Window}}.</p>
<table class="steps">
<tr><th>Step</th><th>Outcome</th><th>Time</th><th>Detail</th></tr>
{{- range .Steps}}
<tr class="{{.Outcome}}"><td><code>{{.ID}}</code></td><td>{{.Outcome}}</td><td>{{.Time}}</td><td>{{.Detail}}</td></tr>
{{- end}}
</table>
{{- if .Directory}}
<p class="directory">{{.Directory}}</p>
{{- end}}
<p class="production {{if .Untouched}}untouched{{else}}changed{{end}}">{{.Production}}</p>
{{- if .Transcripts}}
<p>Installer transcripts: <code>{{.Transcripts}}</code></p>
{{- end}}
</section>
{{- end}}
{{- if .R.FactsErrors}}
<section id="facts-errors">
<h2>Facts errors ({{len .R.FactsErrors}})</h2>
<p>Facts that could not be collected are never a pass.</p>
<table>
<tr><th>Collector</th><th>Error</th></tr>
{{- range .R.FactsErrors}}
<tr><td><code>{{.Collector}}</code></td><td>{{.Error}}</td></tr>
{{- end}}
</table>
</section>
{{- end}}
{{- if .Passed}}
<section id="passed">
<h2>Passed ({{len .Passed}})</h2>
<p>Judged and not found on this host (each key with the title of what it looks for):</p>
<ul class="passed">
{{- range .Passed}}
<li><a class="ref" href="{{.Ref}}" title="the key's reference in docs/runbook.md"><code class="key">{{.Key}}</code></a>{{if .Title}} <span class="title">{{.Title}}</span>{{end}}</li>
{{- end}}
</ul>
</section>
{{- end}}
<footer id="summary-line">{{.SummaryLine}}</footer>
</main>
</body>
</html>
`

// trendChart is the trend section's geometry, computed in Go so that the
// template only places numbers.
type trendChart struct {
	Runs                 int
	W, H, X0, X1, Y0, Y1 int
	Title, First, Last   string
	MaxCount             int
	MaxQueue             int64
	DateY, LegendY       int
	Deny, Error, Warn    string // polyline points
	Queue                string
	Marks                []trendMarks
}

// trendMarks are one run's markers: a circle on the deny line, coloured by
// the run's verdict and titled with its counts, a square on the error line
// and a diamond on the warn line.
type trendMarks struct {
	X, YDeny, YError, YWarn string
	Class, Fill, Label      string
}

// newTrendChart lays the history out on a 640×200 chart: deny, error and
// warn on the left scale, the queue depth on its own right scale, the dates
// and the legend below. nil when there is no history.
func newTrendChart(pts []TrendPoint) *trendChart {
	if len(pts) == 0 {
		return nil
	}
	c := &trendChart{Runs: len(pts), W: 640, H: 200, X0: 40, X1: 580, Y0: 150, Y1: 16, DateY: 166, LegendY: 188, MaxCount: 1, MaxQueue: 1}
	for _, p := range pts {
		c.MaxCount = max(c.MaxCount, p.Deny, p.Error, p.Warn)
		c.MaxQueue = max(c.MaxQueue, p.Queue)
	}
	x := func(i int) float64 {
		if len(pts) == 1 {
			return float64(c.X0+c.X1) / 2
		}
		return float64(c.X0) + float64(i)*float64(c.X1-c.X0)/float64(len(pts)-1)
	}
	y := func(v, top float64) float64 { return float64(c.Y0) - v/top*float64(c.Y0-c.Y1) }
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
	var deny, errs, warn, queue []string
	for i, p := range pts {
		xi := num(x(i))
		yd := num(y(float64(p.Deny), float64(c.MaxCount)))
		ye := num(y(float64(p.Error), float64(c.MaxCount)))
		yw := num(y(float64(p.Warn), float64(c.MaxCount)))
		deny = append(deny, xi+","+yd)
		errs = append(errs, xi+","+ye)
		warn = append(warn, xi+","+yw)
		if p.Queue >= 0 {
			queue = append(queue, xi+","+num(y(float64(p.Queue), float64(c.MaxQueue))))
		}
		class, fill := "ok", "#1f7a3a"
		if p.Verdict != judgement.VerdictHealthy && p.Verdict != judgement.VerdictReady {
			class, fill = "bad", "#b3261e"
		}
		q := "queue unknown"
		if p.Queue >= 0 {
			q = fmt.Sprintf("%d queued", p.Queue)
		}
		c.Marks = append(c.Marks, trendMarks{X: xi, YDeny: yd, YError: ye, YWarn: yw, Class: class, Fill: fill,
			Label: fmt.Sprintf("%s: %s, %d deny, %d error, %d warn, %s", p.Time.UTC().Format(timeLayout), p.Verdict, p.Deny, p.Error, p.Warn, q)})
	}
	c.Deny, c.Error, c.Warn = strings.Join(deny, " "), strings.Join(errs, " "), strings.Join(warn, " ")
	c.Queue = strings.Join(queue, " ")
	c.First = pts[0].Time.UTC().Format("2006-01-02 15:04")
	c.Last = pts[len(pts)-1].Time.UTC().Format("2006-01-02 15:04")
	c.Title = fmt.Sprintf("deny, error, warn and queued messages over %d audit runs, %s to %s", len(pts), c.First, c.Last)
	return c
}
