package rehearse

import (
	"strings"
	"time"

	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/remediate"
)

// StepsFromJournal lists each step the journal records, in order, with
// how it ended and how long it took (from its intent to its outcome).
func StepsFromJournal(records []remediate.Record) []judgement.RehearsalStep {
	var out []judgement.RehearsalStep
	started := map[string]time.Time{}
	for _, r := range records {
		switch r.Kind {
		case remediate.KindIntent, remediate.KindUndoIntent:
			started[r.Kind+r.Step] = r.Time
		case remediate.KindDone, remediate.KindSkip, remediate.KindFailed:
			s := judgement.RehearsalStep{ID: r.Step, Outcome: r.Kind, Detail: r.Detail["why"]}
			if t, ok := started[remediate.KindIntent+r.Step]; ok {
				s.DurationMS = r.Time.Sub(t).Milliseconds()
			}
			if s.Detail == "" {
				s.Detail = r.Detail["error"]
			}
			out = append(out, s)
		case remediate.KindUndone:
			s := judgement.RehearsalStep{ID: r.Step, Outcome: "undone"}
			if t, ok := started[remediate.KindUndoIntent+r.Step]; ok {
				s.DurationMS = r.Time.Sub(t).Milliseconds()
			}
			out = append(out, s)
		}
	}
	return out
}

// stopsService reports whether a done step took the mail service down:
// a stop, or a cluster's switch-off.
func stopsService(s judgement.RehearsalStep) bool {
	if s.Outcome != remediate.KindDone {
		return false
	}
	switch {
	case strings.HasPrefix(s.ID, "stop."):
		return true
	case strings.HasPrefix(s.ID, "ha."):
		return strings.HasSuffix(s.ID, ".off") || strings.HasSuffix(s.ID, ".offline")
	}
	return false
}

// DowntimeMS sums the steps from the first that stops the mail service to
// post.start (or, after a failure, to the end of the backout, which
// starts the servers again).
func DowntimeMS(steps []judgement.RehearsalStep) int64 {
	var d int64
	on := false
	for _, s := range steps {
		if !on && stopsService(s) {
			on = true
		}
		if on {
			d += s.DurationMS
		}
		if s.ID == "post.start" {
			break
		}
	}
	return d
}
