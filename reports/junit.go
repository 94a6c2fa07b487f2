package reports

import (
	"encoding/xml"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"sort"
	"strconv"
	"strings"
)

// JUnitRenderer writes the report as JUnit XML for CI test views: one
// <testsuites> with one <testsuite name="PHASE"> per phase (the phase is the
// first part of a finding key; the report's phase comes first), and one
// <testcase name="KEY" classname="msguard.PHASE"> per finding or passed key.
//
//   - deny  → <failure type="deny" message="remediation, or msg">, the details in the body
//   - error → <failure type="error">: a finding that could not be judged
//     blocks like a deny, so it is a failure too. The errors attribute is
//     always 0: JUnit's <error> means the test harness broke, and a policy
//     that could not judge is a result, not a broken harness.
//   - warn  → <skipped message="warning: msg">, so CI stays green on warnings
//   - waived → <skipped message="waived: reason (approver, expires DATE)">
//   - info and passed keys → a plain passing testcase (info keeps its msg in
//     <system-out>)
//
// The facts errors go to <system-err> of the report's phase suite.
type JUnitRenderer struct{}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Hostname   string          `xml:"hostname,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemErr  *junitText      `xml:"system-err,omitempty"`
}

// add appends a test case and counts it: tests, and failures or skipped
// by the case's outcome.
func (s *junitSuite) add(c junitCase) {
	switch {
	case c.Failure != nil:
		s.Failures++
	case c.Skipped != nil:
		s.Skipped++
	}
	s.Tests++
	s.Cases = append(s.Cases, c)
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitOutcome `xml:"failure,omitempty"`
	Skipped   *junitOutcome `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

// junitOutcome is the body of a <failure> or <skipped> element.
type junitOutcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",innerxml"` // escaped by junitEscape
}

// junitText is element content escaped by junitEscape: XML text with its
// line breaks kept as they are. encoding/xml would write each as &#xA;,
// which CI viewers that show the raw file print literally.
type junitText struct {
	Inner string `xml:",innerxml"`
}

// junitEscape escapes s as element text, keeping line breaks.
func junitEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	// The escaped text holds "&#xA;" only where s had a newline: a literal
	// "&#xA;" in s was escaped to "&amp;#xA;".
	return strings.ReplaceAll(b.String(), "&#xA;", "\n")
}

// knownPhases are the key prefixes that get a suite of their own.
var knownPhases = map[string]bool{"preflight": true, "quiesce": true, "postflight": true, "audit": true}

// Render writes r as JUnit XML.
func (JUnitRenderer) Render(w io.Writer, r *judgement.Report) error {
	doc := junitDocument(r)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit report: %w", err)
	}
	return nil
}

// junitDocument builds the <testsuites> document of r.
func junitDocument(r *judgement.Report) junitSuites {
	primary := r.Phase
	if primary == "" {
		primary = "msguard"
	}
	suites := map[string]*junitSuite{}
	suite := func(key string) *junitSuite {
		phase, _, _ := strings.Cut(key, ".")
		if !knownPhases[phase] {
			phase = primary
		}
		s := suites[phase]
		if s == nil {
			s = &junitSuite{Name: phase, Time: "0.000"}
			suites[phase] = s
		}
		return s
	}
	suite(primary) // the report's phase always has a suite, even an empty one
	for _, f := range ordered(r) {
		s := suite(f.Key)
		s.add(junitCaseOf(s.Name, &f))
	}
	passed := append([]string(nil), r.Passed...)
	sort.Strings(passed)
	for _, k := range passed {
		s := suite(k)
		s.add(junitCase{Name: k, Classname: "msguard." + s.Name})
	}

	dur := "0.000"
	if !r.StartedAt.IsZero() && r.FinishedAt.After(r.StartedAt) {
		dur = strconv.FormatFloat(r.FinishedAt.Sub(r.StartedAt).Seconds(), 'f', 3, 64)
	}
	m := suites[primary]
	m.Time = dur
	m.Hostname = r.Host
	if !r.StartedAt.IsZero() {
		// The JUnit schema wants a timestamp without zone; it is UTC.
		m.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	m.Properties = []junitProperty{
		{Name: "host", Value: r.Host},
		{Name: "server_root", Value: r.ServerRoot},
		{Name: "phase", Value: r.Phase},
		{Name: "verdict", Value: r.Verdict},
		{Name: "exit_code", Value: strconv.Itoa(r.ExitCode)},
		{Name: "run_id", Value: r.RunID},
		{Name: "msguard_version", Value: r.Tool.Version},
	}
	if r.MailFlow != nil {
		m.Properties = append(m.Properties, junitProperty{Name: "mailflow", Value: mailflowLines(r.MailFlow)[0]})
		for _, l := range mailflowLegs(r.MailFlow) {
			m.Properties = append(m.Properties, junitProperty{Name: "mailflow." + l.Name, Value: l.text()})
		}
	}
	var errs []string
	for _, fe := range r.FactsErrors {
		errs = append(errs, "facts error: "+fe.Collector+": "+fe.Error)
	}
	if len(errs) > 0 {
		m.SystemErr = &junitText{Inner: junitEscape(strings.Join(errs, "\n"))}
	}

	doc := junitSuites{Name: "msguard", Time: dur}
	names := make([]string, 0, len(suites))
	for n := range suites {
		if n != primary {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if r.Rehearsal != nil {
		rs := rehearsalSuite(r.Rehearsal)
		suites[rs.Name] = &rs
		names = append(names, rs.Name)
	}
	for _, n := range append([]string{primary}, names...) {
		s := suites[n]
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, *s)
	}
	return doc
}

// junitCaseOf maps one finding to a testcase of the suite of phase.
func junitCaseOf(phase string, f *judgement.Finding) junitCase {
	c := junitCase{Name: f.Key, Classname: "msguard." + phase}
	body := junitEscape(junitBody(f))
	switch o := outcome(f); o {
	case outcomeError, outcomeDeny:
		msg := remediationText(f)
		if msg == "" {
			msg = f.Msg
		}
		c.Failure = &junitOutcome{Message: msg, Type: o, Body: body}
	case outcomeWarn:
		c.Skipped = &junitOutcome{Message: "warning: " + f.Msg, Body: body}
	case outcomeWaived:
		c.Skipped = &junitOutcome{Message: "waived: " + waiverText(f.Waived), Body: body}
	case outcomeSkip:
		c.Skipped = &junitOutcome{Message: "skipped: " + f.Msg, Body: body}
	default:
		c.SystemOut = &junitText{Inner: body}
	}
	return c
}

// junitBody is the text of a failure or skip: what was found, actual and
// expected values, why the check exists and what to do.
func junitBody(f *judgement.Finding) string {
	var b strings.Builder
	line := func(label, v string) {
		if v != "" {
			b.WriteString(label + v + "\n")
		}
	}
	line("", f.Title)
	line("", f.Msg)
	line("actual: ", f.Actual)
	line("expected: ", f.Expected)
	line("why: ", f.Description)
	if f.Waived != nil {
		line("waived: ", waiverText(f.Waived))
	}
	if len(f.Remediation) > 0 {
		b.WriteString("remediation:\n")
		for _, rm := range f.Remediation {
			b.WriteString("  " + remediationLine(rm) + "\n")
		}
	}
	return b.String()
}
