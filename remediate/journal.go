package remediate

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/failpoint"
)

// Record is one journal entry.
type Record struct {
	Seq    int64             `json:"seq"`
	Time   time.Time         `json:"time"`
	Run    string            `json:"run"`              // run id
	Step   string            `json:"step"`             // runbook step id, e.g. "backup.queue"; "" for run-level records
	Kind   string            `json:"kind"`             // see Kind* constants
	Detail map[string]string `json:"detail,omitempty"` // never secrets
}

// Journal record kinds. A step goes intent → done | skip | failed, and in a
// backout undo-intent → undone; a run is bracketed by run-start and
// run-end; a note records anything else worth keeping.
const (
	KindRunStart   = "run-start"
	KindIntent     = "intent"
	KindDone       = "done"
	KindSkip       = "skip"
	KindFailed     = "failed"
	KindUndoIntent = "undo-intent"
	KindUndone     = "undone"
	KindRunEnd     = "run-end"
	KindNote       = "note"
)

// journalKinds maps each known kind to whether its records must name a step.
var journalKinds = map[string]bool{
	KindRunStart:   false,
	KindIntent:     true,
	KindDone:       true,
	KindSkip:       true,
	KindFailed:     true,
	KindUndoIntent: true,
	KindUndone:     true,
	KindRunEnd:     false,
	KindNote:       false,
}

// journalSumLen is the number of hex digits of the sha256 of a record's
// JSON that start its line.
const journalSumLen = 16

// Journal is an append-only, fsynced record of what remediate did, one
// checksummed JSON record per line:
//
//	<first 16 hex digits of sha256(json)> <json>\n
//
// A record is durable when Append returns: the action it announces may
// start only then. A Journal is safe for concurrent use; one process at a
// time may append to a file (RootLock ensures it).
type Journal struct {
	mu   sync.Mutex
	path string
	f    *os.File
	next int64 // Seq of the next record
	torn bool
	err  error // first write error; the journal refuses appends after it
	// spent is the time this process spent writing and fsyncing records.
	spent time.Duration
}

// OpenJournal opens the journal at path for appending and returns the
// records it already holds, creating the file (0600, directory 0700) when
// it does not exist. A torn or corrupt last record (the process or the
// host died during its write, so it was never acknowledged) is cut off the
// file and reported by Torn; appends then continue on a fresh line. A
// corrupt record before the last one means the journal cannot be trusted:
// it is an error naming the line.
func OpenJournal(path string) (*Journal, []Record, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create journal directory %s: %w", dir, err)
	}
	_, statErr := os.Lstat(path)
	created := errors.Is(statErr, os.ErrNotExist)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	j, records, err := loadJournal(path, f)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if created {
		if err := atomicfile.SyncDir(dir); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("journal %s: %w", path, err)
		}
	}
	return j, records, nil
}

// loadJournal reads and checks the records of the open journal file f and
// cuts off a torn last record.
func loadJournal(path string, f *os.File) (*Journal, []Record, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	j := &Journal{path: path, f: f, next: 1}
	var records []Record
	good := 0 // length of the prefix of data made of good records
	for lineNo := 1; good < len(data); lineNo++ {
		rest := data[good:]
		end := bytes.IndexByte(rest, '\n')
		complete := end >= 0
		line := rest
		if complete {
			line = rest[:end]
		}
		last := !complete || good+end+1 == len(data)
		r, perr := parseJournalLine(line)
		if perr == nil && !complete {
			perr = errors.New("no end of line")
		}
		if perr == nil && r.Seq != j.next {
			// A checksummed record out of sequence was not torn: the file
			// was edited or written by two processes.
			return nil, nil, fmt.Errorf("journal %s line %d: sequence %d, want %d", path, lineNo, r.Seq, j.next)
		}
		if perr != nil {
			if !last {
				return nil, nil, fmt.Errorf("journal %s line %d: corrupt record: %w", path, lineNo, perr)
			}
			// The last record was never acknowledged: cut it off so the
			// next append starts on a fresh line and a later open does
			// not find it in the middle.
			if err := f.Truncate(int64(good)); err != nil {
				return nil, nil, fmt.Errorf("journal %s: cut off torn line %d: %w", path, lineNo, err)
			}
			if err := f.Sync(); err != nil {
				return nil, nil, fmt.Errorf("fsync journal %s: %w", path, err)
			}
			j.torn = true
			break
		}
		records = append(records, r)
		j.next++
		good += end + 1
	}
	return j, records, nil
}

// parseJournalLine checks one line (without its newline) and decodes its
// record.
func parseJournalLine(line []byte) (Record, error) {
	var r Record
	sum, body, ok := bytes.Cut(line, []byte{' '})
	if !ok || len(sum) != journalSumLen {
		return r, errors.New("no checksum")
	}
	if want := journalSum(body); string(sum) != want {
		return r, fmt.Errorf("checksum %s, want %s", sum, want)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("decode record: %w", err)
	}
	if err := checkRecord(r); err != nil {
		return r, err
	}
	return r, nil
}

// journalSum is the checksum that starts a record's line.
func journalSum(body []byte) string {
	s := sha256.Sum256(body)
	return hex.EncodeToString(s[:])[:journalSumLen]
}

// checkRecord checks a record's kind and step.
func checkRecord(r Record) error {
	needStep, ok := journalKinds[r.Kind]
	if !ok {
		return fmt.Errorf("unknown record kind %q", r.Kind)
	}
	if needStep && r.Step == "" {
		return fmt.Errorf("%s record without a step", r.Kind)
	}
	return nil
}

