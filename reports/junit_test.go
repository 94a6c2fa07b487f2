package reports

import (
	"encoding/xml"
	"github.com/msguard/msguard/judgement"
	"strings"
	"testing"

	junit "github.com/joshdk/go-junit"
)

// declaredCounts are the count attributes a suite element claims.
type declaredCounts struct {
	Name     string `xml:"name,attr"`
	Tests    int    `xml:"tests,attr"`
	Failures int    `xml:"failures,attr"`
	Errors   int    `xml:"errors,attr"`
	Skipped  int    `xml:"skipped,attr"`
}

// declaredDoc is the <testsuites> root with its suites' attributes.
type declaredDoc struct {
	XMLName xml.Name `xml:"testsuites"`
	declaredCounts
	Suites []declaredCounts `xml:"testsuite"`
}

func TestJUnitCounts(t *testing.T) {
	tests := []struct {
		name   string
		report *judgement.Report
		// suites and their counts: tests, failures, skipped.
		want []declaredCounts
	}{
		{"preflight_not_ready", loadFixture(t, "preflight_not_ready"), []declaredCounts{
			// 6 findings + 11 passed; deny×2 + error = 3 failures; warn + waived = 2 skipped.
			{Name: "preflight", Tests: 17, Failures: 3, Skipped: 2},
		}},
		{"postflight_healthy", loadFixture(t, "postflight_healthy"), []declaredCounts{
			{Name: "postflight", Tests: 10, Failures: 0, Skipped: 1},
		}},
		{"empty", emptyReport(), []declaredCounts{
			{Name: "quiesce"},
		}},
		{"mixed phases", mixedPhaseReport(), []declaredCounts{
			// The report's phase first; expired-waiver has no phase prefix.
			{Name: "postflight", Tests: 3, Failures: 1, Skipped: 1},
			{Name: "audit", Tests: 2, Failures: 1},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := render(t, "junit", tc.report)
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
			var total declaredCounts
			for i, want := range tc.want {
				s := suites[i]
				if s.Name != want.Name {
					t.Errorf("suite %d name = %q; want %q", i, s.Name, want.Name)
				}
				// What go-junit counts from the testcases...
				got := declaredCounts{Name: s.Name, Tests: s.Totals.Tests, Failures: s.Totals.Failed, Errors: s.Totals.Error, Skipped: s.Totals.Skipped}
				if got != want {
					t.Errorf("suite %s counted = %+v; want %+v", want.Name, got, want)
				}
				// ...must be what the attributes declare.
				if doc.Suites[i] != want {
					t.Errorf("suite %s declares %+v; want %+v", want.Name, doc.Suites[i], want)
				}
				total.Tests += want.Tests
				total.Failures += want.Failures
				total.Skipped += want.Skipped
				for _, c := range s.Tests {
					if c.Classname != "msguard."+want.Name {
						t.Errorf("testcase %s classname = %q; want %q", c.Name, c.Classname, "msguard."+want.Name)
					}
				}
			}
			total.Name = "msguard"
			if doc.declaredCounts != total {
				t.Errorf("testsuites declares %+v; want %+v", doc.declaredCounts, total)
			}
		})
	}
}

// mixedPhaseReport has keys of two phases: each gets its own suite, the
// report's phase first.
func mixedPhaseReport() *judgement.Report {
	return &judgement.Report{
		Schema: judgement.ReportSchema, Phase: "postflight", Verdict: judgement.VerdictUnhealthy, ExitCode: 3,
		Findings: []judgement.Finding{
			{Key: "audit.baseline.users", Severity: judgement.SeverityDeny, Msg: "3 recipients missing"},
			{Key: "postflight.msg.version", Severity: judgement.SeverityDeny, Msg: "5.1 still runs"},
			{Key: "postflight.queue.stuck", Severity: judgement.SeverityWarn, Msg: "4 messages older than 1h"},
			{Key: "expired-waiver", Severity: judgement.SeverityInfo, Msg: "waiver for an unknown key"},
		},
		Passed: []string{"audit.baseline.mailboxes"},
	}
}

func TestJUnitCases(t *testing.T) {
	out := render(t, "junit", loadFixture(t, "preflight_not_ready"))
	suites, err := junit.Ingest(out)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	byName := map[string]junit.Test{}
	for _, c := range suites[0].Tests {
		byName[c.Name] = c
	}
	tests := []struct {
		key, status, message, errType string
		body                          []string
	}{
		{
			key: "preflight.ds.unreachable", status: "failed", errType: "deny",
			message: "start the Directory Server and check the bind DN and password; $ /usr/iplanet/server5/slapd-ds/start-slapd",
			body:    []string{"cannot bind to ldap://ds.siroe.com:389", "actual: connection refused", "expected: bind succeeds"},
		},
		{
			key: "preflight.ds.version_unknown", status: "failed", errType: "error",
			message: "fix the ldap collector error below and run the check again",
		},
		{
			key: "preflight.queue.backlog", status: "skipped",
			message: "warning: 142 messages (18.4 MiB) are queued; the oldest has waited 2 days 3 hours",
		},
		{
			key: "preflight.host.mismatch", status: "skipped",
			message: "waived: host renamed in 2024; mail-old.siroe.com is a DNS alias of this host (ops@siroe.com, expires 2026-12-31)",
		},
		{key: "preflight.msg.version_detected", status: "passed"},
		{key: "preflight.store.missing", status: "passed"},
	}
	for _, tc := range tests {
		c, ok := byName[tc.key]
		if !ok {
			t.Errorf("no testcase %s", tc.key)
			continue
		}
		if string(c.Status) != tc.status || c.Message != tc.message {
			t.Errorf("%s = %s %q; want %s %q", tc.key, c.Status, c.Message, tc.status, tc.message)
		}
		if tc.errType != "" {
			e, ok := c.Error.(junit.Error)
			if !ok || e.Type != tc.errType {
				t.Errorf("%s error = %#v; want type %q", tc.key, c.Error, tc.errType)
			}
			for _, s := range tc.body {
				if !strings.Contains(e.Body, s) {
					t.Errorf("%s failure body lacks %q:\n%s", tc.key, s, e.Body)
				}
			}
		}
	}
	if !strings.Contains(suites[0].SystemErr, "facts error: ldap: bind ldap://ds.siroe.com:389") {
		t.Errorf("system-err lacks the ldap facts error: %q", suites[0].SystemErr)
	}
	if got := suites[0].Properties["verdict"]; got != "not_ready" {
		t.Errorf("property verdict = %q; want not_ready", got)
	}
}

// TestJUnitEscapeRoundTrip checks that markup in a message survives the XML
// escaping unchanged.
func TestJUnitEscapeRoundTrip(t *testing.T) {
	r := escapeReport()
	out := render(t, "junit", r)
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
					Body    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, out)
	}
	c := doc.Suites[0].Cases[0]
	if c.Failure == nil {
		t.Fatalf("testcase %s has no failure", c.Name)
	}
	if want := `$ echo "<script>" && rm -f /tmp/x; ask <ops> & wait`; c.Failure.Message != want {
		t.Errorf("failure message = %q; want %q", c.Failure.Message, want)
	}
	if !strings.Contains(c.Failure.Body, r.Findings[0].Msg) {
		t.Errorf("failure body %q lacks the message %q", c.Failure.Body, r.Findings[0].Msg)
	}
}
