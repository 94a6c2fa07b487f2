package reports

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"github.com/msguard/msguard/judgement"
	"reflect"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
)

// withHost returns a copy of r on another host (and server root when root
// is not empty).
func withHost(r *judgement.Report, host, root string) *judgement.Report {
	c := *r
	c.Host = host
	if root != "" {
		c.ServerRoot = root
	}
	return &c
}

// verdictReport is a bare report of a phase with a verdict and exit code.
func verdictReport(host, phase, verdict string, code int) *judgement.Report {
	return &judgement.Report{
		Schema: judgement.ReportSchema, Host: host, ServerRoot: "/usr/iplanet/server5",
		Phase: phase, Verdict: verdict, ExitCode: code,
	}
}

// renderFleet renders f in format and fails the test on error.
func renderFleet(t *testing.T, format string, f *Fleet) []byte {
	t.Helper()
	rd, err := GetFleet(format)
	if err != nil {
		t.Fatalf("GetFleet(%q): %v", format, err)
	}
	var b bytes.Buffer
	if err := rd.Render(&b, f); err != nil {
		t.Fatalf("Render %s: %v", format, err)
	}
	return b.Bytes()
}

func TestMergeExitCodeAndVerdict(t *testing.T) {
	tests := []struct {
		name        string
		in          []*judgement.Report
		wantCode    int
		wantVerdict string
	}{
		{"all ready", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 0),
			verdictReport("b", "preflight", judgement.VerdictReady, 0),
		}, 0, judgement.VerdictReady},
		{"one warn-only", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 0),
			verdictReport("b", "preflight", judgement.VerdictReady, 4),
		}, 4, judgement.VerdictReady},
		{"not ready wins over warn-only", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 4),
			verdictReport("b", "preflight", judgement.VerdictNotReady, 3),
			verdictReport("c", "preflight", judgement.VerdictReady, 0),
		}, 3, judgement.VerdictNotReady},
		{"postflight and audit speak of health", []*judgement.Report{
			verdictReport("a", "postflight", judgement.VerdictHealthy, 0),
			verdictReport("b", "audit", judgement.VerdictUnhealthy, 3),
		}, 3, judgement.VerdictUnhealthy},
		{"all healthy", []*judgement.Report{
			verdictReport("a", "audit", judgement.VerdictHealthy, 0),
			verdictReport("b", "audit", judgement.VerdictHealthy, 4),
		}, 4, judgement.VerdictHealthy},
		{"mixed phases speak of readiness", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 0),
			verdictReport("a", "postflight", judgement.VerdictUnhealthy, 3),
		}, 3, judgement.VerdictNotReady},
		{"a failed judgement never passes", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 0),
			verdictReport("b", "quiesce", judgement.VerdictError, 1),
		}, 3, judgement.VerdictError},
		{"an unknown verdict never passes", []*judgement.Report{
			verdictReport("a", "preflight", "", 0),
		}, 3, judgement.VerdictNotReady},
		{"an exit code that is no verdict never passes", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 2),
		}, 3, judgement.VerdictNotReady},
		{"a ready report that claims exit 3 is not ready", []*judgement.Report{
			verdictReport("a", "preflight", judgement.VerdictReady, 3),
			verdictReport("b", "preflight", judgement.VerdictReady, 4),
		}, 3, judgement.VerdictNotReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Merge(tc.in...)
			if f.ExitCode != tc.wantCode || f.Verdict != tc.wantVerdict {
				t.Errorf("Merge = exit %d, verdict %q; want exit %d, verdict %q", f.ExitCode, f.Verdict, tc.wantCode, tc.wantVerdict)
			}
			if f.Schema != FleetSchema || len(f.Rows) != len(tc.in) || len(f.Reports) != len(tc.in) {
				t.Errorf("Merge: schema %q, %d rows, %d reports; want %q, %d, %d", f.Schema, len(f.Rows), len(f.Reports), FleetSchema, len(tc.in), len(tc.in))
			}
		})
	}
}

