package collectors

import (
	"context"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/runstate"
)

func init() { register(facts.CollectorRunState, collectRunState) }

// DefaultStateDir is msguard's state directory when --state-dir is not given.
const DefaultStateDir = runstate.DefaultStateDir

// collectRunState reads remediate's state for this root (package
// runstate); no state file means no run ever started (status "none").
func collectRunState(_ context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	rs, err := runstate.Read(t.StateDir, t.Root)
	if err != nil {
		return nil, err
	}
	s.RunState = &rs
	return nil, nil
}
