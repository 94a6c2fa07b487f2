// Package runstate owns the run-state file of a server root: where
// remediate records whether its last run is in progress, failed, completed
// or backed out, and where that run's backup directory is. remediate writes
// it; the run_state collector, the shell-collector ingester and audit read
// it, all through this package. It also names the files remediate keeps in
// a run's backup directory.
package runstate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/atomicfile"
)

// DefaultStateDir is msguard's state directory when --state-dir is not given.
const DefaultStateDir = "/var/lib/msguard"

// The statuses of a run (facts.RunState.Status).
const (
	StatusNone       = "none" // no run was ever started
	StatusInProgress = "in_progress"
	StatusFailed     = "failed"
	StatusCompleted  = "completed"
	StatusBackedOut  = "backed_out"
)

// The files remediate keeps in a run's backup directory.
const (
	// BaselineFile is the pre-upgrade snapshot: the plan of a resumed run
	// and the baseline of msguard audit.
	BaselineFile = "before.json"
	// JournalFile is the run's journal.
	JournalFile = "journal.log"
)

// Valid reports whether s is a known status.
func Valid(s string) bool {
	switch s {
	case StatusNone, StatusInProgress, StatusFailed, StatusCompleted, StatusBackedOut:
		return true
	}
	return false
}

// Path is where the run state of the server root root is kept:
// <stateDir>/roots/<first 16 hex digits of sha256(root)>/state.json.
// root should be the absolute, cleaned server root; stateDir "" means
// DefaultStateDir.
//
// The file is a JSON object with the fields of facts.RunState:
//
//	{"root": "/usr/iplanet/server5", "status": "failed",
//	 "journal_dir": "/var/backups/msguard/server5-<run>",
//	 "last_step": "msg.setup", "failed_at": "RFC3339", "reason": "..."}
//
// The file's root must name the root it is kept for.
func Path(stateDir, root string) string {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(stateDir, "roots", hex.EncodeToString(sum[:])[:16], "state.json")
}

// Parse checks a run-state document (data, read from path) for the server
// root root: a known status, and a root that is root (or none).
func Parse(data []byte, path, root string) (facts.RunState, error) {
	var st facts.RunState
	if err := json.Unmarshal(data, &st); err != nil {
		return facts.RunState{}, fmt.Errorf("parse run state %s: %w", path, err)
	}
	if !Valid(st.Status) {
		return facts.RunState{}, fmt.Errorf("run state %s: unknown status %q", path, st.Status)
	}
	if st.Root != "" && st.Root != root {
		return facts.RunState{}, fmt.Errorf("run state %s is for server root %s, not %s", path, st.Root, root)
	}
	return st, nil
}

// Read reads the run state of root: no file means status "none".
func Read(stateDir, root string) (facts.RunState, error) {
	path := Path(stateDir, root)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return facts.RunState{Status: StatusNone}, nil
	}
	if err != nil {
		return facts.RunState{}, fmt.Errorf("read run state %s: %w", path, err)
	}
	return Parse(data, path, root)
}

// Write atomically replaces the run state of root, creating its
// directories (0700) and the file (0600). st.Root is set to root when
// empty and must name root otherwise; st.Status must be a known status.
func Write(stateDir, root string, st facts.RunState) error {
	path := Path(stateDir, root)
	if st.Root == "" {
		st.Root = root
	}
	if st.Root != root {
		return fmt.Errorf("write run state %s: state is for server root %s, not %s", path, st.Root, root)
	}
	if !Valid(st.Status) {
		return fmt.Errorf("write run state %s: unknown status %q", path, st.Status)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("encode run state %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create state directory %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("write run state: %w", err)
	}
	return nil
}
