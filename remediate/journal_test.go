package remediate

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// journalTestSeq is a short run: two steps done, one skipped.
var journalTestSeq = []Record{
	{Run: "r1", Kind: KindRunStart},
	{Run: "r1", Step: "stop.dispatcher", Kind: KindIntent},
	{Run: "r1", Step: "stop.dispatcher", Kind: KindDone, Detail: map[string]string{"pid": "42"}},
	{Run: "r1", Step: "backup.queue", Kind: KindSkip, Detail: map[string]string{"reason": "queue empty"}},
	{Run: "r1", Step: "backup.ldif", Kind: KindIntent},
	{Run: "r1", Step: "backup.ldif", Kind: KindDone},
}

// journalTestWrite creates a journal at path holding recs and returns the
// records as written.
func journalTestWrite(t *testing.T, path string, recs []Record) []Record {
	t.Helper()
	j, old, err := OpenJournal(path)
	if err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	defer j.Close()
	if len(old) != 0 {
		t.Fatalf("new journal has %d records", len(old))
	}
	var out []Record
	for _, r := range recs {
		w, err := j.Append(r)
		if err != nil {
			t.Fatalf("Append(%+v): %v", r, err)
		}
		out = append(out, w)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out
}

// journalTestEqual compares records, times by instant.
func journalTestEqual(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\n%+v\n%+v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Time.Equal(w.Time) {
			t.Errorf("record %d time %v, want %v", i, g.Time, w.Time)
		}
		g.Time, w.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("record %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestJournalAppendReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal", "r1")
	path := filepath.Join(dir, "journal.log")
	written := journalTestWrite(t, path, journalTestSeq)
	for i, r := range written {
		if r.Seq != int64(i+1) || r.Time.IsZero() {
			t.Errorf("record %d: seq %d time %v; want seq %d and a time", i, r.Seq, r.Time, i+1)
		}
	}
	for p, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, path: 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, err %v; want %v", p, fi.Mode(), err, want)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != len(journalTestSeq) {
		t.Fatalf("file has %d lines, want %d:\n%s", len(lines), len(journalTestSeq), data)
	}
	for _, l := range lines {
		sum, body, _ := strings.Cut(l, " ")
		if sum != journalSum([]byte(body)) {
			t.Errorf("line %q: checksum is not sha256(json)[:16]", l)
		}
	}

	j, got, err := OpenJournal(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer j.Close()
	if j.Torn() {
		t.Error("Torn() = true for a clean journal")
	}
	if j.Path() != path {
		t.Errorf("Path() = %q, want %q", j.Path(), path)
	}
	journalTestEqual(t, got, written)
	if c, want := Completed(got), []string{"stop.dispatcher", "backup.queue", "backup.ldif"}; !reflect.DeepEqual(c, want) {
		t.Errorf("Completed = %v, want %v", c, want)
	}
	at := time.Date(2002, 6, 1, 12, 0, 0, 0, time.UTC)
	r, err := j.Append(Record{Run: "r1", Kind: KindRunEnd, Time: at})
	if err != nil {
		t.Fatalf("Append after reopen: %v", err)
	}
	if r.Seq != int64(len(written)+1) || !r.Time.Equal(at) {
		t.Errorf("appended %+v; want seq %d and the given time", r, len(written)+1)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Record{Kind: KindNote}); err == nil {
		t.Error("Append after Close succeeded")
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	_, got, err = OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	journalTestEqual(t, got, append(written, r))
}

func TestJournalTornLastRecord(t *testing.T) {
	tests := []struct {
		name   string
		mangle func([]byte) []byte
	}{
		{"truncated mid-line", func(b []byte) []byte { return b[:len(b)-20] }},
		{"only newline missing", func(b []byte) []byte { return b[:len(b)-1] }},
		{"garbage without newline", func(b []byte) []byte { return append(b, "7f3a {\"seq\":"...) }},
		{"zeros after a power cut", func(b []byte) []byte { return append(b, make([]byte, 300)...) }},
		{"empty line", func(b []byte) []byte { return append(b, '\n') }},
		{"bad checksum on last line", func(b []byte) []byte {
			i := bytes.LastIndexByte(b[:len(b)-1], '\n') + 1
			b[i] ^= 1
			return b
		}},
		{"bad json on last line", func(b []byte) []byte {
			b = b[:len(b)-2] // drop "}\n"
			b = append(b, '\n')
			return b
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.log")
			written := journalTestWrite(t, path, journalTestSeq)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			mangled := tt.mangle(bytes.Clone(data))
			if err := os.WriteFile(path, mangled, 0o600); err != nil {
				t.Fatal(err)
			}
			// The mangled tail is either an extra line or the damaged last
			// record; both are dropped.
			want := written
			if !bytes.HasPrefix(mangled, data) {
				want = written[:len(written)-1]
			}

			j, got, err := OpenJournal(path)
			if err != nil {
				t.Fatalf("OpenJournal: %v", err)
			}
			if !j.Torn() {
				t.Error("Torn() = false")
			}
			journalTestEqual(t, got, want)
			r, err := j.Append(Record{Run: "r2", Kind: KindRunStart})
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if r.Seq != int64(len(want)+1) {
				t.Errorf("appended seq %d, want %d", r.Seq, len(want)+1)
			}
			j.Close()

			j, got, err = OpenJournal(path)
			if err != nil {
				t.Fatalf("reopen after append: %v", err)
			}
			defer j.Close()
			if j.Torn() {
				t.Error("Torn() = true after the torn record was cut off")
			}
			journalTestEqual(t, got, append(want[:len(want):len(want)], r))
		})
	}
}

func TestJournalCorruptMiddle(t *testing.T) {
	// Each mangle changes line 2 of the journal (index 1).
	tests := []struct {
		name    string
		mangle  func(line string) string
		wantErr string
	}{
		{"bad checksum", func(l string) string { return "0000000000000000" + l[16:] }, "line 2: corrupt record: checksum"},
		{"no checksum", func(l string) string { return l[17:] }, "line 2: corrupt record: no checksum"},
		{"garbage", func(string) string { return "\x00\x00\x00" }, "line 2: corrupt record"},
		{"empty", func(string) string { return "" }, "line 2: corrupt record"},
		{"bad json with good checksum", func(string) string {
			return journalSum([]byte("{")) + " {"
		}, "line 2: corrupt record: decode record"},
		{"unknown kind", func(string) string {
			body := `{"seq":2,"time":"2002-06-01T00:00:00Z","run":"r1","step":"x","kind":"exploded"}`
			return journalSum([]byte(body)) + " " + body
		}, `line 2: corrupt record: unknown record kind "exploded"`},
		{"sequence out of order", func(string) string {
			body := `{"seq":7,"time":"2002-06-01T00:00:00Z","run":"r1","step":"x","kind":"intent"}`
			return journalSum([]byte(body)) + " " + body
		}, "line 2: sequence 7, want 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "journal.log")
			journalTestWrite(t, path, journalTestSeq)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(data), "\n")
			lines[1] = tt.mangle(lines[1])
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			j, recs, err := OpenJournal(path)
			if err == nil {
				j.Close()
				t.Fatalf("OpenJournal succeeded with %d records", len(recs))
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q; want it to name %s and contain %q", err, path, tt.wantErr)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, []byte(strings.Join(lines, "\n"))) {
				t.Error("OpenJournal changed a journal it refused")
			}
		})
	}
}

