package remediate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/remediate/treebackup"
)

// journalFunc records a backout step; sayFunc tells the operator.
type (
	journalFunc func(kind, step string, detail map[string]string) error
	sayFunc     func(format string, args ...any)
)

// backout is runbook §7: stop DA, Web Server, Messaging, Directory and
// Administration Server in that order; take the store off; restore the
// queue and the server root from the verified backups and prove them
// against their manifests;
// put the store back; start Admin, Directory, Messaging, Web Server, DA.
func (p *planner) backout(ctx context.Context, journal journalFunc, say sayFunc) error {
	// A backup that cannot be restored is found before anything is
	// stopped: the host stays as it is for the operator, who gets the
	// reason instead of a host with every service down.
	for _, b := range p.restoredBackups() {
		if err := treebackup.Verify(ctx, b.dir, b.name); err != nil {
			_ = journal(KindNote, "", map[string]string{"backout": "refused", "error": err.Error()})
			return fmt.Errorf("the backup cannot be restored, so the backout did not start (nothing was stopped or changed): %w", err)
		}
	}
	steps := []struct {
		id string
		do func(context.Context) error
	}{
		{"backout.stop", p.backoutStop},
		{"backout.store_off", p.backoutStoreOff},
		{"backout.restore", p.backoutRestore},
		{"backout.store_on", p.backoutStoreOn},
		{"backout.start", p.backoutStart},
	}
	for _, s := range steps {
		say("  <  %s", s.id)
		if err := journal(KindIntent, s.id, nil); err != nil {
			return err
		}
		if err := s.do(ctx); err != nil {
			_ = journal(KindFailed, s.id, map[string]string{"error": err.Error()})
			return fmt.Errorf("%s: %w", s.id, err)
		}
		if err := journal(KindDone, s.id, nil); err != nil {
			return err
		}
	}
	return nil
}

// tolerant runs a start or stop script and ignores "already running" /
// "not running" answers: the backout must work from any half-state.
func tolerant(ctx context.Context, timeout time.Duration, name string, args ...string) error {
	if _, err := os.Stat(name); err != nil {
		return nil // that component is not installed (any more)
	}
	out, err := runScript(ctx, timeout, name, args...)
	if err != nil && (strings.Contains(out, "already running") || strings.Contains(out, "not running")) {
		return nil
	}
	return err
}

