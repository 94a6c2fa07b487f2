package remediate

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/ablate"
	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/failpoint"
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/judgement"
)

// Run carries out the upgrade (or, with planOnly, prints the plan). Its
// error carries the exit code of contract.md: 3 when a gate denies, 5 when
// a step failed and the backout restored the host, 6 when the backout
// failed too.
func Run(ctx context.Context, o Options, planOnly bool) error {
	root, err := filepath.Abs(o.ServerRoot)
	if err != nil {
		return exitcode.Usagef("--server-root %s: %v", o.ServerRoot, err)
	}
	o.ServerRoot = root
	if !planOnly {
		if err := needRoot("remediate"); err != nil {
			return err
		}
		lock, err := Lock(o.StateDir, root)
		if err != nil {
			return err
		}
		defer lock.Unlock()
	}
	r := &run{o: &o}
	if o.Resume {
		if err := r.loadForResume(ctx); err != nil {
			return err
		}
	} else if err := r.prepare(ctx, planOnly); err != nil {
		return err
	}
	if planOnly {
		r.plan.Print(o.Out)
		return nil
	}
	if !o.Yes && !o.Resume {
		r.plan.Print(o.Out)
		if err := confirm(&o); err != nil {
			return err
		}
	}
	return r.execute(ctx)
}

// needRoot refuses a remediate or backout run by a user other than root
// before anything is touched: the installers, the stop scripts, mount
// and the restore of owners and modes need root (runbook §3, §4).
func needRoot(command string) error {
	if os.Geteuid() == 0 {
		return nil
	}
	u := strconv.Itoa(os.Geteuid())
	if cur, err := user.Current(); err == nil {
		u = cur.Username
	}
	return exitcode.Usagef("msguard %s must run as root (running as %s): the installers, stop scripts, mount and the restore need root; nothing was changed", command, u)
}

// run is one remediate run's state.
type run struct {
	o       *Options
	snap    *facts.Snapshot
	media   *MediaInfo
	plan    *Plan
	p       *planner
	journal *Journal
	done    map[string]bool
	// records are the journal's records, those of this process included.
	records []Record
}

func newRunID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// prepare collects the pre-upgrade snapshot, runs the preflight gate and
// builds the plan.
func (r *run) prepare(ctx context.Context, planOnly bool) error {
	o := r.o
	r.media = InspectMedia(o.Media)
	snap, err := o.Collect(ctx)
	if err != nil {
		return err
	}
	r.snap = snap
	r.defaultLDAPURL()
	if !planOnly {
		backupNeed, restoreNeed := SpaceNeed(snap)
		rep, err := o.Gate(ctx, "preflight", GateInput{Media: r.media, BackupNeedBytes: backupNeed, RestoreNeedBytes: restoreNeed})
		if err != nil {
			return err
		}
		if rep.ExitCode == exitcode.NotReady {
			return exitcode.New(exitcode.NotReady, "preflight check: %d deny and %d error findings: the upgrade was not started", rep.Summary.Deny, rep.Summary.Error)
		}
	}
	host, err := HostFromSnapshot(snap)
	if err != nil {
		return exitcode.Wrap(exitcode.NotReady, err)
	}
	runID := newRunID()
	dir := o.BackupDir
	if dir == "" {
		dir = filepath.Join(DefaultBackupRoot, filepath.Base(host.Root)+"-"+runID)
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return exitcode.Usagef("--backup-dir %s: %v", o.BackupDir, err)
	}
	if inside(dir, host.Root) || inside(dir, host.WSRoot) {
		return exitcode.Usagef("--backup-dir %s is inside the server root %s: choose a directory outside it", dir, host.Root)
	}
	if !planOnly {
		if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
			return exitcode.Usagef("--backup-dir %s is not empty: give a new directory (an earlier run's backups are kept there)", dir)
		}
	}
	r.plan = BuildPlan(host, o, r.media, dir, runID)
	r.p = r.plan.planner
	if !planOnly && len(host.SlapdIDs) == 0 {
		// msguard cannot run ims_dssetup.pl on another host: without its
		// effects the upgrade would fail at its very end, so refuse now.
		if ok, _ := r.p.dssetupDone(ctx); !ok {
			return exitcode.Wrap(exitcode.NotReady, fmt.Errorf("%w; nothing was changed", r.p.externalDSSetupMissing()))
		}
	}
	return nil
}

