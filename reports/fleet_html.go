package reports

import (
	"html/template"
	"io"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/judgement"
)

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
