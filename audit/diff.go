package audit

import (
	"github.com/msguard/msguard/judgement"
	"sort"
)

// KeyChange is one finding key in the comparison of two runs.
type KeyChange struct {
	Key string `json:"key"`
	// Severity is the outcome in the later run (deny, error, warn, info),
	// or in the earlier run for a resolved key.
	Severity string `json:"severity"`
	// Was is the outcome in the earlier run when it differs (persisting keys).
	Was string `json:"was,omitempty"`
	Msg string `json:"msg"`
}

// Changes is what changed between two runs, by finding key.
type Changes struct {
	From       string      `json:"from"`
	To         string      `json:"to"`
	New        []KeyChange `json:"new"`
	Resolved   []KeyChange `json:"resolved"`
	Persisting []KeyChange `json:"persisting"`
}

// active maps each key with an unwaived finding to its worst finding.
func active(r *judgement.Report) map[string]judgement.Finding {
	out := map[string]judgement.Finding{}
	for _, f := range r.Findings {
		if f.Waived != nil {
			continue
		}
		if cur, ok := out[f.Key]; !ok || rank(f.Severity) > rank(cur.Severity) {
			out[f.Key] = f
		}
	}
	return out
}

// rank orders severities from the least to the most blocking.
func rank(sev string) int {
	switch sev {
	case judgement.SeverityInfo:
		return 0
	case judgement.SeverityWarn:
		return 1
	case judgement.SeverityDeny:
		return 2
	default: // error, or unknown: never less than a deny
		return 3
	}
}

// Diff compares the unwaived findings of two runs: keys found only in to
// are new, keys found only in from are resolved, keys in both persist.
func Diff(fromID string, from *judgement.Report, toID string, to *judgement.Report) Changes {
	a, b := active(from), active(to)
	c := Changes{From: fromID, To: toID, New: []KeyChange{}, Resolved: []KeyChange{}, Persisting: []KeyChange{}}
	for k, f := range b {
		old, ok := a[k]
		switch {
		case !ok:
			c.New = append(c.New, KeyChange{Key: k, Severity: f.Severity, Msg: f.Msg})
		case old.Severity != f.Severity:
			c.Persisting = append(c.Persisting, KeyChange{Key: k, Severity: f.Severity, Was: old.Severity, Msg: f.Msg})
		default:
			c.Persisting = append(c.Persisting, KeyChange{Key: k, Severity: f.Severity, Msg: f.Msg})
		}
	}
	for k, f := range a {
		if _, ok := b[k]; !ok {
			c.Resolved = append(c.Resolved, KeyChange{Key: k, Severity: f.Severity, Msg: f.Msg})
		}
	}
	for _, l := range [][]KeyChange{c.New, c.Resolved, c.Persisting} {
		sort.Slice(l, func(i, j int) bool { return l[i].Key < l[j].Key })
	}
	return c
}