func TestMergeRows(t *testing.T) {
	notReady := loadFixture(t, "preflight_not_ready")
	healthy := loadFixture(t, "postflight_healthy")
	tests := []struct {
		name      string
		in        []*judgement.Report
		wantSuite []string
		wantTop   [][]string
		wantMore  []int
	}{
		{
			name:      "sorted by host, root and phase",
			in:        []*judgement.Report{withHost(healthy, "mail2.siroe.com", ""), withHost(notReady, "mail1.siroe.com", "")},
			wantSuite: []string{"mail1.siroe.com/preflight", "mail2.siroe.com/postflight"},
			// Error and deny before warn; waived and info never.
			wantTop:  [][]string{topOf(t, notReady, 3), topOf(t, healthy, 3)},
			wantMore: []int{moreOf(t, notReady, 3), moreOf(t, healthy, 3)},
		},
		{
			name:      "same host and phase: server root added",
			in:        []*judgement.Report{withHost(notReady, "mail1", "/b/server5"), withHost(notReady, "mail1", "/a/server5")},
			wantSuite: []string{"mail1/preflight (/a/server5)", "mail1/preflight (/b/server5)"},
			wantTop:   [][]string{topOf(t, notReady, 3), topOf(t, notReady, 3)},
			wantMore:  []int{moreOf(t, notReady, 3), moreOf(t, notReady, 3)},
		},
		{
			name:      "same host, phase and root: numbered",
			in:        []*judgement.Report{withHost(healthy, "mail1", ""), withHost(healthy, "mail1", ""), withHost(notReady, "mail1", "")},
			wantSuite: []string{"mail1/postflight (/usr/iplanet/server5) #1", "mail1/postflight (/usr/iplanet/server5) #2", "mail1/preflight"},
			wantTop:   [][]string{topOf(t, healthy, 3), topOf(t, healthy, 3), topOf(t, notReady, 3)},
			wantMore:  []int{0, 0, moreOf(t, notReady, 3)},
		},
		{
			name:      "empty host and phase",
			in:        []*judgement.Report{verdictReport("", "", judgement.VerdictReady, 0)},
			wantSuite: []string{"unknown/unknown"},
			wantTop:   [][]string{{}},
			wantMore:  []int{0},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Merge(tc.in...)
			for i, row := range f.Rows {
				if row.Suite != tc.wantSuite[i] {
					t.Errorf("row %d suite = %q; want %q", i, row.Suite, tc.wantSuite[i])
				}
				if !reflect.DeepEqual(row.Top, tc.wantTop[i]) || row.More != tc.wantMore[i] {
					t.Errorf("row %d top = %v +%d; want %v +%d", i, row.Top, row.More, tc.wantTop[i], tc.wantMore[i])
				}
				if row.Host != f.Reports[i].Host || row.Summary != f.Reports[i].Summary {
					t.Errorf("row %d = %+v does not describe its report", i, row)
				}
			}
		})
	}
}

