package judgement

import (
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/collectors/facts"
	"io"
	"time"
)

// ReportSchema is the identifier of the report JSON document (contract.md).
const ReportSchema = "msguard.report/v1"

// Severity of a finding.
const (
	SeverityDeny = "deny"
	SeverityWarn = "warn"
	SeverityInfo = "info"
	// SeverityError marks a finding that could not be judged because a fact
	// is missing; it counts like a deny (unknown never passes).
	SeverityError = "error"
	// SeveritySkip marks a key that was not judged for a reason that is
	// not a failure (no probe account given, an earlier leg failed): it
	// neither passes nor blocks, and reports show it as skipped.
	SeveritySkip = "skip"
)

// Verdicts of a report.
const (
	VerdictReady     = "ready"     // preflight/quiesce: no unwaived deny
	VerdictNotReady  = "not_ready" // preflight/quiesce: at least one unwaived deny
	VerdictHealthy   = "healthy"   // postflight/audit: no unwaived deny
	VerdictUnhealthy = "unhealthy" // postflight/audit: at least one unwaived deny
	VerdictError     = "error"     // the judgement itself failed
)

// Report is the result of judging one snapshot in one phase: the
// `msguard.report/v1` document of contract.md.
type Report struct {
	Schema     string     `json:"schema"`
	Tool       facts.Tool `json:"tool"`
	RunID      string     `json:"run_id"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at"`
	Host       string     `json:"host"`
	ServerRoot string     `json:"server_root"`
	Phase      string     `json:"phase"`
	Verdict    string     `json:"verdict"`
	Summary    Summary    `json:"summary"`
	Findings   []Finding  `json:"findings"`
	// Passed lists the keys that were evaluated and did not fire, so JUnit
	// and SARIF can show them as passing test cases / rules.
	Passed []string `json:"passed,omitempty"`
	// PassedTitles gives each passed key its policy's title, so that a
	// report re-rendered later (report --from) still names what passed.
	PassedTitles map[string]string  `json:"passed_titles,omitempty"`
	FactsErrors  []facts.FactsError `json:"facts_errors"`
	// ExitCode is the code the command exits with for this report.
	ExitCode int `json:"exit_code"`
	// Audit holds an audit run's numbers (queue depth, baseline); nil for
	// the other phases, and then absent from the JSON.
	Audit *AuditStats `json:"audit,omitempty"`
	// MailFlow is the mail-flow probe's outcome as the snapshot holds it
	// (each leg's result and latency); nil when the snapshot has none.
	MailFlow *facts.MailFlow `json:"mailflow,omitempty"`
	// Rehearsal holds what msguard rehearse ran; nil for the other
	// commands, and then absent from the JSON.
	Rehearsal *Rehearsal `json:"rehearsal,omitempty"`
}

// Summary counts findings by outcome. A waived deny counts in Waived, not Deny.
type Summary struct {
	Deny   int `json:"deny"`
	Warn   int `json:"warn"`
	Pass   int `json:"pass"`
	Waived int `json:"waived"`
	Error  int `json:"error"`
	// Skipped counts skip findings (absent when there are none).
	Skipped int `json:"skipped,omitempty"`
}

// Finding is one policy result on one host.
type Finding struct {
	Key         string        `json:"key"`
	Severity    string        `json:"severity"`
	Title       string        `json:"title"`
	Msg         string        `json:"msg"`
	Description string        `json:"description,omitempty"`
	Actual      string        `json:"actual,omitempty"`
	Expected    string        `json:"expected,omitempty"`
	Remediation []Remediation `json:"remediation,omitempty"`
	Waived      *Waived       `json:"waived,omitempty"`
}

// Remediation is one thing the operator can do about a finding.
type Remediation struct {
	Type string `json:"type"` // "hint" or "command"
	Text string `json:"text"`
}

// Waived says who accepted a finding, why and until when.
type Waived struct {
	Reason   string `json:"reason"`
	Approver string `json:"approver"`
	Expires  string `json:"expires"` // YYYY-MM-DD
}

// Encode writes the report as indented JSON.
func (r *Report) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// DecodeReport reads a report and rejects documents of another schema.
func DecodeReport(rd io.Reader) (*Report, error) {
	var r Report
	if err := json.NewDecoder(rd).Decode(&r); err != nil {
		return nil, fmt.Errorf("decode report: %w", err)
	}
	if r.Schema != ReportSchema {
		return nil, fmt.Errorf("report schema %q is not %q", r.Schema, ReportSchema)
	}
	return &r, nil
}
