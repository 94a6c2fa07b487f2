package reports

import (
	"bytes"
	"context"
	"github.com/msguard/msguard/judgement"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// chromium returns the path of the Chromium binary; the Debian package
// chromium provides it (make deps installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("chromium not found in PATH: install the Debian package chromium (apt-get install -y chromium)")
	return ""
}

// dumpDOM loads page in headless Chromium, offline, and returns the DOM
// after parsing and layout.
func dumpDOM(t *testing.T, page []byte) string {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, page, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--password-store=basic", "--use-mock-keychain",
		"--user-data-dir="+filepath.Join(dir, "profile"),
		"--dump-dom", "file://"+file)
	// Without a D-Bus, Chromium waits for its timeouts unless told there is
	// none; that takes seconds off every start.
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=disabled:", "DBUS_SESSION_BUS_ADDRESS=disabled:")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	if len(out) == 0 {
		t.Fatalf("chromium --dump-dom printed nothing\n%s", stderr.String())
	}
	return string(out)
}

func TestHTMLInChromium(t *testing.T) {
	tests := []struct {
		name   string
		report *judgement.Report
		banner string
	}{
		{"preflight_not_ready", loadFixture(t, "preflight_not_ready"), "NOT READY"},
		{"postflight_healthy", loadFixture(t, "postflight_healthy"), "HEALTHY"},
		{"escape", escapeReport(), "NOT READY"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := tc.report
			dom := dumpDOM(t, render(t, "html", r))
			must := []string{
				`<meta name="msguard-verdict" content="` + r.Verdict + `">`,
				`<h1>` + tc.banner + `</h1>`,
				`class="banner ` + verdictClass(r.Verdict) + `"`,
				summaryLine(r),
			}
			for _, f := range r.Findings {
				must = append(must, `data-key="`+f.Key+`"`, `<code class="key">`+f.Key+`</code>`)
				if f.Waived != nil {
					must = append(must, `<span class="approver">`+f.Waived.Approver+`</span>`, `<span class="expires">`+f.Waived.Expires+`</span>`)
				}
			}
			for _, k := range r.Passed {
				must = append(must, `<code class="key">`+k+`</code></a> <span class="title">`+r.PassedTitles[k]+`</span></li>`)
			}
			for _, fe := range r.FactsErrors {
				must = append(must, "<code>"+fe.Collector+"</code>")
			}
			for _, s := range must {
				if !strings.Contains(dom, s) {
					t.Errorf("rendered DOM lacks %q", s)
				}
			}
			// Escaped text stays text: the browser made no script or image
			// element out of it.
			for _, s := range []string{"<script", "<img", "<i>"} {
				if strings.Contains(dom, s) {
					t.Errorf("rendered DOM has an element %s from report text", s)
				}
			}
			if tc.name == "escape" && !strings.Contains(dom, `&lt;script&gt;alert("x")&lt;/script&gt; &amp; co`) {
				t.Errorf("rendered DOM does not show the message as text:\n%s", dom)
			}
		})
	}
}

// resourceAttrs are attributes through which an element loads or links to
// something outside the page.
var resourceAttrs = map[string]bool{
	"src": true, "href": true, "srcset": true, "action": true, "formaction": true,
	"poster": true, "data": true, "background": true, "ping": true, "xlink:href": true,
	"manifest": true, "codebase": true, "cite": true, "longdesc": true,
}

// resourceElements are elements that load or run something by themselves.
var resourceElements = map[string]bool{
	"script": true, "link": true, "img": true, "iframe": true, "frame": true, "object": true,
	"embed": true, "video": true, "audio": true, "source": true, "track": true, "base": true,
	"form": true, "picture": true, "image": true, "use": true, "applet": true, "portal": true,
}

// docsLink is the one link out of the page allowed: an <a> to the keys'
// reference (KeyReference), which the reader may follow and the browser
// never loads.
var docsLink = []byte(`<a class="ref" href="` + KeyReference + `"`)

