package collectors

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/collectors/facts"
)

// readDirBatch is how many directory entries are read at a time: a
// directory of 10⁶ files is never held in memory at once.
const readDirBatch = 1024

// walkHook, when set (tests only), runs after every batch of directory
// entries a walker reads; it lets a test observe the heap mid-walk.
var walkHook func()

// dirTask is one directory for a walker to read. Owner identifies what the
// directory's files count towards (a queue channel, a store mailbox).
type dirTask struct {
	path  string
	owner int
	depth int
}

// fileStat is what a walker learns about one non-directory entry, read with
// fstatat on the open directory (no path resolution per file).
type fileStat struct {
	name  string
	size  int64
	mtime int64 // Unix nanoseconds
}

// dirVisitor receives a directory's entries. file is called for each
// non-directory entry; dir for each subdirectory and returns whether (and
// for which owner) to descend into it.
type dirVisitor interface {
	file(t dirTask, fs fileStat)
	dir(t dirTask, name string) (sub dirTask, descend bool)
}

// walker reads directory trees with a small pool of workers. Subdirectories
// found while reading are queued; files are reported one at a time and
// never collected.
type walker struct {
	visit   dirVisitor
	workers int

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []dirTask
	pending int // queued or being read
	errs    []string
}

// walkDirs reads every directory of roots (and below, as v decides) and
// returns the directories it could not read.
func walkDirs(ctx context.Context, roots []dirTask, v dirVisitor) []string {
	w := &walker{visit: v, workers: min(max(runtime.GOMAXPROCS(0)*2, 4), 16)}
	w.cond = sync.NewCond(&w.mu)
	w.queue = append(w.queue, roots...)
	w.pending = len(roots)
	if w.pending == 0 {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer stop()
	var wg sync.WaitGroup
	for range w.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.work(ctx)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		w.errs = append(w.errs, fmt.Sprintf("walk stopped: %v", err))
	}
	sort.Strings(w.errs)
	return w.errs
}

func (w *walker) work(ctx context.Context) {
	for {
		w.mu.Lock()
		for len(w.queue) == 0 && w.pending > 0 && ctx.Err() == nil {
			w.cond.Wait()
		}
		if w.pending == 0 || ctx.Err() != nil {
			w.mu.Unlock()
			return
		}
		t := w.queue[len(w.queue)-1]
		w.queue = w.queue[:len(w.queue)-1]
		w.mu.Unlock()

		subs, err := w.readDir(ctx, t)

		w.mu.Lock()
		if err != nil {
			w.errs = append(w.errs, err.Error())
		}
		w.queue = append(w.queue, subs...)
		w.pending += len(subs) - 1
		w.cond.Broadcast()
		w.mu.Unlock()
	}
}

// readDir streams one directory in batches and returns its subdirectories.
func (w *walker) readDir(ctx context.Context, t dirTask) ([]dirTask, error) {
	f, err := os.Open(t.path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", t.path, unwrapPath(err))
	}
	defer f.Close()
	fd := int(f.Fd())
	var subs []dirTask
	for {
		entries, err := f.ReadDir(readDirBatch)
		for _, e := range entries {
			if e.IsDir() {
				if sub, ok := w.visit.dir(t, e.Name()); ok {
					subs = append(subs, sub)
				}
				continue
			}
			var st unix.Stat_t
			if err := unix.Fstatat(fd, e.Name(), &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if errors.Is(err, unix.ENOENT) {
					continue // delivered or dequeued while we read
				}
				return subs, fmt.Errorf("stat %s: %w", filepath.Join(t.path, e.Name()), err)
			}
			w.visit.file(t, fileStat{name: e.Name(), size: st.Size, mtime: st.Mtim.Nano()})
		}
		if walkHook != nil {
			walkHook()
		}
		if err == io.EOF || (err == nil && len(entries) == 0) {
			return subs, nil
		}
		if err != nil {
			return subs, fmt.Errorf("read %s: %w", t.path, unwrapPath(err))
		}
		if ctx.Err() != nil {
			return subs, nil
		}
	}
}

// unwrapPath drops the *PathError wrapper, whose path the caller repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// queueCounter accumulates one channel's counts; the walker's workers
// update it concurrently.
type queueCounter struct {
	mu             sync.Mutex
	messages, held int64
	temp, bytes    int64
	oldest, newest int64
	oldestActive   int64 // oldest message that is not held
}

