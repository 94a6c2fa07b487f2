package remediate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/runstate"
)

// TestBackoutRefusals: backout refuses with a usage error (exit 2), before
// it touches anything, a root with no recorded run and a --backup-dir that
// is not the run's; the run's own directory, however spelled, is accepted
// by the check.
func TestBackoutRefusals(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "server5")
	runDir := filepath.Join(dir, "backups", "run1")
	for _, d := range []string{root, runDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(runDir, filepath.Join(dir, "latest")); err != nil {
		t.Fatal(err)
	}
	recorded := filepath.Join(dir, "state-with-run")
	if err := runstate.Write(recorded, root, facts.RunState{Status: runstate.StatusFailed, JournalDir: runDir}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, stateDir, backupDir, want string
	}{
		{"no run recorded", filepath.Join(dir, "empty-state"), "", "no remediate run is recorded for " + root},
		{"another backup dir", recorded, filepath.Join(dir, "backups", "run0"), "the last remediate run kept its backups and journal in " + runDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Backout(context.Background(), Options{ServerRoot: root, StateDir: tc.stateDir, BackupDir: tc.backupDir})
			var coded *exitcode.Error
			if !errors.As(err, &coded) || coded.Code != exitcode.Usage || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Backout: %v; want a usage error containing %q", err, tc.want)
			}
		})
	}
	for _, spelled := range []string{runDir, runDir + "/", filepath.Join(dir, "latest"), filepath.Join(dir, "backups", ".", "run1")} {
		if err := sameBackupDir(spelled, runDir); err != nil {
			t.Errorf("sameBackupDir(%s, %s): %v", spelled, runDir, err)
		}
	}
	if err := sameBackupDir("", runDir); err != nil {
		t.Errorf("no --backup-dir: %v", err)
	}
}