// Torn reports whether OpenJournal found a torn or corrupt last record and
// cut it off.
func (j *Journal) Torn() bool { return j.torn }

// Path returns the journal file's path.
func (j *Journal) Path() string { return j.path }

// Append writes r as the journal's next record and fsyncs the file before
// it returns the record as written. A zero Seq gets the next number (a
// non-zero one must be it) and a zero Time the current time. After a
// write or fsync error the record may or may not be on disk, so the
// journal refuses every later append.
func (j *Journal) Append(r Record) (Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return Record{}, fmt.Errorf("append to journal %s: unusable after an earlier error: %w", j.path, j.err)
	}
	if j.f == nil {
		return Record{}, fmt.Errorf("append to journal %s: closed", j.path)
	}
	if err := checkRecord(r); err != nil {
		return Record{}, fmt.Errorf("append to journal %s: %w", j.path, err)
	}
	if r.Seq == 0 {
		r.Seq = j.next
	} else if r.Seq != j.next {
		return Record{}, fmt.Errorf("append to journal %s: sequence %d, want %d", j.path, r.Seq, j.next)
	}
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	body, err := json.Marshal(r)
	if err != nil {
		return Record{}, fmt.Errorf("append to journal %s: encode record: %w", j.path, err)
	}
	line := make([]byte, 0, journalSumLen+1+len(body)+1)
	line = append(line, journalSum(body)...)
	line = append(line, ' ')
	line = append(line, body...)
	line = append(line, '\n')

	failpoint.Hit("journal.before-write:" + r.Kind + ":" + r.Step)
	start := time.Now()
	defer func() { j.spent += time.Since(start) }()
	if _, err := j.f.Write(line); err != nil {
		j.err = err
		return Record{}, fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		j.err = err
		return Record{}, fmt.Errorf("fsync journal %s: %w", j.path, err)
	}
	failpoint.Hit("journal.after-sync:" + r.Kind + ":" + r.Step)
	j.next++
	return r, nil
}

// Spent is the time this process has spent writing and fsyncing the
// journal's records (the journal's share of a run, which the window
// benchmark reports apart).
func (j *Journal) Spent() time.Duration {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.spent
}

// Close closes the journal file; later appends fail.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return fmt.Errorf("close journal %s: %w", j.path, err)
	}
	return nil
}

// JournalSummary is what a journal says about the state of a run. Each
// step list holds the steps whose last record has that kind, in the order
// of those last records.
type JournalSummary struct {
	// Run is the id of the last run-start ("" when there is none).
	Run string
	// Open is true when the last run-start has no run-end after it.
	Open bool
	// LastStep and LastKind are the step and kind of the last step record
	// (intent, done, skip, failed, undo-intent or undone; "" when there is
	// none).
	LastStep string
	LastKind string
	// Done, Skipped, Failed and Undone list the steps whose last record
	// is done, skip, failed and undone.
	Done    []string
	Skipped []string
	Failed  []string
	Undone  []string
	// InDoubt lists the steps whose last record is intent: the run
	// stopped while they ran, so they may be half done.
	InDoubt []string
	// UndoInDoubt lists the steps whose last record is undo-intent: the
	// backout stopped while it undid them.
	UndoInDoubt []string
}

// Completed returns the steps whose last record is done or skip, which a
// resumed run does not run again, in the order of those records.
func Completed(records []Record) []string {
	var out []string
	for _, sl := range lastStepRecords(records) {
		if sl.kind == KindDone || sl.kind == KindSkip {
			out = append(out, sl.step)
		}
	}
	return out
}

// Summarize summarises records (as returned by OpenJournal).
func Summarize(records []Record) JournalSummary {
	var s JournalSummary
	for _, r := range records {
		switch r.Kind {
		case KindRunStart:
			s.Run, s.Open = r.Run, true
		case KindRunEnd:
			s.Open = false
		}
		if journalKinds[r.Kind] {
			s.LastStep, s.LastKind = r.Step, r.Kind
		}
	}
	for _, sl := range lastStepRecords(records) {
		switch sl.kind {
		case KindDone:
			s.Done = append(s.Done, sl.step)
		case KindSkip:
			s.Skipped = append(s.Skipped, sl.step)
		case KindFailed:
			s.Failed = append(s.Failed, sl.step)
		case KindUndone:
			s.Undone = append(s.Undone, sl.step)
		case KindIntent:
			s.InDoubt = append(s.InDoubt, sl.step)
		case KindUndoIntent:
			s.UndoInDoubt = append(s.UndoInDoubt, sl.step)
		}
	}
	return s
}

// stepLast is the kind of a step's last state record.
type stepLast struct {
	step string
	kind string
	at   int // index of that record
}

// lastStepRecords returns, for every step, the kind of its last step
// record (intent, done, skip, failed, undo-intent, undone; notes do not
// count), ordered by that record's position.
func lastStepRecords(records []Record) []stepLast {
	idx := map[string]int{}
	var out []stepLast
	for i, r := range records {
		if !journalKinds[r.Kind] {
			continue
		}
		if k, ok := idx[r.Step]; ok {
			out[k].kind, out[k].at = r.Kind, i
			continue
		}
		idx[r.Step] = len(out)
		out = append(out, stepLast{step: r.Step, kind: r.Kind, at: i})
	}
	slices.SortStableFunc(out, func(a, b stepLast) int { return a.at - b.at })
	return out
}
