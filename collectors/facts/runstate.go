package facts

import "time"

// RunState is msguard's own remediate state for this server root. It is
// also the on-disk format remediate writes (runstate.Path).
type RunState struct {
	// Root is the server root the state belongs to.
	Root string `json:"root,omitempty"`
	// Status is "none", "in_progress", "failed", "completed" or "backed_out".
	Status     string     `json:"status"`
	JournalDir string     `json:"journal_dir,omitempty"`
	LastStep   string     `json:"last_step,omitempty"`
	FailedAt   *time.Time `json:"failed_at,omitempty"`
	Reason     string     `json:"reason,omitempty"`
}