// topOf lists the first n unwaived error, deny and warn keys of r, worked out
// independently of Merge: error, then deny, then warn, each sorted by key.
func topOf(t *testing.T, r *judgement.Report, n int) []string {
	t.Helper()
	keys := rankedKeys(r)
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// moreOf counts the ranked keys of r beyond the first n.
func moreOf(t *testing.T, r *judgement.Report, n int) int {
	t.Helper()
	return max(len(rankedKeys(r))-n, 0)
}

// rankedKeys are the unwaived error, deny and warn keys of r in that order.
func rankedKeys(r *judgement.Report) []string {
	keys := []string{}
	for _, sev := range []string{judgement.SeverityError, judgement.SeverityDeny, judgement.SeverityWarn} {
		var ks []string
		for _, f := range r.Findings {
			if f.Waived == nil && f.Severity == sev {
				ks = append(ks, f.Key)
			}
		}
		sortStrings(ks)
		keys = append(keys, ks...)
	}
	return keys
}

// sortStrings is an insertion sort, kept apart from the code under test.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// TestMergeOrderIndependent: the order of --from does not change any byte.
func TestMergeOrderIndependent(t *testing.T) {
	a := withHost(loadFixture(t, "preflight_not_ready"), "mail1.siroe.com", "")
	b := withHost(loadFixture(t, "postflight_healthy"), "mail2.siroe.com", "")
	c := withHost(loadFixture(t, "preflight_not_ready"), "mail0.siroe.com", "/opt/server5")
	for _, format := range Formats() {
		t.Run(format, func(t *testing.T) {
			first := renderFleet(t, format, Merge(a, b, c))
			second := renderFleet(t, format, Merge(c, a, b))
			if !bytes.Equal(first, second) {
				t.Errorf("%s differs with the order of the inputs: %s", format, firstDiff(first, second))
			}
		})
	}
}

func TestFleetJUnit(t *testing.T) {
	notReady := withHost(loadFixture(t, "preflight_not_ready"), "mail1.siroe.com", "")
	healthy := withHost(loadFixture(t, "postflight_healthy"), "mail2.siroe.com", "")
	tests := []struct {
		name string
		in   []*judgement.Report
		want []declaredCounts
	}{
		{"two hosts", []*judgement.Report{healthy, notReady}, []declaredCounts{
			// The counts of the single-report JUnit test, per host.
			{Name: "mail1.siroe.com/preflight", Tests: 17, Failures: 3, Skipped: 2},
			{Name: "mail2.siroe.com/postflight", Tests: 10, Failures: 0, Skipped: 1},
		}},
		{"keys of another phase stay in the report's suite", []*judgement.Report{withHost(mixedPhaseReport(), "mail3", "")}, []declaredCounts{
			{Name: "mail3/postflight", Tests: 5, Failures: 2, Skipped: 1},
		}},
		{"empty report", []*judgement.Report{emptyReport()}, []declaredCounts{
			{Name: "unknown/quiesce"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := renderFleet(t, "junit", Merge(tc.in...))
			suites, err := junit.Ingest(out)
			if err != nil {
				t.Fatalf("go-junit cannot read the output: %v\n%s", err, out)
			}
			var doc declaredDoc
			if err := xml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("unmarshal junit: %v", err)
			}
			if len(suites) != len(tc.want) || len(doc.Suites) != len(tc.want) {
				t.Fatalf("got %d suites (%d declared); want %d", len(suites), len(doc.Suites), len(tc.want))
			}
			total := declaredCounts{Name: "msguard fleet"}
			for i, want := range tc.want {
				s := suites[i]
				got := declaredCounts{Name: s.Name, Tests: s.Totals.Tests, Failures: s.Totals.Failed, Errors: s.Totals.Error, Skipped: s.Totals.Skipped}
				if got != want {
					t.Errorf("suite %d counted = %+v; want %+v", i, got, want)
				}
				if doc.Suites[i] != want {
					t.Errorf("suite %d declares %+v; want %+v", i, doc.Suites[i], want)
				}
				host, _, _ := strings.Cut(want.Name, "/")
				if host == "unknown" {
					host = ""
				}
				for _, c := range s.Tests {
					if c.Classname != host {
						t.Errorf("testcase %s classname = %q; want %q", c.Name, c.Classname, host)
					}
				}
				total.Tests += want.Tests
				total.Failures += want.Failures
				total.Skipped += want.Skipped
			}
			if doc.declaredCounts != total {
				t.Errorf("testsuites declares %+v; want %+v", doc.declaredCounts, total)
			}
		})
	}
}

func TestFleetJSONRoundTrip(t *testing.T) {
	in := Merge(withHost(loadFixture(t, "preflight_not_ready"), "mail1", ""), withHost(emptyReport(), "mail2", ""))
	out := renderFleet(t, "json", in)
	var raw map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("fleet json: %v", err)
	}
	for _, k := range []string{"schema", "verdict", "exit_code", "summary", "hosts", "reports"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("fleet json lacks %q", k)
		}
	}
	// An empty report's lists are written as [] (as JSONRenderer does).
	if !bytes.Contains(out, []byte(`"findings": []`)) || !bytes.Contains(out, []byte(`"facts_errors": []`)) {
		t.Errorf("empty lists are not written as []:\n%s", out)
	}
	back, err := DecodeFleet(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("DecodeFleet: %v", err)
	}
	if again := renderFleet(t, "json", back); !bytes.Equal(again, out) {
		t.Errorf("decode and render again differs: %s", firstDiff(again, out))
	}
}

