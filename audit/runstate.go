package audit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/msguard/msguard/internal/runstate"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/remediate"
)

// restartStep is the runbook step after which the servers run the new version.
const restartStep = "post.start"

// RunDefaults is what the recorded remediate run of a server root tells an
// audit: the baseline it saved and when it restarted the servers.
type RunDefaults struct {
	// Status is the run state's status ("none" without a recorded run).
	Status string
	// BackupDir is the run's backup directory ("" = none recorded).
	BackupDir string
	// Baseline is BackupDir/before.json when that file exists, else "".
	Baseline string
	// Since is when post.start was done (zero: unknown).
	Since time.Time
}

// Defaults reads the run state of root in stateDir and, when a run is
// recorded, its backup directory's baseline and journal. The journal is
// only read, never repaired: records that do not check out are skipped.
func Defaults(stateDir, root string) (RunDefaults, error) {
	st, err := runstate.Read(stateDir, root)
	if err != nil {
		return RunDefaults{}, err
	}
	d := RunDefaults{Status: st.Status, BackupDir: st.JournalDir}
	if d.BackupDir == "" {
		return d, nil
	}
	if fi, err := os.Stat(filepath.Join(d.BackupDir, runstate.BaselineFile)); err == nil && fi.Mode().IsRegular() {
		d.Baseline = filepath.Join(d.BackupDir, runstate.BaselineFile)
	}
	since, err := RestartTime(filepath.Join(d.BackupDir, runstate.JournalFile))
	if err != nil {
		return d, err
	}
	d.Since = since
	return d, nil
}

// RestartTime returns the time of the last journal record saying that
// post.start was done; zero when there is none or no journal.
func RestartTime(journal string) (time.Time, error) {
	f, err := os.Open(journal)
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read journal: %w", err)
	}
	defer f.Close()
	var last time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) < 18 || line[16] != ' ' {
			continue
		}
		body := line[17:]
		sum := sha256.Sum256(body)
		if hex.EncodeToString(sum[:])[:16] != string(line[:16]) {
			continue
		}
		var rec remediate.Record
		if json.Unmarshal(body, &rec) != nil {
			continue
		}
		if rec.Step == restartStep && rec.Kind == remediate.KindDone {
			last = rec.Time
		}
	}
	if err := sc.Err(); err != nil {
		return time.Time{}, fmt.Errorf("read journal %s: %w", journal, err)
	}
	return last, nil
}
