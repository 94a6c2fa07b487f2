package reports

import (
	"bytes"
	"flag"
	"github.com/msguard/msguard/judgement"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// fixtureNames are the saved reports in testdata/reports that every format is
// rendered from.
var fixtureNames = []string{"preflight_not_ready", "postflight_healthy", "rehearsal_backed_out", "rehearsal_scratch_directory"}

// loadFixture decodes testdata/reports/NAME.json.
func loadFixture(t *testing.T, name string) *judgement.Report {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "reports", name+".json"))
	if err != nil {
		t.Fatalf("open fixture: %v", err)
	}
	defer f.Close()
	r, err := judgement.DecodeReport(f)
	if err != nil {
		t.Fatalf("decode fixture %s: %v", name, err)
	}
	return r
}

// render renders r in format and fails the test on error.
func render(t *testing.T, format string, r *judgement.Report) []byte {
	t.Helper()
	rd, err := Get(format)
	if err != nil {
		t.Fatalf("Get(%q): %v", format, err)
	}
	return renderWith(t, rd, r)
}

// renderWith renders r with rd and fails the test on error.
func renderWith(t *testing.T, rd Renderer, r *judgement.Report) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := rd.Render(&b, r); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b.Bytes()
}

// escapeReport is a not-ready report whose host-provided text tries to
// inject markup into every format.
func escapeReport() *judgement.Report {
	at := time.Date(2026, 3, 14, 2, 10, 0, 0, time.UTC)
	return &judgement.Report{
		Schema: judgement.ReportSchema, Tool: facts.Tool{Name: "msguard", Version: "0.9.0"},
		RunID: "esc", StartedAt: at, FinishedAt: at.Add(time.Second),
		Host: "mail.siroe.com", ServerRoot: "/usr/iplanet/server5", Phase: "preflight",
		Verdict: judgement.VerdictNotReady, ExitCode: 3,
		Summary: judgement.Summary{Deny: 1, Waived: 1},
		Findings: []judgement.Finding{
			{
				Key: "preflight.queue.held", Severity: judgement.SeverityDeny, Title: "Held <b>bold</b> messages",
				Msg:    `<script>alert("x")</script> & co`,
				Actual: "a<b", Expected: "a&b",
				Remediation: []judgement.Remediation{
					{Type: "command", Text: `echo "<script>" && rm -f /tmp/x`},
					{Type: "hint", Text: "ask <ops> & wait"},
				},
			},
			{
				Key: "preflight.host.mismatch", Severity: judgement.SeverityDeny, Title: "Host",
				Msg:    "waived & fine",
				Waived: &judgement.Waived{Reason: "<i>alias</i> & more", Approver: "ops@siroe.com", Expires: "2026-12-31"},
			},
		},
		FactsErrors: []facts.FactsError{{Collector: "ldap", Error: `<img src=x onerror="alert(1)"> & fail`}},
	}
}

// emptyReport is a report of a judgement that failed before any policy ran.
func emptyReport() *judgement.Report {
	return &judgement.Report{
		Schema: judgement.ReportSchema, Tool: facts.Tool{Name: "msguard", Version: "0.9.0"},
		Phase: "quiesce", Verdict: judgement.VerdictError, ExitCode: 1,
	}
}