func TestDecodeFleetRejects(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not json", `{"schema":`, "decode fleet report"},
		{"other schema", `{"schema": "msguard.report/v1"}`, `fleet report schema "msguard.report/v1" is not "msguard.fleet/v1"`},
		{"report of another schema", `{"schema": "msguard.fleet/v1", "reports": [{"schema": "x"}]}`, `reports[0] is not a "msguard.report/v1" document`},
		{"null report", `{"schema": "msguard.fleet/v1", "reports": [null]}`, `reports[0] is not a "msguard.report/v1" document`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeFleet(strings.NewReader(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("DecodeFleet error = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestFleetSARIF(t *testing.T) {
	sch := sarifSchema(t)
	f := Merge(withHost(loadFixture(t, "preflight_not_ready"), "mail1", ""), withHost(loadFixture(t, "preflight_not_ready"), "mail2", ""))
	out := renderFleet(t, "sarif", f)
	if err := validateSARIF(sch, out); err != nil {
		t.Fatalf("fleet SARIF is not valid SARIF 2.1.0: %v", err)
	}
	var doc struct {
		Runs []struct {
			AutomationDetails struct {
				ID string `json:"id"`
			} `json:"automationDetails"`
			Invocations []struct {
				ExitCode int    `json:"exitCode"`
				Machine  string `json:"machine"`
			} `json:"invocations"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Runs) != 2 {
		t.Fatalf("%d runs; want 2", len(doc.Runs))
	}
	for i, host := range []string{"mail1", "mail2"} {
		run := doc.Runs[i]
		if want := "msguard/preflight/" + host + "/" + f.Reports[i].RunID; run.AutomationDetails.ID != want {
			t.Errorf("run %d automation id = %q; want %q", i, run.AutomationDetails.ID, want)
		}
		if run.Invocations[0].Machine != host || run.Invocations[0].ExitCode != 3 {
			t.Errorf("run %d invocation = %+v; want machine %s, exit 3", i, run.Invocations[0], host)
		}
	}
}

func TestFleetEscaping(t *testing.T) {
	esc := escapeReport()
	esc.Host = "mail<b>\x1b[31m.siroe.com"
	f := Merge(esc, withHost(loadFixture(t, "postflight_healthy"), "mail2", ""))
	tests := []struct {
		format string
		want   []string
		forbid []string
	}{
		{"html", []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co", "mail&lt;b&gt;"}, []string{"<script", "<img", "<b>"}},
		{"junit", []string{"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co", `classname="mail&lt;b&gt;`}, []string{"<script", "<img", "<b>"}},
		{"markdown", []string{"&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; co", "mail&lt;b&gt;"}, []string{"<script>alert", "<b>"}},
		{"text", []string{`mail<b>\x1b[31m.siroe.com`}, []string{"\x1b"}},
	}
	for _, tc := range tests {
		t.Run(tc.format, func(t *testing.T) {
			out := string(renderFleet(t, tc.format, f))
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

func TestFleetHTMLSelfContained(t *testing.T) {
	page := renderFleet(t, "html", Merge(escapeReport(), loadFixture(t, "postflight_healthy")))
	if refs := externalRefs(page); len(refs) > 0 {
		t.Errorf("fleet page refers outside itself: %v", refs)
	}
	for _, want := range []string{
		`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
		`<meta name="msguard-verdict" content="not_ready">`,
		`<tr class="bad" data-suite="mail.siroe.com/preflight">`,
	} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("fleet page lacks %s", want)
		}
	}
}

func TestFleetTextColor(t *testing.T) {
	f := Merge(loadFixture(t, "preflight_not_ready"))
	tests := []struct {
		color bool
		want  bool
	}{{false, false}, {true, true}}
	for _, tc := range tests {
		var b bytes.Buffer
		if err := (FleetTextRenderer{Color: tc.color}).Render(&b, f); err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(b.Bytes(), []byte("\x1b[")); got != tc.want {
			t.Errorf("Color %v: ANSI codes present = %v; want %v", tc.color, got, tc.want)
		}
	}
}

func TestGetFleet(t *testing.T) {
	for _, format := range Formats() {
		if _, err := GetFleet(format); err != nil {
			t.Errorf("GetFleet(%q): %v", format, err)
		}
	}
	if _, err := GetFleet("pdf"); err == nil || !strings.Contains(err.Error(), `unknown report format "pdf"`) {
		t.Errorf("GetFleet(pdf) error = %v", err)
	}
}