func TestJournalAppendInvalid(t *testing.T) {
	tests := []struct {
		name    string
		rec     Record
		wantErr string
	}{
		{"unknown kind", Record{Kind: "boom", Step: "x"}, `unknown record kind "boom"`},
		{"no kind", Record{Step: "x"}, `unknown record kind ""`},
		{"intent without step", Record{Kind: KindIntent}, "intent record without a step"},
		{"failed without step", Record{Kind: KindFailed}, "failed record without a step"},
		{"wrong sequence", Record{Kind: KindNote, Seq: 5}, "sequence 5, want 1"},
	}
	path := filepath.Join(t.TempDir(), "journal.log")
	j, _, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := j.Append(tt.rec); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Append error %v; want %q", err, tt.wantErr)
			}
		})
	}
	// A refused record is not a write error: the journal stays usable.
	if r, err := j.Append(Record{Kind: KindNote, Seq: 1}); err != nil || r.Seq != 1 {
		t.Errorf("Append after refused records = %+v, %v", r, err)
	}
}

// TestJournalWriteErrorClosedFile makes the write fail by closing the
// file under the journal.
func TestJournalWriteErrorClosedFile(t *testing.T) {
	j, _, err := OpenJournal(filepath.Join(t.TempDir(), "journal.log"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Record{Kind: KindRunStart, Run: "r1"}); err != nil {
		t.Fatal(err)
	}
	j.f.Close()
	if _, err := j.Append(Record{Kind: KindNote}); err == nil || !strings.Contains(err.Error(), "write journal") {
		t.Fatalf("Append on a closed file: %v; want a write error", err)
	}
	if _, err := j.Append(Record{Kind: KindNote}); err == nil || !strings.Contains(err.Error(), "unusable after an earlier error") {
		t.Fatalf("Append after a write error: %v; want refusal", err)
	}
}

// TestJournalWriteErrorFullDisk fills a 16 KiB tmpfs: the failing append
// and every later one must fail, and reopening the journal must give
// exactly the records whose Append succeeded.
func TestJournalWriteErrorFullDisk(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16k,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	path := filepath.Join(mnt, "journal", "journal.log")
	j, _, err := OpenJournal(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	detail := map[string]string{"blob": strings.Repeat("x", 1000)}
	var ok []Record
	var appendErr error
	for i := 0; i < 1000 && appendErr == nil; i++ {
		var r Record
		r, appendErr = j.Append(Record{Run: "r1", Kind: KindNote, Detail: detail})
		if appendErr == nil {
			ok = append(ok, r)
		}
	}
	if appendErr == nil {
		t.Fatal("1 MB of records fitted in a 16 KiB tmpfs")
	}
	if !strings.Contains(appendErr.Error(), path) {
		t.Errorf("error %q does not name the journal", appendErr)
	}
	if _, err := j.Append(Record{Run: "r1", Kind: KindNote}); err == nil {
		t.Fatal("Append after a write error succeeded")
	}
	j.Close()

	j2, got, err := OpenJournal(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer j2.Close()
	journalTestEqual(t, got, ok)
}

func TestJournalCompleted(t *testing.T) {
	rec := func(step, kind string) Record { return Record{Run: "r", Step: step, Kind: kind} }
	tests := []struct {
		name string
		recs []Record
		want []string
	}{
		{"empty", nil, nil},
		{"intent only", []Record{rec("a", KindIntent)}, nil},
		{"done and skip in order", []Record{
			rec("", KindRunStart), rec("a", KindIntent), rec("a", KindDone), rec("b", KindSkip),
			rec("c", KindIntent), rec("c", KindFailed),
		}, []string{"a", "b"}},
		{"failed then done on resume", []Record{
			rec("a", KindIntent), rec("a", KindFailed), rec("b", KindSkip), rec("a", KindIntent), rec("a", KindDone),
		}, []string{"b", "a"}},
		{"undone is not completed", []Record{
			rec("a", KindIntent), rec("a", KindDone), rec("b", KindIntent), rec("b", KindDone),
			rec("b", KindUndoIntent), rec("b", KindUndone),
		}, []string{"a"}},
		{"done then re-run intent", []Record{rec("a", KindDone), rec("a", KindIntent)}, nil},
		{"notes do not count", []Record{rec("a", KindDone), rec("a", KindNote), rec("", KindRunEnd)}, []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Completed(tt.recs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Completed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJournalSummarize(t *testing.T) {
	rec := func(run, step, kind string) Record { return Record{Run: run, Step: step, Kind: kind} }
	tests := []struct {
		name string
		recs []Record
		want JournalSummary
	}{
		{"empty", nil, JournalSummary{}},
		{"crashed mid-step", []Record{
			rec("r1", "", KindRunStart), rec("r1", "a", KindIntent), rec("r1", "a", KindDone),
			rec("r1", "b", KindIntent), rec("r1", "b", KindNote),
		}, JournalSummary{Run: "r1", Open: true, LastStep: "b", LastKind: KindIntent,
			Done: []string{"a"}, InDoubt: []string{"b"}}},
		{"failed and closed", []Record{
			rec("r1", "", KindRunStart), rec("r1", "a", KindIntent), rec("r1", "a", KindDone),
			rec("r1", "q", KindSkip), rec("r1", "b", KindIntent), rec("r1", "b", KindFailed), rec("r1", "", KindRunEnd),
		}, JournalSummary{Run: "r1", LastStep: "b", LastKind: KindFailed,
			Done: []string{"a"}, Skipped: []string{"q"}, Failed: []string{"b"}}},
		{"resumed run", []Record{
			rec("r1", "", KindRunStart), rec("r1", "a", KindIntent), rec("r1", "a", KindFailed), rec("r1", "", KindRunEnd),
			rec("r2", "", KindRunStart), rec("r2", "a", KindIntent), rec("r2", "a", KindDone),
		}, JournalSummary{Run: "r2", Open: true, LastStep: "a", LastKind: KindDone, Done: []string{"a"}}},
		{"backout half done", []Record{
			rec("r1", "", KindRunStart), rec("r1", "a", KindDone), rec("r1", "b", KindDone), rec("r1", "c", KindFailed),
			rec("r1", "b", KindUndoIntent), rec("r1", "b", KindUndone), rec("r1", "a", KindUndoIntent),
		}, JournalSummary{Run: "r1", Open: true, LastStep: "a", LastKind: KindUndoIntent,
			Failed: []string{"c"}, Undone: []string{"b"}, UndoInDoubt: []string{"a"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summarize(tt.recs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Summarize =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// The journal counts the time it spends writing and fsyncing (the run
// records it in its run-end record as journal_ms).
func TestJournalSpent(t *testing.T) {
	j, _, err := OpenJournal(filepath.Join(t.TempDir(), "journal.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Spent() != 0 {
		t.Fatalf("a new journal has spent %s", j.Spent())
	}
	for i := 0; i < 3; i++ {
		if _, err := j.Append(Record{Run: "r", Kind: KindNote}); err != nil {
			t.Fatal(err)
		}
	}
	if j.Spent() <= 0 {
		t.Errorf("three fsynced appends spent %s", j.Spent())
	}
}
