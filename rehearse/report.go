package rehearse

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/msguard/msguard/remediate"
)

// StepRun is one step of the plan as the rehearsal ran it.
type StepRun struct {
	ID       string        `json:"id"`
	Outcome  string        `json:"outcome"` // done, skip, failed, undone
	Duration time.Duration `json:"duration_ns"`
	Detail   string        `json:"detail,omitempty"`
}

// Result is what a rehearsal found.
type Result struct {
	ServerRoot string    `json:"server_root"`
	Started    time.Time `json:"started"`
	Finished   time.Time `json:"finished"`
	// ExitCode is what remediate would have exited with (0 upgraded, 5
	// backed out, 6 backout failed, 3 a gate refused).
	ExitCode int       `json:"exit_code"`
	Steps    []StepRun `json:"steps"`
	// Downtime is the mail service's time down in the twin: from the
	// first stop (or cluster switch-off) to the end of post.start.
	Downtime time.Duration `json:"downtime_ns"`
	// Production is how production was proven untouched.
	Production Proof  `json:"production"`
	Scratch    string `json:"scratch"`
}

// Proof says whether production was untouched.
type Proof struct {
	Untouched     bool   `json:"untouched"`
	Entries       int64  `json:"entries"`
	DigestBefore  string `json:"digest_before"`
	DigestAfter   string `json:"digest_after"`
	Difference    string `json:"difference,omitempty"`
	DaemonsBefore []int  `json:"daemon_pids_before"`
	DaemonsAfter  []int  `json:"daemon_pids_after"`
}

// Downtime sums the window from the first step that stops the mail
// service to the end of post.start.
func Downtime(steps []StepRun) time.Duration {
	var d time.Duration
	on := false
	for _, s := range steps {
		if !on && (strings.HasPrefix(s.ID, "stop.") || strings.HasPrefix(s.ID, "ha.") && strings.Contains(s.ID, "off")) && s.Outcome == "done" {
			on = true
		}
		if on {
			d += s.Duration
		}
		if s.ID == "post.start" {
			break
		}
	}
	return d
}

// Text writes the result for people.
func (r Result) Text(w io.Writer) {
	verdict := map[int]string{0: "the upgrade went through", 5: "a step failed and the twin was backed out",
		6: "a step failed and the backout failed too", 3: "a gate refused the upgrade"}[r.ExitCode]
	if verdict == "" {
		verdict = fmt.Sprintf("remediate would have exited %d", r.ExitCode)
	}
	fmt.Fprintf(w, "rehearsal of %s: %s (exit %d)\n", r.ServerRoot, verdict, r.ExitCode)
	for _, s := range r.Steps {
		line := fmt.Sprintf("  %-22s %-7s %8s", s.ID, s.Outcome, s.Duration.Round(10*time.Millisecond))
		if s.Detail != "" {
			line += "  " + s.Detail
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "window: mail service down for %s (first stop to servers started), whole run %s\n",
		r.Downtime.Round(100*time.Millisecond), r.Finished.Sub(r.Started).Round(100*time.Millisecond))
	if r.Production.Untouched {
		fmt.Fprintf(w, "production untouched: %d entries identical before and after, daemons %v still running\n",
			r.Production.Entries, r.Production.DaemonsAfter)
	} else {
		fmt.Fprintf(w, "PRODUCTION CHANGED during the rehearsal: %s\n", r.Production.Difference)
	}
}

// StepsFromJournal lists each step the journal records, in order, with
// how it ended and how long it took (from its intent to its outcome).
func StepsFromJournal(records []remediate.Record) []StepRun {
	var out []StepRun
	started := map[string]time.Time{}
	for _, r := range records {
		switch r.Kind {
		case remediate.KindIntent, remediate.KindUndoIntent:
			started[r.Kind+r.Step] = r.Time
		case remediate.KindDone, remediate.KindSkip, remediate.KindFailed:
			s := StepRun{ID: r.Step, Outcome: r.Kind, Detail: r.Detail["why"]}
			if t, ok := started[remediate.KindIntent+r.Step]; ok {
				s.Duration = r.Time.Sub(t)
			}
			if s.Detail == "" {
				s.Detail = r.Detail["error"]
			}
			out = append(out, s)
		case remediate.KindUndone:
			s := StepRun{ID: r.Step, Outcome: "undone"}
			if t, ok := started[remediate.KindUndoIntent+r.Step]; ok {
				s.Duration = r.Time.Sub(t)
			}
			out = append(out, s)
		}
	}
	return out
}