func (p *planner) backoutStop(ctx context.Context) error {
	// A cluster that has the service on restarts what is stopped here,
	// and the restore would race with it: take the service out of its
	// hands first (backout.start gives it back).
	if err := p.haOff(ctx); err != nil {
		return err
	}
	ws := p.h.WSRoot
	var cmds [][]string
	for _, w := range p.h.WebInstances {
		cmds = append(cmds, []string{filepath.Join(ws, w, "stop")})
	}
	if p.h.HasWebAdmin {
		cmds = append(cmds, []string{filepath.Join(ws, "https-admserv", "stop")})
	}
	cmds = append(cmds, []string{filepath.Join(p.h.InstDir, "stop-msg")})
	for _, id := range p.h.SlapdIDs {
		cmds = append(cmds, []string{filepath.Join(p.h.Root, "slapd-"+id, "stop-slapd")})
	}
	cmds = append(cmds, []string{filepath.Join(p.h.Root, "stop-admin")})
	for _, c := range cmds {
		if err := tolerant(ctx, 2*time.Minute, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) backoutStoreOff(ctx context.Context) error {
	if p.h.StoreMount != nil {
		mp, err := isMountPoint(p.h.StorePath)
		if err != nil || !mp {
			return err
		}
		_, err = runScript(ctx, 2*time.Minute, "umount", p.h.StorePath)
		return err
	}
	// A renamed store that post.store already moved back is saved again.
	if _, err := os.Stat(p.savedStore); err == nil {
		return nil
	}
	if _, err := os.Stat(p.h.StorePath); err != nil {
		return nil
	}
	return os.Rename(p.h.StorePath, p.savedStore)
}

// restoredBackup is one backup the backout restores: where it is and the
// tree it makes exactly as it was.
type restoredBackup struct {
	dir, name, root string
	keep            []string
}

// restoredBackups are the backups the backout restores, in order: the
// queue first when backup.queue saved it apart (its directory may have to
// be made again below the server root, whose restore then gives the
// parent directories their metadata), then the server root, the store and
// the queue kept out of it.
func (p *planner) restoredBackups() []restoredBackup {
	var out []restoredBackup
	if p.queueSavedApart() {
		out = append(out, restoredBackup{dir: filepath.Join(p.dir, backupQueue), name: backupQueue, root: p.queueDir()})
	}
	return append(out, restoredBackup{dir: filepath.Join(p.dir, backupServerRoot), name: backupServerRoot, root: p.h.Root, keep: p.keep()})
}

func (p *planner) backoutRestore(ctx context.Context) error {
	backups := p.restoredBackups()
	for _, b := range backups {
		if err := treebackup.Restore(ctx, b.dir, b.name, b.root, b.keep); err != nil {
			return err
		}
	}
	// Proved after both: the server root's restore sets the metadata of
	// the queue's parent directories.
	for _, b := range backups {
		diffs, err := treebackup.Compare(ctx, b.dir, b.name, b.root, b.keep)
		if err != nil {
			return err
		}
		if len(diffs) > 0 {
			if len(diffs) > 10 {
				diffs = append(diffs[:10], fmt.Sprintf("... %d more", len(diffs)-10))
			}
			return fmt.Errorf("the restored %s differs from the backup %s: %s", b.root, b.dir, strings.Join(diffs, "; "))
		}
	}
	return nil
}

// restoreByHand tells the operator how to restore the backups when the
// backout could not: the commands msguard backout runs, in its order.
func (p *planner) restoreByHand() string {
	var b strings.Builder
	b.WriteString("stop the servers; ")
	for _, r := range p.restoredBackups() {
		fmt.Fprintf(&b, "msguard backup restore --replace --name %s", r.name)
		for _, k := range r.keep {
			fmt.Fprintf(&b, " --keep %s", k)
		}
		fmt.Fprintf(&b, " %s %s; ", r.dir, r.root)
	}
	b.WriteString("put the store back; start the servers")
	return b.String()
}

func (p *planner) backoutStoreOn(ctx context.Context) error {
	if p.h.StoreMount != nil {
		return p.mountStore(ctx)
	}
	if err := p.moveStoreBack(); err != nil {
		return err
	}
	// Moving the store back renamed entries of its parent directory: give
	// the parent its backed-up mtime again, so the root equals the backup.
	return p.restoreMTime(filepath.Dir(p.h.StorePath))
}

// restoreMTime sets the mtime of dir (below the root) to the one in the
// server-root backup's manifest.
func (p *planner) restoreMTime(dir string) error {
	rel, err := filepath.Rel(p.h.Root, dir)
	if err != nil {
		return err
	}
	rel = filepath.ToSlash(rel)
	var mtime time.Time
	if _, err := treebackup.ReadManifest(filepath.Join(p.dir, backupServerRoot), backupServerRoot, func(e *treebackup.ManifestEntry) error {
		if e.Path == rel {
			mtime = e.MTime
		}
		return nil
	}); err != nil {
		return err
	}
	if mtime.IsZero() {
		return nil
	}
	return os.Chtimes(dir, time.Time{}, mtime)
}

// haOff takes the data service out of the cluster's hands for the backout,
// and haRestore puts the cluster back as it was before the upgrade: the
// ha.* steps before the backup took the Messaging data service out of the
// cluster, and the restore brings back only the server root. Every command
// is guarded or idempotent, so they run from any half-state.
func (p *planner) haOff(ctx context.Context) error {
	switch p.h.HA {
	case "sc22":
		if st, err := sc22State(ctx); err != nil || st != "on" {
			return err
		}
		return runAll(ctx, [][]string{{"hareg", "-n", sc22Service}})
	case "vcs":
		return runAll(ctx, p.vcsOffline())
	case "sc3":
		return runAll(ctx, [][]string{{"scswitch", "-n", "-j", sc3Resource}})
	}
	return nil
}

// haRestore gives the data service back to the cluster after the backout.
func (p *planner) haRestore(ctx context.Context) error {
	switch p.h.HA {
	case "sc22":
		return sc22On(ctx)
	case "vcs":
		return p.vcsBack(ctx)
	case "sc3":
		return sc3Enable(ctx)
	}
	return nil
}

func (p *planner) backoutStart(ctx context.Context) error {
	cmds := [][]string{{filepath.Join(p.h.Root, "start-admin")}}
	for _, id := range p.h.SlapdIDs {
		cmds = append(cmds, []string{filepath.Join(p.h.Root, "slapd-"+id, "start-slapd")})
	}
	startMsg := []string{filepath.Join(p.h.InstDir, "start-msg")}
	if p.h.HA != "" && p.h.HA != "none" {
		startMsg = append(startMsg, "ha")
	}
	cmds = append(cmds, startMsg)
	if p.h.HasWebAdmin {
		cmds = append(cmds, []string{filepath.Join(p.h.WSRoot, "https-admserv", "start")})
	}
	for _, w := range p.h.WebInstances {
		cmds = append(cmds, []string{filepath.Join(p.h.WSRoot, w, "start")})
	}
	for _, c := range cmds {
		if err := tolerant(ctx, 5*time.Minute, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return p.haRestore(ctx)
}

// Backout runs runbook §7 on demand for the root's last run (msguard
// backout): it needs that run's verified backup.
func Backout(ctx context.Context, o Options) error {
	root, err := filepath.Abs(o.ServerRoot)
	if err != nil {
		return err
	}
	o.ServerRoot = root
	if err := needRoot("backout"); err != nil {
		return err
	}
	lock, err := Lock(o.StateDir, root)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	r := &run{o: &o}
	st, err := runstate.Read(o.StateDir, root)
	if err != nil {
		return err
	}
	if st.JournalDir == "" {
		return exitcode.Usagef("no remediate run is recorded for %s in %s: nothing to back out (give the --server-root and --state-dir of the remediate run)", root, o.StateDir)
	}
	if err := sameBackupDir(o.BackupDir, st.JournalDir); err != nil {
		return err
	}
	if err := r.loadPlanFrom(st.JournalDir); err != nil {
		return err
	}
	j, _, err := OpenJournal(filepath.Join(st.JournalDir, runstate.JournalFile))
	if err != nil {
		return err
	}
	defer j.Close()
	r.journal = j
	if err := r.p.backout(ctx, r.log, r.say); err != nil {
		_ = r.setState(runstate.StatusFailed, "backout", err.Error())
		return err
	}
	_ = r.log(KindRunEnd, "", map[string]string{"result": "backed_out"})
	return r.setState(runstate.StatusBackedOut, "", "backout on demand")
}

// sameBackupDir refuses a --backup-dir that is not the one the last run
// kept its backups and journal in: backout restores that run's backups,
// and a different directory named on the command line would be a wrong
// belief about what is restored. An empty flag takes the run's.
func sameBackupDir(given, runs string) error {
	if given == "" {
		return nil
	}
	same := func(p string) string {
		if abs, err := filepath.Abs(p); err == nil {
			p = abs
		}
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Clean(p)
	}
	if same(given) != same(runs) {
		return exitcode.Usagef("--backup-dir %s: the last remediate run kept its backups and journal in %s; backout restores those (leave --backup-dir out, or give that directory)", given, runs)
	}
	return nil
}