// inside reports whether path is dir or below it.
func inside(path, dir string) bool {
	if dir == "" {
		return false
	}
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// loadForResume reopens an interrupted run: its backup directory, journal
// and the pre-upgrade snapshot, so the plan is the same as before.
func (r *run) loadForResume(ctx context.Context) error {
	st, err := runstate.Read(r.o.StateDir, r.o.ServerRoot)
	if err != nil {
		return err
	}
	if st.Status != runstate.StatusInProgress && st.Status != runstate.StatusFailed {
		return exitcode.Usagef("nothing to resume for %s (run state %q)", r.o.ServerRoot, st.Status)
	}
	return r.loadPlanFrom(st.JournalDir)
}

// loadPlanFrom rebuilds a run's plan from its backup directory.
func (r *run) loadPlanFrom(dir string) error {
	f, err := os.Open(filepath.Join(dir, runstate.BaselineFile))
	if err != nil {
		return exitcode.Usagef("the pre-upgrade snapshot in %s: %v", dir, err)
	}
	snap, err := facts.DecodeSnapshot(f)
	f.Close()
	if err != nil {
		return exitcode.Usagef("%s: %v", filepath.Join(dir, runstate.BaselineFile), err)
	}
	r.snap = snap
	r.defaultLDAPURL()
	r.media = InspectMedia(r.o.Media)
	host, err := HostFromSnapshot(snap)
	if err != nil {
		return err
	}
	_, records, err := readJournal(filepath.Join(dir, runstate.JournalFile))
	if err != nil {
		return err
	}
	runID := Summarize(records).Run
	if runID == "" {
		runID = newRunID()
	}
	r.plan = BuildPlan(host, r.o, r.media, dir, runID)
	r.p = r.plan.planner
	return nil
}

// ReadJournal reads the records of the journal at path.
func ReadJournal(path string) ([]Record, error) {
	_, recs, err := readJournal(path)
	return recs, err
}

func readJournal(path string) (*Journal, []Record, error) {
	j, recs, err := OpenJournal(path)
	if err != nil {
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	j.Close()
	return j, recs, nil
}

func confirm(o *Options) error {
	if o.In == nil {
		return exitcode.Usagef("confirmation needed: pass --yes to run without asking")
	}
	fmt.Fprintf(o.Out, "\nUpgrade %s now? Type yes to continue: ", o.ServerRoot)
	line, err := bufio.NewReader(o.In).ReadString('\n')
	if err != nil && line == "" {
		return exitcode.Usagef("no confirmation on standard input: pass --yes to run without asking")
	}
	if strings.TrimSpace(line) != "yes" {
		return exitcode.New(exitcode.Usage, "not confirmed: nothing was changed")
	}
	return nil
}

func (r *run) say(format string, args ...any) {
	if r.o.Out != nil {
		fmt.Fprintf(r.o.Out, format+"\n", args...)
	}
}

func (r *run) log(kind, step string, detail map[string]string) error {
	rec, err := r.journal.Append(Record{Run: r.plan.RunID, Step: step, Kind: kind, Detail: detail})
	if err != nil {
		return fmt.Errorf("journal: %w (the run stops: it cannot record what it does)", err)
	}
	r.records = append(r.records, rec)
	return nil
}

func (r *run) setState(status, step, reason string) error {
	st := facts.RunState{Status: status, JournalDir: r.plan.BackupDir, LastStep: step, Reason: reason}
	if status == runstate.StatusFailed {
		now := time.Now().UTC()
		st.FailedAt = &now
	}
	return runstate.Write(r.o.StateDir, r.o.ServerRoot, st)
}

// execute runs the plan's steps under the journal.
func (r *run) execute(ctx context.Context) error {
	dir := r.plan.BackupDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create backup directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if !r.o.Resume {
		var buf strings.Builder
		if err := r.snap.Encode(&buf); err != nil {
			return err
		}
		if err := atomicfile.Write(filepath.Join(dir, runstate.BaselineFile), []byte(buf.String()), 0o600); err != nil {
			return fmt.Errorf("save the pre-upgrade snapshot: %w", err)
		}
	}
	j, records, err := OpenJournal(filepath.Join(dir, runstate.JournalFile))
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer j.Close()
	r.journal = j
	r.records = records
	r.done = map[string]bool{}
	for _, id := range Completed(records) {
		r.done[id] = true
	}
	if err := r.setState(runstate.StatusInProgress, "", ""); err != nil {
		return err
	}
	kind := KindRunStart
	if r.o.Resume {
		kind = KindNote
		r.say("resuming run %s: %d steps already done", r.plan.RunID, len(r.done))
	}
	if err := r.log(kind, "", map[string]string{"root": r.o.ServerRoot, "media": r.o.Media, "resume": fmt.Sprint(r.o.Resume)}); err != nil {
		return err
	}
	for _, s := range r.plan.Steps {
		if err := ctx.Err(); err != nil {
			return r.interrupted(s.ID, context.Cause(ctx))
		}
		if err := r.step(ctx, s); err != nil {
			if ctx.Err() != nil {
				return r.interrupted(s.ID, context.Cause(ctx))
			}
			return r.fail(ctx, s, err)
		}
	}
	// journal_ms: the time this process spent writing and fsyncing the
	// journal before this record (the journal's overhead, measured apart);
	// peak_rss_kib: this process's own peak RSS, its children (installers,
	// db2ldif) not counted.
	if err := r.log(KindRunEnd, "", map[string]string{"result": "completed",
		"journal_ms":   strconv.FormatInt(r.journal.Spent().Milliseconds(), 10),
		"peak_rss_kib": strconv.FormatInt(selfPeakRSSKiB(), 10)}); err != nil {
		return err
	}
	if err := r.setState(runstate.StatusCompleted, "", ""); err != nil {
		return err
	}
	r.say("upgrade of %s completed; backups and journal in %s", r.o.ServerRoot, dir)
	return nil
}

// interrupted leaves the run resumable: the state stays in_progress.
func (r *run) interrupted(step string, cause error) error {
	_ = r.log(KindNote, step, map[string]string{"interrupted": "true"})
	return exitcode.Wrap(exitcode.Interrupted, fmt.Errorf("interrupted at %s: resume with msguard remediate --resume, or undo with msguard backout (%v)", step, cause))
}

// step runs one step: skip, gate, intent, check, do, verify, done.
func (r *run) step(ctx context.Context, s *Step) error {
	if r.done[s.ID] {
		return nil
	}
	failpoint.Hit("step.before:" + s.ID)
	if s.Skip != "" {
		r.say("  -  %-26s skipped: %s", s.ID, s.Skip)
		if err := r.log(KindSkip, s.ID, map[string]string{"why": s.Skip}); err != nil {
			return err
		}
		r.done[s.ID] = true
		return nil
	}
	if s.Gate == "quiesce" {
		if err := r.gate(ctx, "quiesce"); err != nil {
			return err
		}
	}
	r.say("  >  %-26s %s", s.ID, s.Title)
	started := time.Now()
	if err := r.log(KindIntent, s.ID, nil); err != nil {
		return err
	}
	if s.check != nil {
		done, err := s.check(ctx)
		if err != nil {
			return fmt.Errorf("%s: check: %w", s.ID, err)
		}
		if done {
			r.done[s.ID] = true
			return r.log(KindDone, s.ID, map[string]string{"already": "true"})
		}
	}
	if s.do != nil {
		// An ablated do is skipped (ablate.Skip says so on stderr).
		if !ablate.Skip(s.ID) {
			if err := s.do(ctx); err != nil {
				return fmt.Errorf("%s: %w", s.ID, err)
			}
		}
	}
	if s.verify != nil {
		if err := s.verify(ctx); err != nil {
			return fmt.Errorf("%s: verify: %w", s.ID, err)
		}
	}
	if s.Gate == "postflight" {
		if err := r.gate(ctx, "postflight"); err != nil {
			return err
		}
	}
	if err := r.log(KindDone, s.ID, nil); err != nil {
		return err
	}
	r.say("     %-26s done in %s", s.ID, stepDuration(time.Since(started)))
	r.done[s.ID] = true
	failpoint.Hit("step.after:" + s.ID)
	return nil
}

func (r *run) gate(ctx context.Context, phase string) error {
	in := GateInput{Media: r.media}
	if phase == "postflight" {
		in.Since = r.startedAt()
	}
	rep, err := r.o.Gate(ctx, phase, in)
	if err != nil {
		return fmt.Errorf("%s check: %w", phase, err)
	}
	if rep.ExitCode == exitcode.NotReady {
		var keys []string
		for _, f := range rep.Findings {
			if f.Waived == nil && (f.Severity == judgement.SeverityDeny || f.Severity == judgement.SeverityError) {
				keys = append(keys, f.Key+": "+f.Msg)
			}
		}
		return fmt.Errorf("%s check denies: %s", phase, strings.Join(keys, "; "))
	}
	return nil
}

// startedAt is when post.start last started the servers (its last intent
// record, from this process or the one it resumes); zero when unknown.
func (r *run) startedAt() time.Time {
	var at time.Time
	for _, rec := range r.records {
		if rec.Step == "post.start" && rec.Kind == KindIntent {
			at = rec.Time
		}
	}
	return at
}

// fail handles a failed step: undo what was done when nothing destructive
// started, else the full backout of runbook §7. Exit 5 when the host is
// back as before, 6 when not.
func (r *run) fail(ctx context.Context, failed *Step, cause error) error {
	r.say("FAILED %s: %v", failed.ID, cause)
	_ = r.log(KindFailed, failed.ID, map[string]string{"error": cause.Error()})
	_ = r.setState(runstate.StatusFailed, failed.ID, cause.Error())
	destructive := failed.Destructive
	for _, s := range r.plan.Steps {
		if s.Destructive && r.done[s.ID] {
			destructive = true
		}
	}
	var berr error
	if destructive {
		r.say("a step that changes the install failed: backing out (runbook §7) from %s", r.plan.BackupDir)
		berr = r.p.backout(ctx, r.log, r.say)
	} else {
		r.say("nothing was changed yet but the stops and saves: undoing them")
		berr = r.undo(ctx, failed)
	}
	if berr != nil {
		_ = r.log(KindNote, "", map[string]string{"backout": "failed", "error": berr.Error(),
			"by_hand": r.p.restoreByHand()})
		_ = r.setState(runstate.StatusFailed, failed.ID, "backout failed: "+berr.Error())
		return exitcode.New(exitcode.BackoutFailed, "%s failed (%v) and the backout failed too: %v; the journal %s says what to do by hand",
			failed.ID, cause, berr, filepath.Join(r.plan.BackupDir, runstate.JournalFile))
	}
	_ = r.log(KindRunEnd, "", map[string]string{"result": runstate.StatusBackedOut})
	_ = r.setState(runstate.StatusBackedOut, failed.ID, cause.Error())
	return exitcode.New(exitcode.BackedOut, "%s failed: %v; the host was restored as before (backups in %s)", failed.ID, cause, r.plan.BackupDir)
}

// undo reverses the completed steps (and the failed one) in reverse order.
func (r *run) undo(ctx context.Context, failed *Step) error {
	var errs []error
	steps := r.plan.Steps
	for i := len(steps) - 1; i >= 0; i-- {
		s := steps[i]
		if s.undo == nil || s.Skip != "" || (!r.done[s.ID] && s != failed) {
			continue
		}
		_ = r.log(KindUndoIntent, s.ID, nil)
		if err := s.undo(ctx); err != nil {
			errs = append(errs, fmt.Errorf("undo %s: %w", s.ID, err))
			continue
		}
		_ = r.log(KindUndone, s.ID, nil)
	}
	return errors.Join(errs...)
}

// defaultLDAPURL takes the directory URL from the snapshot when the
// operator gave none (install.inf's UserDirectoryLdapURL).
func (r *run) defaultLDAPURL() {
	if r.o.LDAP.URL == "" && r.snap != nil && r.snap.LDAP != nil {
		r.o.LDAP.URL = r.snap.LDAP.URL
	}
	if r.o.LDAP.BindDN == "" {
		r.o.LDAP.BindDN = "cn=Directory Manager"
	}
}

// selfPeakRSSKiB is this process's peak resident set size in KiB (its
// children not counted), 0 when unknown.
func selfPeakRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss)
}

// stepDuration rounds a step's duration for the progress lines: tenths of
// a second, milliseconds under one second.
func stepDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
