package rehearse

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/remediate"
)

func TestStepsAndDowntime(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 3, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	recs := []remediate.Record{
		{Kind: remediate.KindRunStart, Time: at(0)},
		{Kind: remediate.KindIntent, Step: "ha.vcs.offline", Time: at(0)},
		{Kind: remediate.KindDone, Step: "ha.vcs.offline", Time: at(2000)},
		{Kind: remediate.KindIntent, Step: "stop.msg", Time: at(2000)},
		{Kind: remediate.KindDone, Step: "stop.msg", Time: at(2100)},
		{Kind: remediate.KindSkip, Step: "post.dssetup", Time: at(2100), Detail: map[string]string{"why": "ds.dssetup already runs it"}},
		{Kind: remediate.KindIntent, Step: "post.start", Time: at(2100)},
		{Kind: remediate.KindDone, Step: "post.start", Time: at(6100)},
		{Kind: remediate.KindIntent, Step: "post.queue", Time: at(6100)},
		{Kind: remediate.KindDone, Step: "post.queue", Time: at(9100)},
	}
	steps := StepsFromJournal(recs)
	var got []string
	for _, s := range steps {
		got = append(got, fmt.Sprintf("%s=%s/%d", s.ID, s.Outcome, s.DurationMS))
	}
	want := []string{"ha.vcs.offline=done/2000", "stop.msg=done/100", "post.dssetup=skip/0", "post.start=done/4000", "post.queue=done/3000"}
	if !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if steps[2].Detail != "ds.dssetup already runs it" {
		t.Errorf("skip detail %q", steps[2].Detail)
	}
	// From the cluster's switch-off to the end of post.start; the queue
	// watch after the start is not downtime.
	if d := DowntimeMS(steps); d != 6100 {
		t.Errorf("downtime %d ms, want 6100", d)
	}
	// A failed run: down until the backout's start is done.
	failed := []judgement.RehearsalStep{{ID: "stop.msg", Outcome: "done", DurationMS: 100}, {ID: "ds.setup", Outcome: "failed", DurationMS: 300},
		{ID: "backout.start", Outcome: "done", DurationMS: 700}}
	if d := DowntimeMS(failed); d != 1100 {
		t.Errorf("downtime of a backed-out run %d ms, want 1100", d)
	}
	if d := DowntimeMS([]judgement.RehearsalStep{{ID: "stop.msg", Outcome: "skip"}, {ID: "post.start", Outcome: "done", DurationMS: 50}}); d != 0 {
		t.Errorf("downtime with nothing stopped %d ms, want 0", d)
	}
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(filepath.Join(root, "a"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(root, "a", "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	take := func(name string) Fingerprint {
		fp, err := TakeFingerprint([]string{root}, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	a, b := take("a.txt"), take("b.txt")
	if a.Digest != b.Digest || a.Entries != 3 {
		t.Fatalf("same tree: %+v %+v", a, b)
	}
	for _, change := range []func(){
		func() { os.WriteFile(f, []byte("y"), 0o644); os.Chtimes(f, time.Now(), time.Now().Add(time.Hour)) },
		func() { os.Chmod(f, 0o600) },
		func() { os.WriteFile(filepath.Join(root, "new"), nil, 0o644) },
		func() { os.Remove(filepath.Join(root, "new")); os.Symlink("a/f", filepath.Join(root, "link")) },
	} {
		change()
		c := take(fmt.Sprintf("c%d.txt", a.Entries+time.Now().UnixNano()))
		if c.Digest == a.Digest {
			t.Errorf("a change left the digest as it was")
		}
		diff, err := FirstDifference(a.Listing, c.Listing, nil)
		if err != nil || diff == "" {
			t.Errorf("no first difference: %q %v", diff, err)
		}
		a = c
	}
}

// TestLiveFiles: a file a process holds open for writing is found, and a
// change of its size and time alone is no difference; a change of its mode
// still is, and so is any change of a file no process writes.
func TestLiveFiles(t *testing.T) {
	dir := t.TempDir()
	logPath, other := filepath.Join(dir, "daemon.log"), filepath.Join(dir, "conf")
	for _, p := range []string{logPath, other} {
		if err := os.WriteFile(p, []byte("a\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := os.OpenFile(logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	r, err := os.Open(other) // read only: not live
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	live := LiveFiles([]string{dir})
	if !live[logPath] || live[other] || len(live) != 1 {
		t.Fatalf("live files %v, want only %s", live, logPath)
	}
	take := func(name string) string {
		fp, err := TakeFingerprint([]string{dir}, filepath.Join(t.TempDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return fp.Listing
	}
	before := take("before")
	w.WriteString("served a connection\n")
	os.Chtimes(logPath, time.Now(), time.Now().Add(time.Hour))
	if d, err := FirstDifference(before, take("after"), live); d != "" || err != nil {
		t.Errorf("the log's growth counted: %q %v", d, err)
	}
	if d, _ := FirstDifference(before, take("after2"), nil); d == "" {
		t.Errorf("without the live files, the log's growth went unseen")
	}
	os.Chmod(logPath, 0o600)
	if d, _ := FirstDifference(before, take("after3"), live); d == "" {
		t.Errorf("the log's mode change went unseen")
	}
	os.Chmod(logPath, 0o644)
	os.WriteFile(other, []byte("b\n"), 0o644)
	os.Chtimes(other, time.Now(), time.Now().Add(2*time.Hour))
	if d, _ := FirstDifference(before, take("after4"), live); !strings.Contains(d, "conf") {
		t.Errorf("a change of a file no process writes: %q", d)
	}
}

func TestRefused(t *testing.T) {
	for _, err := range []error{syscall.EPERM, syscall.EINVAL, fmt.Errorf("fork/exec: %w", syscall.EPERM)} {
		if !Refused(err) {
			t.Errorf("Refused(%v) = false", err)
		}
	}
	if Refused(syscall.ENOENT) || Refused(errors.New("other")) {
		t.Error("Refused of an unrelated error")
	}
	msg := (&RefusedError{Err: syscall.EPERM}).Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, "nothing was touched") || !strings.Contains(msg, "operation not permitted") {
		t.Errorf("refusal message %q", msg)
	}
}
