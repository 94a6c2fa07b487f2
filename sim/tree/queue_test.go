package tree

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
)

var million = flag.Bool("million", false, "TestQueueMillion: write a queue of 10⁶ files and print the time")

func TestExpectedQueue(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    sim.QueueSpec
		want map[string]QueueCounts
	}{
		{"empty", sim.QueueSpec{Channels: []string{"a", "b"}}, map[string]QueueCounts{"a": {}, "b": {}}},
		{"round robin", sim.QueueSpec{Messages: 5, Held: 2, Temp: 3, Channels: []string{"a", "b"}, Size: 100, OldestAge: 10 * time.Second},
			map[string]QueueCounts{
				"a": {Messages: 3, Held: 2, Temp: 2, Bytes: 300, TempBytes: 100, OldestAge: 10 * time.Second},
				"b": {Messages: 2, Held: 0, Temp: 1, Bytes: 200, TempBytes: 50, OldestAge: 8 * time.Second},
			}},
		{"defaults", sim.QueueSpec{Messages: 6},
			map[string]QueueCounts{
				"tcp_local": {Messages: 1, Bytes: 2048, OldestAge: 2 * time.Hour}, "tcp_intranet": {Messages: 1, Bytes: 2048, OldestAge: 100 * time.Minute},
				"ims-ms": {Messages: 1, Bytes: 2048, OldestAge: 80 * time.Minute}, "l": {Messages: 1, Bytes: 2048, OldestAge: time.Hour},
				"hold": {Messages: 1, Bytes: 2048, OldestAge: 40 * time.Minute}, "reprocess": {Messages: 1, Bytes: 2048, OldestAge: 20 * time.Minute},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExpectedQueue(tc.q)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ExpectedQueue = %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestWriteQueue(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    sim.QueueSpec
	}{
		{"20000 files in subdirs", sim.QueueSpec{Messages: 20000, Held: 1234, Temp: 77, Subdirs: 7, OldestAge: 36 * time.Hour, Size: 1500}},
		{"flat, tiny files cut to size", sim.QueueSpec{Messages: 500, Held: 3, Temp: 1, Channels: []string{"tcp_local", "hold"}, Size: 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "queue")
			now := time.Now()
			if err := WriteQueue(context.Background(), dir, tc.q, "mail.siroe.com", now); err != nil {
				t.Fatalf("WriteQueue: %v", err)
			}
			got := walkQueue(t, dir, now, tc.q.Subdirs > 0)
			want := ExpectedQueue(tc.q)
			// mtimes are exact relative to now: no slack.
			compareQueue(t, got, want, 0)
			total := 0
			for _, c := range got {
				total += c.Messages + c.Temp
			}
			if total != tc.q.Messages+tc.q.Temp {
				t.Errorf("%d files on disk, want %d", total, tc.q.Messages+tc.q.Temp)
			}
		})
	}
}

func TestQueueFileContent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "queue")
	q := sim.QueueSpec{Messages: 12, Held: 12, Temp: 1, Channels: []string{"tcp_local"}, Size: 3000}
	if err := WriteQueue(context.Background(), dir, q, "mail.siroe.com", time.Now()); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "tcp_local"))
	if err != nil {
		t.Fatal(err)
	}
	retries := map[string]bool{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "tcp_local", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		env, msg, ok := strings.Cut(s, "\n*\n")
		if !ok {
			t.Fatalf("%s: no envelope separator", e.Name())
		}
		if lines := strings.Split(env, "\n"); len(lines) != 5 || lines[1] != "tcp_local" || !strings.HasPrefix(lines[3], "rfc822;") {
			t.Errorf("%s: envelope %q", e.Name(), env)
		}
		for _, h := range []string{"Received: ", "\nDate: ", "\nFrom: ", "\nTo: ", "\nSubject: ", "\nMessage-ID: <", "\n\n"} {
			if !strings.Contains(msg, h) {
				t.Errorf("%s: message lacks %q", e.Name(), h)
			}
		}
		if strings.HasPrefix(e.Name(), "$") {
			continue
		}
		if !strings.HasSuffix(e.Name(), ".HELD") {
			t.Errorf("%s: every message is held in this scenario", e.Name())
		}
		retries[e.Name()[:2]] = true
	}
	if len(retries) != len(retryCodes) {
		t.Errorf("retry counters used %v, want all of %v", retries, retryCodes)
	}
}

// TestQueueMillion writes 10⁶ queue files when run with -million and
// prints how long it took; it checks the counts on disk too.
func TestQueueMillion(t *testing.T) {
	if !*million {
		t.Skip("run with -million to write 10⁶ queue files")
	}
	dir := filepath.Join(t.TempDir(), "queue")
	q := sim.QueueSpec{Messages: 1_000_000, Held: 10_000, Temp: 100, Subdirs: 20}
	now := time.Now()
	start := time.Now()
	if err := WriteQueue(context.Background(), dir, q, "mail.siroe.com", now); err != nil {
		t.Fatalf("WriteQueue: %v", err)
	}
	took := time.Since(start)
	fmt.Printf("TestQueueMillion: wrote %d queue files (%d bytes each) in %v\n", q.Messages+q.Temp, 2048, took)
	compareQueue(t, walkQueue(t, dir, now, true), ExpectedQueue(q), 0)
}

// TestDeliverQueue: a queue written by WriteQueue, with more files per
// directory than DeliverQueue reads at a time, is delivered whole: every
// message not held moves to the same path below DeliveredDir with its
// content, held and temporary files stay; a cancelled context delivers
// nothing and says so; a host without a queue delivers nothing.
func TestDeliverQueue(t *testing.T) {
	q := sim.QueueSpec{Messages: 3 * deliverBatch, Held: 40, Temp: 9, Channels: []string{"tcp_local", "hold"}, Size: 64}
	for _, tc := range []struct {
		name      string
		cancelled bool
		noQueue   bool
		want      int
	}{
		{"backlog", false, false, q.Messages - q.Held},
		{"cancelled", true, false, 0},
		{"no queue", false, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := sim.Paths{Root: t.TempDir()}
			if !tc.noQueue {
				if err := WriteQueue(context.Background(), p.Queue(), q, "mail.siroe.com", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			before := filesUnder(t, p.Queue())
			ctx, cancel := context.WithCancel(context.Background())
			if tc.cancelled {
				cancel()
			}
			defer cancel()
			n, err := DeliverQueue(ctx, p)
			if tc.cancelled != (err != nil) {
				t.Fatalf("DeliverQueue: %d, %v", n, err)
			}
			if n != tc.want {
				t.Errorf("delivered %d, want %d", n, tc.want)
			}
			left, sink := filesUnder(t, p.Queue()), filesUnder(t, DeliveredDir(p))
			if len(sink) != tc.want {
				t.Errorf("%d files delivered, want %d", len(sink), tc.want)
			}
			for rel, content := range before {
				stays := strings.HasPrefix(filepath.Base(rel), "$") || strings.HasSuffix(rel, ".HELD") || tc.want == 0
				got, ok := left[rel]
				if !stays {
					got, ok = sink[rel]
				}
				if !ok || got != content {
					t.Errorf("%s (stays %v): not where it belongs or changed", rel, stays)
				}
			}
		})
	}
}

// filesUnder is every regular file below dir by relative path, with its
// content (none when dir does not exist).
func filesUnder(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if path == dir && os.IsNotExist(err) {
				return filepath.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
