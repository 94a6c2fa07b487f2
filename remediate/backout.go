package remediate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// journalFunc records a backout step; sayFunc tells the operator.
type (
	journalFunc func(kind, step string, detail map[string]string) error
	sayFunc     func(format string, args ...any)
)

// backout is runbook §7: stop DA, Web Server, Messaging, Directory and
// Administration Server in that order; take the store off; restore the
// server root from the verified backup and prove it against the manifest;
// put the store back; start Admin, Directory, Messaging, Web Server, DA.
func (p *planner) backout(ctx context.Context, journal journalFunc, say sayFunc) error {
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

func (p *planner) backoutRestore(ctx context.Context) error {
	dir := filepath.Join(p.dir, backupServerRoot)
	if err := RestoreTree(ctx, dir, backupServerRoot, p.h.Root, p.keep()); err != nil {
		return err
	}
	diffs, err := CompareTree(ctx, dir, backupServerRoot, p.h.Root, p.keep())
	if err != nil {
		return err
	}
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("... %d more", len(diffs)-10))
		}
		return fmt.Errorf("the restored server root differs from the backup: %s", strings.Join(diffs, "; "))
	}
	return nil
}

func (p *planner) backoutStoreOn(ctx context.Context) error {
	if p.h.StoreMount != nil {
		return p.mountStore(ctx)
	}
	return p.moveStoreBack()
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
	return nil
}

// Backout runs runbook §7 on demand for the root's last run (msguard
// backout): it needs that run's verified backup.
func Backout(ctx context.Context, o Options) error {
	root, err := filepath.Abs(o.ServerRoot)
	if err != nil {
		return err
	}
	o.ServerRoot = root
	lock, err := Lock(o.StateDir, root)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	r := &run{o: &o}
	st, err := ReadRunState(o.StateDir, root)
	if err != nil {
		return err
	}
	if st.JournalDir == "" {
		return fmt.Errorf("no remediate run is recorded for %s in %s: nothing to back out", root, o.StateDir)
	}
	if err := r.loadPlanFrom(st.JournalDir); err != nil {
		return err
	}
	if err := VerifyBackup(ctx, filepath.Join(st.JournalDir, backupServerRoot), backupServerRoot); err != nil {
		return fmt.Errorf("the backup of %s cannot be used: %w", root, err)
	}
	j, _, err := OpenJournal(filepath.Join(st.JournalDir, journalFile))
	if err != nil {
		return err
	}
	defer j.Close()
	r.journal = j
	if err := r.p.backout(ctx, r.log, r.say); err != nil {
		_ = r.setState("failed", "backout", err.Error())
		return err
	}
	_ = r.log(KindRunEnd, "", map[string]string{"result": "backed_out"})
	return r.setState("backed_out", "", "backout on demand")
}
