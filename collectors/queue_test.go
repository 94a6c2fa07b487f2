package collectors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// writeQueueFile creates a queue file of size bytes with the given mtime.
func writeQueueFile(t testing.TB, path string, size int, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCollectQueue(t *testing.T) {
	inst := t.TempDir()
	q := filepath.Join(inst, "imta", "queue")
	t0 := time.Date(2002, 9, 16, 10, 0, 0, 0, time.UTC)
	writeQueueFile(t, filepath.Join(q, "tcp_local", "ZZ01A.00"), 100, t0.Add(time.Hour))
	writeQueueFile(t, filepath.Join(q, "tcp_local", "ZY01B.HELD"), 50, t0.Add(2*time.Hour))
	writeQueueFile(t, filepath.Join(q, "tcp_local", "$ZZ01C.00"), 999, t0)
	writeQueueFile(t, filepath.Join(q, "tcp_local", "000", "ZZ01D.00"), 7, t0.Add(3*time.Hour))
	writeQueueFile(t, filepath.Join(q, "tcp_local", "001", "ZX01E.00"), 3, t0.Add(30*time.Minute))
	writeQueueFile(t, filepath.Join(q, "hold", "ZZ02A.HELD"), 10, t0.Add(-time.Hour))
	if err := os.MkdirAll(filepath.Join(q, "ims-ms"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeQueueFile(t, filepath.Join(q, "stray-file"), 5, time.Time{})

	s := &facts.Snapshot{}
	partial, err := collectQueue(context.Background(), &Target{InstDir: inst, host: LiveHost{}}, s)
	if err != nil || len(partial) > 0 {
		t.Fatalf("collectQueue: partial %v, err %v", partial, err)
	}
	tm := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	want := []facts.QueueChannel{
		{Name: "hold", QueueCounts: facts.QueueCounts{Messages: 1, Held: 1, Bytes: 10, Oldest: tm(-time.Hour), Newest: tm(-time.Hour)}}, // held only: no OldestActive
		{Name: "ims-ms"},
		{Name: "tcp_local", QueueCounts: facts.QueueCounts{Messages: 4, Held: 1, Temp: 1, Bytes: 160, Oldest: tm(30 * time.Minute), Newest: tm(3 * time.Hour), OldestActive: tm(30 * time.Minute)}},
	}
	if len(s.Queue.Channels) != len(want) {
		t.Fatalf("channels = %+v, want %d", s.Queue.Channels, len(want))
	}
	for i, w := range want {
		if g := s.Queue.Channels[i]; !sameCounts(g.QueueCounts, w.QueueCounts) || g.Name != w.Name {
			t.Errorf("channel %d = %s %+v, want %s %+v", i, g.Name, g.QueueCounts, w.Name, w.QueueCounts)
		}
	}
	wantTotal := facts.QueueCounts{Messages: 5, Held: 2, Temp: 1, Bytes: 170, Oldest: tm(-time.Hour), Newest: tm(3 * time.Hour), OldestActive: tm(30 * time.Minute)}
	if !sameCounts(s.Queue.Total, wantTotal) {
		t.Errorf("total = %+v, want %+v", s.Queue.Total, wantTotal)
	}
	if s.Queue.Path != q {
		t.Errorf("path = %q, want %q", s.Queue.Path, q)
	}
}

func sameCounts(a, b facts.QueueCounts) bool {
	eqT := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Messages == b.Messages && a.Held == b.Held && a.Temp == b.Temp && a.Bytes == b.Bytes &&
		eqT(a.Oldest, b.Oldest) && eqT(a.Newest, b.Newest) && eqT(a.OldestActive, b.OldestActive)
}

func TestCollectQueueErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(inst string)
	}{
		{"missing queue directory", func(string) {}},
		{"queue is a file", func(inst string) {
			writeQueueFile(t, filepath.Join(inst, "imta", "queue"), 1, time.Time{})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := t.TempDir()
			tt.setup(inst)
			s := &facts.Snapshot{}
			if _, err := collectQueue(context.Background(), &Target{InstDir: inst, host: LiveHost{}}, s); err == nil {
				t.Fatalf("collectQueue succeeded: %+v", s.Queue)
			}
			if s.Queue != nil {
				t.Errorf("queue facts set on error: %+v", s.Queue)
			}
		})
	}
}

// TestCollectQueueLarge reads a generated queue of 10⁵ files and checks
// that the live heap during the walk stays far below what holding one
// record per file would take.
func TestCollectQueueLarge(t *testing.T) {
	const (
		channels = 4
		subdirs  = 5
		perDir   = 5000 // 4*5*5000 = 10⁵ files
	)
	inst := t.TempDir()
	q := filepath.Join(inst, "imta", "queue")
	var wg sync.WaitGroup
	errs := make(chan error, channels*subdirs)
	for c := range channels {
		for d := range subdirs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dir := filepath.Join(q, fmt.Sprintf("tcp_ch%d", c), fmt.Sprintf("%03d", d))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					errs <- err
					return
				}
				for i := range perDir {
					name := fmt.Sprintf("ZZ%08d.00", i)
					if i%100 == 0 {
						name = fmt.Sprintf("ZY%08d.HELD", i)
					}
					if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var peak uint64
	var mu sync.Mutex
	var ms runtime.MemStats
	batches := 0
	walkHook = func() {
		mu.Lock()
		defer mu.Unlock()
		batches++
		if batches%10 != 0 {
			return
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	defer func() { walkHook = nil }()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.HeapInuse

	s := &facts.Snapshot{}
	if _, err := collectQueue(context.Background(), &Target{InstDir: inst, host: LiveHost{}}, s); err != nil {
		t.Fatal(err)
	}
	const files = channels * subdirs * perDir
	if s.Queue.Total.Messages != files || s.Queue.Total.Held != files/100 || s.Queue.Total.Bytes != files {
		t.Fatalf("total = %+v, want %d messages, %d held, %d bytes", s.Queue.Total, files, files/100, files)
	}
	if peak == 0 {
		t.Fatal("walk hook never sampled the heap")
	}
	// One 16-byte string header per file would already be 1.6 MB.
	if bound := uint64(files * 16); peak > before && peak-before > bound {
		t.Errorf("heap grew by %d bytes during a %d-file walk, bound %d", peak-before, files, bound)
	}
}

// BenchmarkScanQueue reads the queue named by MSGUARD_BENCH_QUEUE (compare
// with `find DIR -type f -printf '%s\n'`), or a generated 10⁴-file queue.
func BenchmarkScanQueue(b *testing.B) {
	dir := os.Getenv("MSGUARD_BENCH_QUEUE")
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "queue")
		for i := range 10_000 {
			writeQueueFile(b, filepath.Join(dir, fmt.Sprintf("ch%d", i%4), fmt.Sprintf("%03d", i%7), fmt.Sprintf("ZZ%08d.00", i)), 1, time.Time{})
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := scanQueue(context.Background(), dir); err != nil {
			b.Fatal(err)
		}
	}
}