// queueVisitor classifies queue files: "$"-prefixed temporary files apart,
// "<retry><id>.HELD" held messages, every other file a message.
type queueVisitor struct {
	channels []*queueCounter
}

func (v *queueVisitor) dir(t dirTask, name string) (dirTask, bool) {
	return dirTask{path: filepath.Join(t.path, name), owner: t.owner, depth: t.depth + 1}, true
}

func (v *queueVisitor) file(t dirTask, fs fileStat) {
	c := v.channels[t.owner]
	c.mu.Lock()
	defer c.mu.Unlock()
	if strings.HasPrefix(fs.name, "$") {
		c.temp++
		return
	}
	c.messages++
	if i := strings.LastIndexByte(fs.name, '.'); i >= 0 && strings.EqualFold(fs.name[i+1:], "HELD") {
		c.held++
	} else if c.oldestActive == 0 || fs.mtime < c.oldestActive {
		c.oldestActive = fs.mtime
	}
	c.bytes += fs.size
	if c.oldest == 0 || fs.mtime < c.oldest {
		c.oldest = fs.mtime
	}
	if fs.mtime > c.newest {
		c.newest = fs.mtime
	}
}

// collectQueue counts INST/imta/queue per channel directory, streaming
// each directory (and its numbered subdirectories) in batches.
func collectQueue(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	q, partial, err := t.host.ScanQueue(ctx, filepath.Join(t.InstDir, "imta", "queue"))
	if err != nil {
		return nil, err
	}
	s.Queue = q
	return partial, nil
}

// scanQueue reads the queue directory dir.
func scanQueue(ctx context.Context, dir string) (*facts.Queue, []string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("queue directory %s: %w", dir, unwrapPath(err))
	}
	defer f.Close()
	var names []string
	for {
		entries, err := f.ReadDir(readDirBatch)
		for _, e := range entries {
			if e.IsDir() {
				names = append(names, e.Name())
			}
		}
		if err == io.EOF || (err == nil && len(entries) == 0) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read queue directory %s: %w", dir, unwrapPath(err))
		}
	}
	sort.Strings(names)
	v := &queueVisitor{channels: make([]*queueCounter, len(names))}
	roots := make([]dirTask, len(names))
	for i, n := range names {
		v.channels[i] = &queueCounter{}
		roots[i] = dirTask{path: filepath.Join(dir, n), owner: i}
	}
	partial := walkDirs(ctx, roots, v)

	q := &facts.Queue{Path: dir, Channels: make([]facts.QueueChannel, len(names))}
	for i, n := range names {
		q.Channels[i] = facts.QueueChannel{Name: n, QueueCounts: v.channels[i].counts()}
	}
	tot := totalOf(v.channels)
	q.Total = tot.counts()
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("queue directory %s: %w", dir, err)
	}
	return q, partial, nil
}

// totalOf sums the channels' counters into one.
func totalOf(channels []*queueCounter) *queueCounter {
	tot := &queueCounter{}
	earliest := func(a, b int64) int64 {
		if a == 0 || (b != 0 && b < a) {
			return b
		}
		return a
	}
	for _, c := range channels {
		tot.messages += c.messages
		tot.held += c.held
		tot.temp += c.temp
		tot.bytes += c.bytes
		tot.oldest = earliest(tot.oldest, c.oldest)
		tot.oldestActive = earliest(tot.oldestActive, c.oldestActive)
		tot.newest = max(tot.newest, c.newest)
	}
	return tot
}

// counts converts the accumulator to the snapshot's form.
func (c *queueCounter) counts() facts.QueueCounts {
	qc := facts.QueueCounts{Messages: c.messages, Held: c.held, Temp: c.temp, Bytes: c.bytes}
	if c.messages > 0 {
		o, n := time.Unix(0, c.oldest).UTC(), time.Unix(0, c.newest).UTC()
		qc.Oldest, qc.Newest = &o, &n
	}
	if c.oldestActive != 0 {
		a := time.Unix(0, c.oldestActive).UTC()
		qc.OldestActive = &a
	}
	return qc
}
