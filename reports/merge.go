package reports

import (
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"sort"
	"strconv"

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
	sum.Skipped += s.Skipped
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
