package audit

import (
	"context"
	"github.com/msguard/msguard/judgement"
	"sort"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/policies"
)

// Judge evaluates the postflight and the audit policies over one snapshot
// (base is the baseline, since the restart time) and builds one report of
// phase "audit" with the findings of both, waivers applied.
func Judge(ctx context.Context, e *policies.Engine, waivers []policies.Waiver, snap, base *facts.Snapshot, since time.Time, started time.Time, failOnWarn bool) (*judgement.Report, error) {
	now := time.Now().UTC()
	p := policies.Params{Now: now.Format(time.RFC3339), Baseline: base}
	if !since.IsZero() {
		p.Since = since.UTC().Format(time.RFC3339Nano)
	}
	all := &policies.Result{}
	for _, phase := range []string{"postflight", "audit"} {
		p.Phase = phase
		res, err := e.Evaluate(ctx, policies.Input{Snapshot: snap, Params: p})
		if err != nil {
			return nil, err
		}
		all.Findings = append(all.Findings, res.Findings...)
		all.Passed = append(all.Passed, res.Passed...)
		for k, title := range res.PassedTitles {
			if all.PassedTitles == nil {
				all.PassedTitles = map[string]string{}
			}
			all.PassedTitles[k] = title
		}
	}
	if base == nil {
		for i, f := range all.Findings {
			if f.Severity == judgement.SeverityError && strings.HasPrefix(f.Key, "audit.") && strings.Contains(f.Msg, "no baseline") {
				all.Findings[i].Remediation = []judgement.Remediation{{Type: "hint", Text: "pass --baseline FILE: a snapshot taken with msguard collect before the upgrade (remediate keeps one as <backup-dir>/before.json)"}}
			}
		}
	}
	sort.SliceStable(all.Findings, func(i, j int) bool { return all.Findings[i].Key < all.Findings[j].Key })
	sort.Strings(all.Passed)
	all.Findings = policies.ApplyWaivers(all.Findings, waivers, e.Keys(), now)
	rep := policies.Report(policies.Judgement{Phase: "audit", Snapshot: snap, Result: all, StartedAt: started, FailOnWarn: failOnWarn})
	rep.Audit = stats(snap, base, since)
	return rep, nil
}

// stats gathers the numbers the history trend and the metrics need.
func stats(snap, base *facts.Snapshot, since time.Time) *judgement.AuditStats {
	st := &judgement.AuditStats{}
	if base != nil && !base.CollectedAt.IsZero() {
		t := base.CollectedAt
		st.BaselineCollectedAt = &t
	}
	if !since.IsZero() {
		t := since.UTC()
		st.Since = &t
	}
	if q := snap.Queue; q != nil {
		total := q.Total
		st.Queue = &total
		st.QueueChannels = map[string]int64{}
		for _, c := range q.Channels {
			st.QueueChannels[c.Name] = c.Messages
		}
	}
	return st
}
