package audit

import (
	"github.com/msguard/msguard/judgement"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// report builds a report that finished at t with the given findings.
func report(t time.Time, verdict string, findings ...judgement.Finding) *judgement.Report {
	return &judgement.Report{Schema: judgement.ReportSchema, RunID: "run-" + t.Format("150405") + "-" + verdict, Phase: "audit",
		Verdict: verdict, StartedAt: t, FinishedAt: t, Findings: findings, FactsErrors: []facts.FactsError{}}
}

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func TestHistoryAppendNamesAndMode(t *testing.T) {
	h := History{Dir: filepath.Join(t.TempDir(), "hist")}
	e1, err := h.Append(report(t0, judgement.VerdictHealthy))
	if err != nil {
		t.Fatal(err)
	}
	e2, err := h.Append(report(t0, judgement.VerdictUnhealthy)) // same millisecond
	if err != nil {
		t.Fatal(err)
	}
	if e1.Name != "20261127T120000.000Z-healthy.json" || e2.Name != "20261127T120000.001Z-unhealthy.json" {
		t.Errorf("names %s, %s", e1.Name, e2.Name)
	}
	fi, err := os.Stat(e1.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v; want 0600", fi.Mode().Perm())
	}
	if err := os.WriteFile(filepath.Join(h.Dir, "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	list, err := h.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Verdict != "healthy" || list[1].Verdict != "unhealthy" {
		t.Fatalf("list %+v", list)
	}
	r, err := h.Load(list[1])
	if err != nil || r.Verdict != judgement.VerdictUnhealthy {
		t.Fatalf("load: %v %v", r, err)
	}
	for _, id := range []string{e2.Name, e2.ID(), "20261127T120000.001", r.RunID} {
		if got, err := h.Find(list, id); err != nil || got.Name != e2.Name {
			t.Errorf("Find(%q) = %v, %v", id, got.Name, err)
		}
	}
	if _, err := h.Find(list, "20261127T1200"); err == nil {
		t.Errorf("an ambiguous prefix was accepted")
	}
	if _, err := h.Find(list, "nope"); err == nil {
		t.Errorf("an unknown run was accepted")
	}
}

func TestHistoryRotate(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name   string
		ages   []time.Duration // age of each run at now, oldest first
		keep   int
		maxAge time.Duration
		left   int
	}{
		{"count", []time.Duration{5 * day, 4 * day, 3 * day, 2 * day, day}, 3, 0, 3},
		{"age", []time.Duration{100 * day, 91 * day, 10 * day, day}, 0, 90 * day, 2},
		{"both", []time.Duration{100 * day, 3 * day, 2 * day, day}, 2, 90 * day, 2},
		{"no limits", []time.Duration{400 * day, day}, 0, 0, 2},
		{"newest always kept", []time.Duration{200 * day}, 1, 90 * day, 1},
	}
	now := t0.Add(365 * day)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := History{Dir: t.TempDir()}
			for _, age := range tc.ages {
				if _, err := h.Append(report(now.Add(-age), judgement.VerdictHealthy)); err != nil {
					t.Fatal(err)
				}
			}
			removed, err := h.Rotate(tc.keep, tc.maxAge, now)
			if err != nil {
				t.Fatal(err)
			}
			list, _ := h.List()
			if len(list) != tc.left || len(removed) != len(tc.ages)-tc.left {
				t.Fatalf("%d left, %d removed; want %d left", len(list), len(removed), tc.left)
			}
			// What is left is the newest runs.
			newest := now.Add(-tc.ages[len(tc.ages)-1]).Truncate(time.Millisecond)
			if !list[len(list)-1].Time.Equal(newest) {
				t.Errorf("newest left %v; want %v", list[len(list)-1].Time, newest)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	f := func(key, sev string) judgement.Finding {
		return judgement.Finding{Key: key, Severity: sev, Msg: key + " " + sev}
	}
	waived := f("audit.baseline.pab", judgement.SeverityDeny)
	waived.Waived = &judgement.Waived{Reason: "known"}
	tests := []struct {
		name                       string
		from, to                   []judgement.Finding
		newK, resolved, persisting []string
		was                        string
	}{
		{"nothing", nil, nil, nil, nil, nil, ""},
		{"new and resolved", []judgement.Finding{f("a", "deny")}, []judgement.Finding{f("b", "warn")}, []string{"b"}, []string{"a"}, nil, ""},
		{"persisting", []judgement.Finding{f("a", "deny"), f("c", "warn")}, []judgement.Finding{f("a", "deny"), f("c", "deny")}, nil, nil, []string{"a", "c"}, "warn"},
		{"waived does not count", []judgement.Finding{f("audit.baseline.pab", "deny")}, []judgement.Finding{waived}, nil, []string{"audit.baseline.pab"}, nil, ""},
		{"two findings of one key", []judgement.Finding{f("a", "warn"), f("a", "deny")}, []judgement.Finding{f("a", "deny")}, nil, nil, []string{"a"}, ""},
	}
	keys := func(l []KeyChange) []string {
		var out []string
		for _, k := range l {
			out = append(out, k.Key)
		}
		return out
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Diff("x", report(t0, "unhealthy", tc.from...), "y", report(t0.Add(time.Hour), "unhealthy", tc.to...))
			if !reflect.DeepEqual(keys(c.New), tc.newK) || !reflect.DeepEqual(keys(c.Resolved), tc.resolved) || !reflect.DeepEqual(keys(c.Persisting), tc.persisting) {
				t.Errorf("new %v resolved %v persisting %v", keys(c.New), keys(c.Resolved), keys(c.Persisting))
			}
			if tc.was != "" {
				var was []string
				for _, p := range c.Persisting {
					if p.Was != "" {
						was = append(was, p.Was)
					}
				}
				if len(was) != 1 || was[0] != tc.was {
					t.Errorf("was %v; want %s", was, tc.was)
				}
			}
		})
	}
}
