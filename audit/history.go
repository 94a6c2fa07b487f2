package audit

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/msguard/msguard/internal/atomicfile"
)

// timeLayout is the compact RFC 3339 time that starts a history file name,
// in UTC with milliseconds so that names sort by time.
const timeLayout = "20060102T150405.000Z"

// historyName matches a history file: <time>-<verdict>.json.
var historyName = regexp.MustCompile(`^(\d{8}T\d{6}\.\d{3}Z)-([a-z_]+)\.json$`)

// verdictName is what a verdict must look like to appear in a file name.
var verdictName = regexp.MustCompile(`^[a-z_]+$`)

// Entry is one run in a history directory.
type Entry struct {
	Name    string    `json:"name"`
	Time    time.Time `json:"time"`
	Verdict string    `json:"verdict"`
	Path    string    `json:"-"`
}

// ID is the entry's name without ".json", as --from and --to accept it.
func (e Entry) ID() string { return strings.TrimSuffix(e.Name, ".json") }

// History is a directory holding one JSON report per audit run.
type History struct {
	Dir string
}

// Append writes r as a new run file (mode 0600, atomically) named after
// r.FinishedAt and its verdict, creating the directory (0700) if needed.
// Two runs in the same millisecond get distinct names.
func (h History) Append(r *judgement.Report) (Entry, error) {
	if err := os.MkdirAll(h.Dir, 0o700); err != nil {
		return Entry{}, fmt.Errorf("create history directory: %w", err)
	}
	var buf bytes.Buffer
	if err := r.Encode(&buf); err != nil {
		return Entry{}, fmt.Errorf("encode report for the history: %w", err)
	}
	verdict := r.Verdict
	if !verdictName.MatchString(verdict) {
		verdict = judgement.VerdictError
	}
	t := r.FinishedAt.UTC().Truncate(time.Millisecond)
	for {
		taken, err := filepath.Glob(filepath.Join(h.Dir, t.Format(timeLayout)+"-*.json"))
		if err != nil {
			return Entry{}, fmt.Errorf("history: %w", err)
		}
		if len(taken) > 0 {
			t = t.Add(time.Millisecond)
			continue
		}
		name := t.Format(timeLayout) + "-" + verdict + ".json"
		path := filepath.Join(h.Dir, name)
		if err := atomicfile.Write(path, buf.Bytes(), 0o600); err != nil {
			return Entry{}, fmt.Errorf("write history: %w", err)
		}
		return Entry{Name: name, Time: t, Verdict: verdict, Path: path}, nil
	}
}

// List returns the runs of the directory, oldest first. A missing
// directory has no runs; files that are not history files are ignored.
func (h History) List() ([]Entry, error) {
	des, err := os.ReadDir(h.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	var out []Entry
	for _, de := range des {
		m := historyName.FindStringSubmatch(de.Name())
		if m == nil || !de.Type().IsRegular() {
			continue
		}
		t, err := time.Parse(timeLayout, m[1])
		if err != nil {
			continue
		}
		out = append(out, Entry{Name: de.Name(), Time: t, Verdict: m[2], Path: filepath.Join(h.Dir, de.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Load reads one run's report.
func (h History) Load(e Entry) (*judgement.Report, error) {
	f, err := os.Open(e.Path)
	if err != nil {
		return nil, fmt.Errorf("history run %s: %w", e.Name, err)
	}
	defer f.Close()
	r, err := judgement.DecodeReport(f)
	if err != nil {
		return nil, fmt.Errorf("history run %s: %w", e.Name, err)
	}
	return r, nil
}

// Find returns the run named by id: its file name with or without
// ".json", a unique prefix of it (its time, say), or the run_id inside.
func (h History) Find(entries []Entry, id string) (Entry, error) {
	var matches []Entry
	for _, e := range entries {
		if e.Name == id || e.ID() == id {
			return e, nil
		}
		if strings.HasPrefix(e.Name, id) {
			matches = append(matches, e)
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	if len(matches) > 1 {
		return Entry{}, fmt.Errorf("run %q is ambiguous: %d runs match", id, len(matches))
	}
	for _, e := range entries {
		if r, err := h.Load(e); err == nil && r.RunID == id {
			return e, nil
		}
	}
	return Entry{}, fmt.Errorf("no run %q in %s", id, h.Dir)
}

// Rotate deletes the oldest runs beyond keep (0: no count limit) and the
// runs older than maxAge at now (0: no age limit). The newest run is
// always kept. It returns the names it deleted.
func (h History) Rotate(keep int, maxAge time.Duration, now time.Time) ([]string, error) {
	entries, err := h.List()
	if err != nil {
		return nil, err
	}
	var removed []string
	for i, e := range entries {
		newest := i == len(entries)-1
		tooMany := keep > 0 && i < len(entries)-keep
		tooOld := maxAge > 0 && now.Sub(e.Time) > maxAge
		if newest || !(tooMany || tooOld) {
			continue
		}
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return removed, fmt.Errorf("rotate history: %w", err)
		}
		removed = append(removed, e.Name)
	}
	if len(removed) > 0 {
		if err := atomicfile.SyncDir(h.Dir); err != nil {
			return removed, fmt.Errorf("rotate history: %w", err)
		}
	}
	return removed, nil
}
