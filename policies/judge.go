package policies

import (
	"crypto/rand"
	"encoding/hex"
	"github.com/msguard/msguard/judgement"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/msguard/msguard/internal/exitcode"
)

// Judgement is what a report needs besides the findings.
type Judgement struct {
	Phase      string
	Snapshot   *facts.Snapshot
	Result     *Result
	StartedAt  time.Time
	FailOnWarn bool
}

// Report builds the msguard.report/v1 document: summary, verdict and the
// exit code of contract.md. Unwaived deny and error findings make the host
// not ready (exit 3); warnings alone exit 4 with FailOnWarn.
func Report(j Judgement) *judgement.Report {
	r := &judgement.Report{
		Schema:       judgement.ReportSchema,
		Tool:         facts.Tool{Name: "msguard", Version: buildinfo.Version()},
		RunID:        newRunID(),
		StartedAt:    j.StartedAt.UTC(),
		FinishedAt:   time.Now().UTC(),
		Phase:        j.Phase,
		Findings:     j.Result.Findings,
		Passed:       j.Result.Passed,
		PassedTitles: j.Result.PassedTitles,
		FactsErrors:  []facts.FactsError{},
	}
	if r.Findings == nil {
		r.Findings = []judgement.Finding{}
	}
	if s := j.Snapshot; s != nil {
		r.Host, r.ServerRoot = s.Host, s.ServerRoot
		if j.Phase == "postflight" || j.Phase == "audit" {
			r.MailFlow = s.MailFlow
		}
		if fe := s.Errors(); fe != nil {
			r.FactsErrors = fe
		}
	}
	r.Summary.Pass = len(r.Passed)
	for _, f := range r.Findings {
		switch {
		case f.Waived != nil:
			r.Summary.Waived++
		case f.Severity == judgement.SeverityDeny:
			r.Summary.Deny++
		case f.Severity == judgement.SeverityError:
			r.Summary.Error++
		case f.Severity == judgement.SeverityWarn:
			r.Summary.Warn++
		case f.Severity == judgement.SeveritySkip:
			r.Summary.Skipped++
		}
	}
	healthy := j.Phase == "postflight" || j.Phase == "audit"
	switch {
	case r.Summary.Deny+r.Summary.Error > 0:
		r.Verdict, r.ExitCode = judgement.VerdictNotReady, exitcode.NotReady
		if healthy {
			r.Verdict = judgement.VerdictUnhealthy
		}
	case r.Summary.Warn > 0 && j.FailOnWarn:
		r.Verdict, r.ExitCode = judgement.VerdictReady, exitcode.WarnOnly
		if healthy {
			r.Verdict = judgement.VerdictHealthy
		}
	default:
		r.Verdict, r.ExitCode = judgement.VerdictReady, exitcode.OK
		if healthy {
			r.Verdict = judgement.VerdictHealthy
		}
	}
	return r
}

func newRunID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}
