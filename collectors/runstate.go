package collectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/msguard/msguard/collectors/facts"
)

func init() { register(facts.CollectorRunState, collectRunState) }

// DefaultStateDir is msguard's state directory when --state-dir is not given.
const DefaultStateDir = "/var/lib/msguard"

// Run statuses of the state file (facts.RunState.Status).
const (
	RunStatusNone       = "none"
	RunStatusInProgress = "in_progress"
	RunStatusFailed     = "failed"
	RunStatusCompleted  = "completed"
	RunStatusBackedOut  = "backed_out"
)

// RunStatePath is where remediate keeps its state for the server root
// root: <stateDir>/roots/<first 16 hex digits of sha256(root)>/state.json.
// root should be the absolute, cleaned server root (Target.Root); stateDir
// "" means DefaultStateDir.
//
// The file is a JSON object with the fields of facts.RunState:
//
//	{"root": "/usr/iplanet/server5", "status": "failed",
//	 "journal_dir": "/var/lib/msguard/roots/<id>/journal/<run>",
//	 "last_step": "msg.setup", "failed_at": "RFC3339", "reason": "..."}
//
// status is one of none, in_progress, failed, completed, backed_out. The
// file's root must name the root it is kept for.
func RunStatePath(stateDir, root string) string {
	if stateDir == "" {
		stateDir = DefaultStateDir
	}
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(stateDir, "roots", hex.EncodeToString(sum[:])[:16], "state.json")
}

// collectRunState reads remediate's state for this root; no state file
// means no run ever started (status "none").
func collectRunState(_ context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	rs, err := readRunState(RunStatePath(t.StateDir, t.Root), t.Root)
	if err != nil {
		return nil, err
	}
	s.RunState = rs
	return nil, nil
}

// readRunState reads and checks one state file.
func readRunState(path, root string) (*facts.RunState, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &facts.RunState{Status: RunStatusNone}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read run state %s: %w", path, err)
	}
	var rs facts.RunState
	if err := json.Unmarshal(data, &rs); err != nil {
		return nil, fmt.Errorf("parse run state %s: %w", path, err)
	}
	switch rs.Status {
	case RunStatusNone, RunStatusInProgress, RunStatusFailed, RunStatusCompleted, RunStatusBackedOut:
	default:
		return nil, fmt.Errorf("run state %s: unknown status %q", path, rs.Status)
	}
	if rs.Root != "" && rs.Root != root {
		return nil, fmt.Errorf("run state %s is for server root %s, not %s", path, rs.Root, root)
	}
	return &rs, nil
}