// externalRefs lists every way page refers to something outside itself,
// but for the links to the keys' reference.
func externalRefs(page []byte) []string {
	var refs []string
	text := bytes.ReplaceAll(page, docsLink, nil)
	for _, s := range []string{"http://", "https://", "//fonts", "data:"} {
		if bytes.Contains(text, []byte(s)) {
			refs = append(refs, "text "+s)
		}
	}
	z := html.NewTokenizer(bytes.NewReader(page))
	inStyle := false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return refs
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if resourceElements[tok.Data] {
				refs = append(refs, "element <"+tok.Data+">")
			}
			inStyle = tok.Data == "style"
			for _, a := range tok.Attr {
				name := strings.ToLower(a.Key)
				if a.Namespace != "" {
					name = a.Namespace + ":" + name
				}
				switch {
				case tok.Data == "a" && name == "href" && a.Val == KeyReference:
				case resourceAttrs[name]:
					refs = append(refs, "attribute "+name+"="+a.Val)
				case strings.HasPrefix(name, "on"):
					refs = append(refs, "handler "+name)
				case name == "style" && strings.Contains(strings.ToLower(a.Val), "url("):
					refs = append(refs, "style url()")
				case name == "http-equiv" && strings.EqualFold(a.Val, "refresh"):
					refs = append(refs, "meta refresh")
				}
			}
		case html.EndTagToken:
			inStyle = false
		case html.TextToken:
			if inStyle {
				css := strings.ToLower(string(z.Text()))
				for _, s := range []string{"url(", "@import", "@font-face"} {
					if strings.Contains(css, s) {
						refs = append(refs, "css "+s)
					}
				}
			}
		}
	}
}

func TestHTMLSelfContained(t *testing.T) {
	pages := map[string][]byte{
		"preflight_not_ready": render(t, "html", loadFixture(t, "preflight_not_ready")),
		"postflight_healthy":  render(t, "html", loadFixture(t, "postflight_healthy")),
		"escape":              render(t, "html", escapeReport()),
		"empty":               render(t, "html", emptyReport()),
	}
	for name, page := range pages {
		t.Run(name, func(t *testing.T) {
			if refs := externalRefs(page); len(refs) > 0 {
				t.Errorf("%s refers outside itself: %v", name, refs)
			}
			csp := `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`
			if !bytes.Contains(page, []byte(csp)) {
				t.Errorf("%s lacks the content security policy", name)
			}
		})
	}
}

// TestExternalRefsDetects keeps the check above honest.
func TestExternalRefsDetects(t *testing.T) {
	tests := []string{
		`<link rel="stylesheet" href="x.css">`,
		`<img src="logo.png">`,
		`<style>body { background: url(bg.png) }</style>`,
		`<style>@import "x.css";</style>`,
		`<p style="background:url(x)">`,
		`<a href="#top">top</a>`,
		`<body onload="go()">`,
		`<script>1</script>`,
		`<p>see https://example.org</p>`,
		`<a class="ref" href="https://example.org/docs">docs</a>`,
		`<a class="ref" href="` + KeyReference + `">ok</a><img src="` + KeyReference + `">`,
	}
	for _, page := range tests {
		if refs := externalRefs([]byte(page)); len(refs) == 0 {
			t.Errorf("externalRefs(%q) found nothing", page)
		}
	}
	if refs := externalRefs([]byte(`<style>p { color: red }</style><p class="x">ldap://ds:389</p>`)); len(refs) != 0 {
		t.Errorf("externalRefs of a clean page = %v", refs)
	}
}

// trendPoints is a week of audit runs: healthy, then a deny with a growing
// queue, then healthy again; the queue of one run is unknown.
func trendPoints() []TrendPoint {
	t0 := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	var pts []TrendPoint
	for i, p := range []struct {
		deny, warn int
		queue      int64
		errs       int
	}{{0, 0, 0, 0}, {0, 1, 12, 0}, {2, 1, 340, 1}, {3, 0, -1, 3}, {0, 0, 5, 0}} {
		v := judgement.VerdictHealthy
		if p.deny > 0 {
			v = judgement.VerdictUnhealthy
		}
		pts = append(pts, TrendPoint{Time: t0.Add(time.Duration(i) * 24 * time.Hour), Verdict: v, Deny: p.deny, Error: p.errs, Warn: p.warn, Queue: p.queue})
	}
	return pts
}