func TestGolden(t *testing.T) {
	type goldenCase struct {
		name, fixture, format string
		renderer              Renderer // nil: Get(format)
	}
	var cases []goldenCase
	for _, fx := range fixtureNames {
		for _, format := range Formats() {
			cases = append(cases, goldenCase{name: fx, fixture: fx, format: format})
		}
	}
	cases = append(cases, goldenCase{name: "preflight_not_ready_color", fixture: "preflight_not_ready", format: "text", renderer: NewText(true)})

	for _, tc := range cases {
		file := tc.name + "." + tc.format
		t.Run(file, func(t *testing.T) {
			r := loadFixture(t, tc.fixture)
			rd := tc.renderer
			if rd == nil {
				var err error
				if rd, err = Get(tc.format); err != nil {
					t.Fatalf("Get(%q): %v", tc.format, err)
				}
			}
			got := renderWith(t, rd, r)
			if again := renderWith(t, rd, r); !bytes.Equal(got, again) {
				t.Fatalf("%s: two renders of the same report differ", file)
			}
			path := filepath.Join("testdata", "golden", file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatalf("write golden: %v", err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden: %v (run go test ./reports -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file (run go test ./reports -update to accept)\n%s", file, firstDiff(got, want))
			}
		})
	}
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < max(len(g), len(w)); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return "(same lines, different bytes)"
}

func TestGet(t *testing.T) {
	tests := []struct {
		format string
		want   Renderer
	}{
		{"text", TextRenderer{}},
		{"json", JSONRenderer{}},
		{"junit", JUnitRenderer{}},
		{"sarif", SARIFRenderer{}},
		{"markdown", MarkdownRenderer{}},
		{"html", HTMLRenderer{}},
	}
	if len(tests) != len(Formats()) {
		t.Fatalf("Formats() = %v; the test knows %d formats", Formats(), len(tests))
	}
	for i, tc := range tests {
		if Formats()[i] != tc.format {
			t.Errorf("Formats()[%d] = %q; want %q", i, Formats()[i], tc.format)
		}
		got, err := Get(tc.format)
		if err != nil {
			t.Fatalf("Get(%q): %v", tc.format, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Get(%q) = %#v; want %#v", tc.format, got, tc.want)
		}
	}
}

func TestGetUnknown(t *testing.T) {
	for _, format := range []string{"", "xml", "HTML", "sarif2"} {
		_, err := Get(format)
		if err == nil {
			t.Fatalf("Get(%q) = nil error; want one", format)
		}
		for _, f := range Formats() {
			if !strings.Contains(err.Error(), f) {
				t.Errorf("Get(%q) error %q does not list format %q", format, err, f)
			}
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", "reports", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			got := render(t, "json", loadFixture(t, name))
			if !bytes.Equal(got, want) {
				t.Errorf("json of the decoded fixture differs from the fixture\n%s", firstDiff(got, want))
			}
		})
	}
}

func TestJSONEmptyListsAreArrays(t *testing.T) {
	r := emptyReport()
	got := string(render(t, "json", r))
	for _, want := range []string{`"findings": []`, `"facts_errors": []`} {
		if !strings.Contains(got, want) {
			t.Errorf("json of an empty report lacks %s:\n%s", want, got)
		}
	}
	if r.Findings != nil || r.FactsErrors != nil {
		t.Errorf("JSONRenderer modified the report it rendered")
	}
}

// TestEmptyReport renders a report without findings in every format.
func TestEmptyReport(t *testing.T) {
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			out := string(render(t, format, emptyReport()))
			if format != "json" && format != "junit" && format != "sarif" &&
				!strings.Contains(out, "verdict error: 0 deny, 0 warn, 0 error, 0 waived, 0 pass") {
				t.Errorf("%s of an empty report lacks the summary line:\n%s", format, out)
			}
		})
	}
}

func TestTextLayout(t *testing.T) {
	out := string(render(t, "text", loadFixture(t, "preflight_not_ready")))
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got, want := lines[len(lines)-1], "verdict not_ready: 2 deny, 1 warn, 1 error, 1 waived, 11 pass"; got != want {
		t.Errorf("last line = %q; want %q", got, want)
	}
	// Sections in order: what blocks first, what was only noted last.
	order := []string{"verdict:     NOT READY", "ERRORS (could not judge) (1)", "DENIED (2)", "WARNINGS (1)", "WAIVED (1)", "INFO (1)", "FACTS ERRORS (2)"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < 0 {
			t.Fatalf("text lacks %q:\n%s", s, out)
		}
		if i < last {
			t.Errorf("%q comes before the section above it", s)
		}
		last = i
	}
	for _, s := range []string{
		"actual:   1.2 GiB free", "expected: >= 3.4 GiB free",
		"        $ /usr/iplanet/server5/slapd-ds/start-slapd",
		"waived:   host renamed in 2024; mail-old.siroe.com is a DNS alias of this host (ops@siroe.com, expires 2026-12-31)",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("text lacks %q", s)
		}
	}
}

func TestTextColor(t *testing.T) {
	r := loadFixture(t, "preflight_not_ready")
	tests := []struct {
		name     string
		renderer Renderer
		wantESC  bool
	}{
		{"get", mustGet(t, "text"), false},
		{"plain", NewText(false), false},
		{"color", NewText(true), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := renderWith(t, tc.renderer, r)
			if got := bytes.Contains(out, []byte("\x1b[")); got != tc.wantESC {
				t.Errorf("ANSI escapes in output = %v; want %v", got, tc.wantESC)
			}
		})
	}
}

func mustGet(t *testing.T, format string) Renderer {
	t.Helper()
	rd, err := Get(format)
	if err != nil {
		t.Fatal(err)
	}
	return rd
}

// TestTextControlCharacters checks that host text cannot drive the terminal.
func TestTextControlCharacters(t *testing.T) {
	r := escapeReport()
	r.Findings[0].Msg = "queue \x1b[2J cleared\x07"
	for _, color := range []bool{false, true} {
		out := string(renderWith(t, NewText(color), r))
		if !strings.Contains(out, `queue \x1b[2J cleared\x07`) {
			t.Errorf("color=%v: control characters not shown as \\x escapes:\n%q", color, out)
		}
		if strings.Contains(out, "\x1b[2J") || strings.Contains(out, "\x07") {
			t.Errorf("color=%v: raw control characters reach the terminal", color)
		}
	}
}

