// Worker pools and queues shared by Backup, Verify, Restore and Compare.

package treebackup

import (
	"context"
	"runtime"
	"sync"
)

// readDirBatch is how many directory entries a walker reads at a time: a
// queue directory of a million files is never listed into memory at once.
const readDirBatch = 512

// copyBufSize is the buffer of one copying or hashing worker.
const copyBufSize = 256 << 10

// treeWorkers is how many directories or batches of files are copied or
// hashed at once: 2 to 4. A backup gives each worker whole directories:
// workers creating files in one directory serialise on its lock and, on
// this VM's ext4, spun on it (a sixth of the CPU time of a 42,000-file
// backup), so two workers never create files in the same directory.
func treeWorkers() int {
	return min(max(runtime.GOMAXPROCS(0), 2), 4)
}

// treeBatch is how many entries go to a worker, or to the manifest
// writer, at a time: one channel operation per batch, not per file.
const treeBatch = 256

// treePool runs fn on submitted items with a bounded number of workers,
// each with its own buffer, hash and directory descriptors; the first
// error cancels the others.
type treePool[T any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	jobs   chan T
	wg     sync.WaitGroup
	once   sync.Once
	err    error
}

func startTreePool[T any](ctx context.Context, fn func(context.Context, *fileWorker, T) error) *treePool[T] {
	n := treeWorkers()
	cctx, cancel := context.WithCancel(ctx)
	p := &treePool[T]{ctx: cctx, cancel: cancel, jobs: make(chan T, 2*n)}
	for range n {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			w := newFileWorker()
			defer w.close()
			for v := range p.jobs {
				if cctx.Err() != nil {
					continue // drain after a failure
				}
				if err := fn(cctx, w, v); err != nil {
					p.fail(err)
				}
			}
		}()
	}
	return p
}

// fail records err (the first one wins) and cancels the pool.
func (p *treePool[T]) fail(err error) {
	p.once.Do(func() { p.err = err })
	p.cancel()
}

// submit queues v; it gives up when the pool was cancelled.
func (p *treePool[T]) submit(v T) error {
	select {
	case p.jobs <- v:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

// entryBatcher groups manifest entries into batches of treeBatch for a
// pool's workers.
type entryBatcher struct {
	pool  *treePool[[]ManifestEntry]
	batch []ManifestEntry
}

// add appends e and hands a full batch to the pool.
func (b *entryBatcher) add(e ManifestEntry) error {
	if b.batch == nil {
		b.batch = make([]ManifestEntry, 0, treeBatch)
	}
	b.batch = append(b.batch, e)
	if len(b.batch) < treeBatch {
		return nil
	}
	full := b.batch
	b.batch = nil
	return b.pool.submit(full)
}

// flush hands the last, partial batch to the pool.
func (b *entryBatcher) flush() error {
	if len(b.batch) == 0 {
		return nil
	}
	full := b.batch
	b.batch = nil
	return b.pool.submit(full)
}

// wait closes the queue, waits for the workers and returns the first
// error, or the parent context's error.
func (p *treePool[T]) wait(parent context.Context) error {
	close(p.jobs)
	p.wg.Wait()
	p.cancel()
	if p.err != nil {
		return p.err
	}
	return parent.Err()
}

// dirQueue holds the directories of a backup still to copy. Workers take
// the newest first (depth-first, so the queue stays short) and add the
// subdirectories they meet; it is drained when empty with no worker busy.
type dirQueue struct {
	mu      sync.Mutex
	cond    sync.Cond
	dirs    []string
	busy    int
	stopped bool
}

func (q *dirQueue) push(rels ...string) {
	q.mu.Lock()
	q.dirs = append(q.dirs, rels...)
	q.cond.Broadcast()
	q.mu.Unlock()
}

// pop waits for a directory; false when all are done or the queue stopped.
func (q *dirQueue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.dirs) == 0 && q.busy > 0 && !q.stopped {
		q.cond.Wait()
	}
	if q.stopped || len(q.dirs) == 0 {
		q.cond.Broadcast()
		return "", false
	}
	d := q.dirs[len(q.dirs)-1]
	q.dirs = q.dirs[:len(q.dirs)-1]
	q.busy++
	return d, true
}

// done marks a popped directory finished.
func (q *dirQueue) done() {
	q.mu.Lock()
	q.busy--
	if q.busy == 0 && len(q.dirs) == 0 {
		q.cond.Broadcast()
	}
	q.mu.Unlock()
}

func (q *dirQueue) stop() {
	q.mu.Lock()
	q.stopped = true
	q.cond.Broadcast()
	q.mu.Unlock()
}