// TestHTMLTrendInChromium renders an audit report with a history and
// checks in headless Chromium that the inline SVG chart is part of the
// page: the three series, one marker per run, the scales and the title.
func TestHTMLTrendInChromium(t *testing.T) {
	r := loadFixture(t, "postflight_healthy")
	r.Phase = "audit"
	var page bytes.Buffer
	if err := (HTMLRenderer{Trend: trendPoints()}).Render(&page, r); err != nil {
		t.Fatal(err)
	}
	if refs := externalRefs(page.Bytes()); len(refs) > 0 {
		t.Errorf("the trend page refers outside itself: %v", refs)
	}
	dom := dumpDOM(t, page.Bytes())
	must := []string{
		`<section id="trend">`,
		`<h2>Trend (5 runs)</h2>`,
		`<svg class="trend" id="trend-chart" viewBox="0 0 640 200"`,
		`<polyline class="deny" points="40.0,150.0 175.0,150.0 310.0,60.7 445.0,16.0 580.0,150.0"`,
		`<polyline class="error" points="40.0,150.0 175.0,150.0 310.0,105.3 445.0,16.0 580.0,150.0"`,
		`<polyline class="warn" points="40.0,150.0 175.0,105.3 310.0,105.3 445.0,150.0 580.0,150.0"`,
		// The run whose queue is unknown has no queue point.
		`<polyline class="queue" points="40.0,150.0 175.0,145.3 310.0,16.0 580.0,148.0"`,
		`<title>2026-11-29T12:00:00Z: unhealthy, 2 deny, 1 error, 1 warn, 340 queued</title>`,
		`<title>2026-11-30T12:00:00Z: unhealthy, 3 deny, 3 error, 0 warn, queue unknown</title>`,
		// Where the three counts coincide, each keeps its own marker.
		`<path class="mark warn" d="M40.0,150.0 m0,-6 l6,6 l-6,6 l-6,-6 z"`,
		`<rect class="mark error" x="40.0" y="150.0"`,
		`<circle class="run ok" cx="40.0" cy="150.0" r="3"`,
		// The legend names every series.
		`<text x="27" y="4">deny</text>`, `<text x="97" y="4">error</text>`, `<text x="172" y="4">warn</text>`,
		`340 msgs</text>`,
		`2026-11-27 12:00</text>`,
		`2026-12-01 12:00</text>`,
	}
	for _, s := range must {
		if !strings.Contains(dom, s) {
			t.Errorf("rendered DOM lacks %q", s)
		}
	}
	if n := strings.Count(dom, `<circle class="run `); n != 5 {
		t.Errorf("%d run markers; want 5", n)
	}
	if n := strings.Count(dom, `<circle class="run bad"`); n != 2 {
		t.Errorf("%d unhealthy markers; want 2", n)
	}
	for _, mark := range []string{`<path class="mark warn"`, `<rect class="mark error"`} {
		if n := strings.Count(dom, mark); n != 5 {
			t.Errorf("%d markers %s; want 5", n, mark)
		}
	}
	// Without a history there is no trend section.
	plain := render(t, "html", r)
	if bytes.Contains(plain, []byte(`id="trend"`)) || bytes.Contains(plain, []byte("svg.trend")) {
		t.Errorf("a report without history has a trend section")
	}
}

func TestTrendChartSinglePoint(t *testing.T) {
	c := newTrendChart(trendPoints()[:1])
	if c == nil || c.Deny != "310.0,150.0" || c.Error != "310.0,150.0" || c.Queue != "310.0,150.0" || len(c.Marks) != 1 {
		t.Errorf("single run chart: %+v", c)
	}
	if newTrendChart(nil) != nil {
		t.Errorf("a chart without runs")
	}
}
