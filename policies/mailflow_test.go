package policies

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/judgement"
)

var mailflowKeys = []string{"postflight.mailflow.submit", "postflight.mailflow.delivery", "postflight.mailflow.fetch"}

// A snapshot whose probe did not run, for any reason, never passes the
// mail-flow keys: a failed collector is a deny, no account or no facts a
// skip; skips do not change the verdict.
func TestMailFlowNeverPassesUnprobed(t *testing.T) {
	e := engine(t, Config{})
	tests := []struct {
		name     string
		set      func(s *facts.Snapshot)
		severity map[string]string // key -> the severity it must have
		contains string
	}{
		{"no probe account", func(s *facts.Snapshot) {
			s.MailFlow = &facts.MailFlow{Skipped: "no probe account given (--probe-user): mail flow not probed"}
		},
			map[string]string{"postflight.mailflow.submit": "skip", "postflight.mailflow.delivery": "skip", "postflight.mailflow.fetch": "skip", "audit.mailflow.latency": "skip"},
			"no probe account"},
		{"snapshot without probe facts", func(s *facts.Snapshot) { s.MailFlow = nil },
			map[string]string{"postflight.mailflow.submit": "skip", "postflight.mailflow.delivery": "skip", "postflight.mailflow.fetch": "skip", "audit.mailflow.latency": "skip"},
			"no mail-flow facts"},
		{"collector failed", func(s *facts.Snapshot) {
			s.MailFlow = nil
			s.Collectors[facts.CollectorMailFlow] = facts.CollectorRun{Error: "timed out after 30s (raise --timeout)"}
		}, map[string]string{"postflight.mailflow.submit": "deny", "postflight.mailflow.delivery": "skip", "postflight.mailflow.fetch": "skip", "audit.mailflow.latency": "skip"}, "timed out"},
	}
	for _, tc := range tests {
		for _, phase := range []string{"postflight", "audit"} {
			t.Run(tc.name+"/"+phase, func(t *testing.T) {
				s := readySnapshot()
				s.Versions.Messaging.Version = "5.2"
				tc.set(s)
				p := params(phase)
				p.Baseline = readySnapshot()
				res, err := e.Evaluate(context.Background(), Input{Snapshot: s, Params: p})
				if err != nil {
					t.Fatal(err)
				}
				for key, sev := range tc.severity {
					if !strings.HasPrefix(key, phase+".") {
						continue // audit runs the postflight phase apart
					}
					i := slices.IndexFunc(res.Findings, func(f judgement.Finding) bool { return f.Key == key && f.Severity == sev })
					if i < 0 {
						t.Errorf("%s: no %s finding; findings %+v", key, sev, res.Findings)
						continue
					}
					if !strings.Contains(res.Findings[i].Msg, tc.contains) {
						t.Errorf("%s: %q does not say %q", key, res.Findings[i].Msg, tc.contains)
					}
				}
				for _, k := range append(mailflowKeys, "audit.mailflow.latency") {
					if strings.HasPrefix(k, phase+".") && slices.Contains(res.Passed, k) {
						t.Errorf("%s passed although the mail flow was not probed", k)
					}
				}
				rep := Report(Judgement{Phase: phase, Snapshot: s, Result: res})
				if tc.name != "collector failed" && rep.Summary.Skipped == 0 {
					t.Errorf("summary counts no skipped: %+v", rep.Summary)
				}
			})
		}
	}
}

// A probe whose legs all worked passes the keys.
func TestMailFlowPassesWhenItFlows(t *testing.T) {
	e := engine(t, Config{})
	s := readySnapshot()
	s.Versions.Messaging.Version = "5.2"
	ok := func(ms float64) *facts.MailFlowLeg { return &facts.MailFlowLeg{Result: facts.LegOK, LatencyMS: ms} }
	s.MailFlow = &facts.MailFlow{User: "probe", Submit: ok(10), Delivery: ok(500), IMAP: ok(20), POP3: ok(20), Cleanup: &facts.MailCleanup{Clean: true}}
	for _, phase := range []string{"postflight", "audit"} {
		p := params(phase)
		p.Baseline = readySnapshot()
		res, err := e.Evaluate(context.Background(), Input{Snapshot: s, Params: p})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range append(mailflowKeys, "audit.mailflow.latency") {
			if strings.HasPrefix(k, phase+".") && !slices.Contains(res.Passed, k) {
				t.Errorf("%s did not pass: %+v", k, res.Findings)
			}
		}
	}
}
