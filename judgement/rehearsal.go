package judgement

// Rehearsal is the plan as `msguard rehearse` ran it on a copy-on-write
// twin of the host, and the proof that production was untouched. A
// rehearsal report carries it beside the findings of the twin's last gate
// (its postflight when the plan got that far); other reports have none.
type Rehearsal struct {
	// RemediateExitCode is what remediate exited with in the twin: what
	// it would exit with on this host (0 upgraded, 3 a gate refused, 5
	// backed out, 6 backout failed).
	RemediateExitCode int `json:"remediate_exit_code"`
	// Gate is the phase of the gate whose findings the report holds
	// ("" when the plan ended before any gate).
	Gate  string          `json:"gate,omitempty"`
	Steps []RehearsalStep `json:"steps"`
	// DowntimeMS is the mail service's time down in the twin, from the
	// first step that stops it to the end of post.start (or of the
	// backout's start): the window the upgrade needs on this host's data.
	DowntimeMS int64 `json:"downtime_ms"`
	// RunMS is the whole plan's time.
	RunMS int64 `json:"run_ms"`
	// Transcripts is the directory of the installers' transcripts ("" when
	// the scratch directory was not kept).
	Transcripts string     `json:"transcripts,omitempty"`
	Production  Production `json:"production"`
	// Directory is set when the directory was on another host: the twin
	// ran against a scratch copy of it, not against production's.
	Directory *RehearsalDirectory `json:"directory,omitempty"`
}

// RehearsalDirectory is the scratch copy of a directory on another host
// that the twin ran against: production's suffixes and schema, exported
// read-only before the twin started and served by a scratch slapd on the
// directory's address inside the twin. The plan's directory writes went
// to the copy; production's directory was only read.
type RehearsalDirectory struct {
	// URL is production's directory.
	URL      string   `json:"url"`
	Suffixes []string `json:"suffixes"`
	Entries  int64    `json:"entries"`
}

// RehearsalStep is one step as the twin ran it: done, skip, failed, or
// undone (by the backout).
type RehearsalStep struct {
	ID         string `json:"id"`
	Outcome    string `json:"outcome"`
	DurationMS int64  `json:"duration_ms"`
	Detail     string `json:"detail,omitempty"`
}

// Production is how the rehearsal proved production untouched: every entry
// below the overlaid directories (type, mode, owner, size, time, link)
// identical before and after, and the same daemon processes.
type Production struct {
	Untouched  bool   `json:"untouched"`
	Entries    int64  `json:"entries"`
	Digest     string `json:"digest"`
	Difference string `json:"difference,omitempty"`
	DaemonPIDs []int  `json:"daemon_pids"`
	// LiveFiles counts the files production's daemons held open for
	// writing (their logs): compared by type, mode, owner and link only,
	// their size and time following production's own work.
	LiveFiles int `json:"live_files,omitempty"`
}
