//go:build failpoints

package remediate

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/msguard/msguard/internal/failpoint"
)

// journalKillEnv makes the test binary act as a minimal resumable runner
// over journalKillSteps, journaling into the file it names.
const journalKillEnv = "MSGUARD_TEST_JOURNAL_KILL"

// journalKillSteps are the steps of the minimal runner; "backup.queue" is
// skipped, the others are done.
var journalKillSteps = []string{"stop.dispatcher", "backup.queue", "backup.ldif"}

// TestJournalKillHelper is the child process of TestJournalKillAtEveryWrite:
// it opens the journal, starts a run, runs every step that Completed does
// not list (intent, then done or skip) and ends the run.
func TestJournalKillHelper(t *testing.T) {
	path := os.Getenv(journalKillEnv)
	if path == "" {
		t.Skip("helper process only")
	}
	j, recs, err := OpenJournal(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	run := fmt.Sprintf("r%d", len(recs))
	must := func(r Record) {
		if _, err := j.Append(r); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
	must(Record{Run: run, Kind: KindRunStart})
	done := Completed(recs)
	for _, step := range journalKillSteps {
		if slices.Contains(done, step) {
			continue
		}
		must(Record{Run: run, Step: step, Kind: KindIntent})
		kind := KindDone
		if step == "backup.queue" {
			kind = KindSkip
		}
		must(Record{Run: run, Step: step, Kind: kind})
	}
	must(Record{Run: run, Kind: KindRunEnd})
	j.Close()
	os.Exit(0)
}

// journalKillRun runs the helper with MSGUARD_FAILPOINT set to fp ("" for
// none) and reports whether it was SIGKILLed.
func journalKillRun(t *testing.T, path, fp string) (killed bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestJournalKillHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), journalKillEnv+"="+path, failpoint.EnvVar+"="+fp)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
		return true
	}
	if err != nil {
		t.Fatalf("helper with failpoint %q: %v\n%s", fp, err, out)
	}
	return false
}

// TestJournalKillAtEveryWrite kills the runner before and after every
// journal write, checks what the journal then holds, resumes, and checks
// that no completed step ran twice and every step completed.
func TestJournalKillAtEveryWrite(t *testing.T) {
	// The records of an uninterrupted run, as "kind:step".
	full := []string{"run-start:"}
	for _, s := range journalKillSteps {
		end := "done:"
		if s == "backup.queue" {
			end = "skip:"
		}
		full = append(full, "intent:"+s, end+s)
	}
	full = append(full, "run-end:")

	for i, rec := range full {
		for _, when := range []string{"before-write", "after-sync"} {
			fp := "journal." + when + ":" + rec
			t.Run(fp, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "journal", "journal.log")
				if !journalKillRun(t, path, fp) {
					t.Fatal("the failpoint did not kill the helper")
				}
				j, recs, err := OpenJournal(path)
				if err != nil {
					t.Fatalf("OpenJournal after the kill: %v", err)
				}
				if j.Torn() {
					t.Error("a kill between writes left a torn record")
				}
				j.Close()
				want := i
				if when == "after-sync" {
					want = i + 1
				}
				if len(recs) != want {
					t.Fatalf("journal holds %d records after the kill, want %d", len(recs), want)
				}
				for k, r := range recs {
					if got := r.Kind + ":" + r.Step; got != full[k] {
						t.Errorf("record %d is %s, want %s", k, got, full[k])
					}
				}
				completedBefore := Completed(recs)

				if journalKillRun(t, path, "") {
					t.Fatal("the resumed helper was killed")
				}
				_, recs, err = OpenJournal(path)
				if err != nil {
					t.Fatalf("OpenJournal after resume: %v", err)
				}
				if got := Completed(recs); !slices.Equal(got, journalKillSteps) {
					t.Errorf("Completed after resume = %v, want %v", got, journalKillSteps)
				}
				ends := map[string]int{}
				for _, r := range recs {
					if r.Kind == KindDone || r.Kind == KindSkip {
						ends[r.Step]++
					}
				}
				for _, s := range journalKillSteps {
					if ends[s] != 1 {
						t.Errorf("step %s completed %d times (completed before the kill: %v)", s, ends[s], completedBefore)
					}
				}
				if sum := Summarize(recs); sum.Open || len(sum.InDoubt) != 0 {
					t.Errorf("summary after resume %+v: want a closed run with nothing in doubt", sum)
				}
			})
		}
	}
}
