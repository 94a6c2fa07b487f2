package remediate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/atomicfile"
)

// validRunStatus reports whether s is one of the statuses that the
// run_state collector accepts.
func validRunStatus(s string) bool {
	switch s {
	case collectors.RunStatusNone, collectors.RunStatusInProgress, collectors.RunStatusFailed,
		collectors.RunStatusCompleted, collectors.RunStatusBackedOut:
		return true
	}
	return false
}

// WriteRunState atomically replaces the run state of root (an absolute,
// cleaned server root) at collectors.RunStatePath, creating its
// directories (0700) and the file (0600). st.Root is set to root when
// empty and must name root otherwise; st.Status must be a known status.
func WriteRunState(stateDir, root string, st facts.RunState) error {
	path := collectors.RunStatePath(stateDir, root)
	if st.Root == "" {
		st.Root = root
	}
	if st.Root != root {
		return fmt.Errorf("write run state %s: state is for server root %s, not %s", path, st.Root, root)
	}
	if !validRunStatus(st.Status) {
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

// ReadRunState reads the run state of root with the checks of the
// run_state collector: no file means status "none"; an unknown status or
// a state kept for another root is an error.
func ReadRunState(stateDir, root string) (facts.RunState, error) {
	path := collectors.RunStatePath(stateDir, root)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return facts.RunState{Status: collectors.RunStatusNone}, nil
	}
	if err != nil {
		return facts.RunState{}, fmt.Errorf("read run state %s: %w", path, err)
	}
	var st facts.RunState
	if err := json.Unmarshal(data, &st); err != nil {
		return facts.RunState{}, fmt.Errorf("parse run state %s: %w", path, err)
	}
	if !validRunStatus(st.Status) {
		return facts.RunState{}, fmt.Errorf("run state %s: unknown status %q", path, st.Status)
	}
	if st.Root != "" && st.Root != root {
		return facts.RunState{}, fmt.Errorf("run state %s is for server root %s, not %s", path, st.Root, root)
	}
	return st, nil
}
