package collectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/runstate"
)

// DefaultStateDir is msguard's state directory when --state-dir is not given.
const DefaultStateDir = runstate.DefaultStateDir

// collectRunState reads remediate's state for this root (package
// runstate); no state file means no run ever started (status "none").
func collectRunState(_ context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	p := runstate.Path(t.StateDir, t.Root)
	f, err := t.host.ReadFile(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.RunState = &facts.RunState{Status: runstate.StatusNone}
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read run state %s: %w", p, err)
	}
	rs, err := runstate.Parse(f.Data, p, t.Root)
	if err != nil {
		return nil, err
	}
	s.RunState = &rs
	return nil, nil
}