// TestEscaping checks that markup in host text renders as text in every
// format that has markup.
func TestEscaping(t *testing.T) {
	tests := []struct {
		format string
		want   []string // escaped forms that must appear
		forbid []string // raw markup that must not
	}{
		{
			format: "html",
			want: []string{
				"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co",
				"Held &lt;b&gt;bold&lt;/b&gt; messages",
				"echo &#34;&lt;script&gt;&#34; &amp;&amp; rm -f /tmp/x",
				"&lt;i&gt;alias&lt;/i&gt; &amp; more",
				"&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; fail",
			},
			forbid: []string{"<script", "<img", "<i>", "<b>bold"},
		},
		{
			format: "junit",
			want: []string{
				"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co",
				"&lt;i&gt;alias&lt;/i&gt; &amp; more",
				"&lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; fail",
			},
			forbid: []string{"<script", "<img", "<i>", "<b>"},
		},
		{
			format: "markdown",
			want: []string{
				"&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; co",
				"Held &lt;b&gt;bold&lt;/b&gt; messages",
				"&lt;i&gt;alias&lt;/i&gt; &amp; more",
				"&lt;img src=x onerror=\"alert(1)\"&gt; &amp; fail",
				// Commands are in fenced blocks, where nothing is markup.
				"- ```sh\n  echo \"<script>\" && rm -f /tmp/x\n  ```",
			},
			forbid: []string{"<script>alert", "<img", "<i>", "<b>"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			out := string(render(t, tc.format, escapeReport()))
			for _, s := range tc.want {
				if !strings.Contains(out, s) {
					t.Errorf("%s lacks escaped %q:\n%s", tc.format, s, out)
				}
			}
			for _, s := range tc.forbid {
				if strings.Contains(out, s) {
					t.Errorf("%s contains raw %q", tc.format, s)
				}
			}
		})
	}
}

func TestMarkdownHelpers(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"escape punctuation", mdEscape("a*b_c [x](y) | `z` #1 ~s~ \\"), `a\*b\_c \[x\](y) \| \` + "`" + `z\` + "`" + ` \#1 \~s\~ \\`},
		{"escape html", mdEscape("<a> & <b>"), "&lt;a&gt; &amp; &lt;b&gt;"},
		{"escape newlines", mdEscape("one\ntwo\r\nthree\n"), "one<br>two<br>three"},
		{"code plain", mdCode("/usr/iplanet/server5"), "`/usr/iplanet/server5`"},
		{"code backtick", mdCode("a`b"), "``a`b``"},
		{"code edge backtick", mdCode("`a"), "`` `a ``"},
		{"code pipe", mdCode("a|b"), `a\|b`},
		{"code empty", mdCode(""), ""},
		{"fence", mdFence("echo ```x```", ""), "````sh\necho ```x```\n````\n"},
		{"fence indented", mdFence("a \\\nb", "  "), "```sh\n  a \\\n  b\n  ```\n"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q; want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestMarkdownSections(t *testing.T) {
	out := string(render(t, "markdown", loadFixture(t, "preflight_not_ready")))
	for _, s := range []string{
		"# msguard preflight report: mail.siroe.com",
		"**Verdict: NOT READY** (`not_ready`, exit code 3)",
		"| 2 | 1 | 1 | 1 | 11 |",
		"| `preflight.ds.unreachable` | deny | Directory Server unreachable |",
		"| `preflight.host.mismatch` | deny (waived) |",
		"| `preflight.host.mismatch` | deny | host renamed in 2024; mail-old.siroe.com is a DNS alias of this host | ops@siroe.com | 2026-12-31 |",
		"- ```sh\n  /usr/iplanet/server5/slapd-ds/start-slapd\n  ```",
		"| `ldap` | bind ldap://ds.siroe.com:389: dial tcp 192.0.2.10:389: connect: connection refused |",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("markdown lacks %q", s)
		}
	}
}

func TestServerRootURI(t *testing.T) {
	tests := []struct{ root, want string }{
		{"/usr/iplanet/server5", "file:///usr/iplanet/server5/"},
		{"/usr/iplanet/server5/", "file:///usr/iplanet/server5/"},
		{"/opt/my server/5#1", "file:///opt/my%20server/5%231/"},
		{"relative/root", "file:///relative/root/"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := serverRootURI(tc.root); got != tc.want {
			t.Errorf("serverRootURI(%q) = %q; want %q", tc.root, got, tc.want)
		}
	}
}

func TestOutcome(t *testing.T) {
	w := &judgement.Waived{Reason: "r", Approver: "a", Expires: "2026-12-31"}
	tests := []struct {
		f    judgement.Finding
		want string
	}{
		{judgement.Finding{Severity: judgement.SeverityDeny}, outcomeDeny},
		{judgement.Finding{Severity: judgement.SeverityError}, outcomeError},
		{judgement.Finding{Severity: judgement.SeverityWarn}, outcomeWarn},
		{judgement.Finding{Severity: judgement.SeverityInfo}, outcomeInfo},
		{judgement.Finding{Severity: "bogus"}, outcomeDeny},
		{judgement.Finding{Severity: judgement.SeverityDeny, Waived: w}, outcomeWaived},
		{judgement.Finding{Severity: judgement.SeverityWarn, Waived: w}, outcomeWaived},
	}
	for _, tc := range tests {
		if got := outcome(&tc.f); got != tc.want {
			t.Errorf("outcome(%+v) = %q; want %q", tc.f, got, tc.want)
		}
	}
}
