package treebackup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/exitcode"
)

// Stats counts what Backup copied. Files includes hard links;
// Bytes counts the content of each hard-linked file once.
type Stats struct {
	Files, Dirs, Symlinks, Bytes int64
}

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

// devIno identifies an inode, to find hard links.
type devIno struct{ dev, ino uint64 }

// backupRun is one Backup call.
type backupRun struct {
	src, data string
	exclude   relSet
	ctx       context.Context
	cancel    context.CancelFunc
	queue     dirQueue
	results   chan []ManifestEntry
	errOnce   sync.Once
	err       error

	mu        sync.Mutex
	inodes    map[devIno]string // hard-linked files (nlink > 1) seen: first path
	links     [][2]string       // hard links to make in the backup: link, first
	copied    atomic.Int64
	hardLinks atomic.Int64
}

// Backup copies the tree src into DataDir(dst, name) and writes
// its manifest to ManifestPath(dst, name), streaming: entries go to the
// manifest as they are copied, never all held in memory.
//
// dst is created 0700 when missing and may hold other backups; the backup
// of name must not exist yet. In the backup every directory is 0700 and
// every file 0600, owned by the caller: the original mode, owner and mtime
// live in the manifest, and only Restore gives them back. Symlinks are
// copied as symlinks and never followed. Hard links inside src are kept:
// the second and later names of a file are hard links in the backup too
// and are recorded with ManifestEntry.HardLink. Sockets are skipped (a
// stopped daemon's leftovers); fifos and devices are an error.
//
// exclude lists relative paths (slash-separated) left out with everything
// below them, such as the message store when backup.store saves it.
//
// A full destination gives an error "backup destination DST is full: need
// about N more bytes (…)" with exit code exitcode.Runtime; the partial
// backup stays for inspection, its manifest without a trailer so that
// Verify and Restore refuse it.
//
// The backup is on disk before Backup returns: once every file is
// copied, one syncfs(2) of the destination's file system (not an fsync a
// file), and only then the manifest's trailer and final header, fsynced,
// and the destination directory fsynced. A crash before that leaves a
// manifest without a trailer, never a complete-looking backup whose files
// were still in memory.
//
// Files are copied by treeWorkers workers, each taking whole directories,
// through raw descriptors relative to the directory (see copyfile.go);
// each file is hashed as it is copied, in the same read.
func Backup(ctx context.Context, src, dst, name string, exclude []string) (Stats, error) {
	var st Stats
	if err := checkBackupName(name); err != nil {
		return st, err
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return st, fmt.Errorf("back up %s: %w", src, err)
	}
	if dst, err = filepath.Abs(dst); err != nil {
		return st, fmt.Errorf("back up to %s: %w", dst, err)
	}
	if fi, err := os.Stat(src); err != nil {
		return st, fmt.Errorf("back up %s: %w", src, err)
	} else if !fi.IsDir() {
		return st, fmt.Errorf("back up %s: not a directory", src)
	}
	ex, err := cleanRelPaths("exclude", exclude)
	if err != nil {
		return st, fmt.Errorf("back up %s: %w", src, err)
	}
	if rel, inside := pathInside(src, dst); inside && !newRelSet(ex).under(rel) {
		return st, fmt.Errorf("back up %s: backup destination %s is inside it", src, dst)
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return st, fmt.Errorf("create backup destination: %w", err)
	}
	data := DataDir(dst, name)
	if err := os.Mkdir(data, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return st, fmt.Errorf("backup %s already exists in %s", name, dst)
		}
		return st, backupWriteError(fmt.Errorf("create backup directory: %w", err), dst, src, ex, 0)
	}
	if err := os.Chmod(data, 0o700); err != nil { // whatever the umask
		return st, fmt.Errorf("chmod backup directory: %w", err)
	}
	mw, err := createManifest(ManifestPath(dst, name), ManifestHeader{Name: name, Root: src, Created: time.Now(), Exclude: ex})
	if err != nil {
		return st, backupWriteError(err, dst, src, ex, 0)
	}
	b := &backupRun{src: src, data: data, exclude: newRelSet(ex), inodes: map[devIno]string{},
		results: make(chan []ManifestEntry, 64)}
	st, err = b.run(ctx, mw)
	if err != nil {
		mw.abandon()
		return st, backupWriteError(err, dst, src, ex, b.copied.Load())
	}
	if err := syncFS(data); err != nil {
		mw.abandon()
		return st, backupWriteError(err, dst, src, ex, b.copied.Load())
	}
	if err := mw.finish(st, b.hardLinks.Load()); err != nil {
		mw.abandon()
		return st, backupWriteError(err, dst, src, ex, b.copied.Load())
	}
	if err := mw.close(); err != nil {
		return st, backupWriteError(err, dst, src, ex, b.copied.Load())
	}
	return st, atomicfile.SyncDir(dst)
}

// checkBackupName accepts a name usable as one path element.
func checkBackupName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("bad backup name %q", name)
	}
	return nil
}

// pathInside reports whether p is inside dir (or is dir), and its path
// relative to dir, after resolving symlinks of their existing parts.
func pathInside(dir, p string) (string, bool) {
	dir, p = resolveExisting(dir), resolveExisting(p)
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// resolveExisting resolves symlinks in the longest existing prefix of p.
func resolveExisting(p string) string {
	p = filepath.Clean(p)
	var rest []string
	for {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{r}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// fail records the first error and stops the workers.
func (b *backupRun) fail(err error) {
	b.errOnce.Do(func() { b.err = err })
	b.cancel()
	b.queue.stop()
}

// run copies the tree with treeWorkers workers, each taking whole
// directories, while this goroutine's helper writes the manifest.
func (b *backupRun) run(ctx context.Context, mw *manifestWriter) (Stats, error) {
	var st Stats
	b.ctx, b.cancel = context.WithCancel(ctx)
	defer b.cancel()
	b.queue.cond.L = &b.queue.mu
	done := make(chan struct{})
	go func() {
		defer close(done)
		failed := false
		for batch := range b.results {
			for i := range batch {
				if failed {
					break
				}
				e := &batch[i]
				if err := mw.add(e); err != nil {
					failed = true
					b.fail(err)
					break
				}
				switch {
				case e.Type == EntryDir:
					st.Dirs++
				case e.Type == EntrySymlink:
					st.Symlinks++
				case e.HardLink != "":
					st.Files++
				default:
					st.Files++
					st.Bytes += e.Size
				}
			}
		}
	}()
	if root, err := b.rootEntry(); err != nil {
		b.fail(err)
	} else if err := b.send([]ManifestEntry{root}); err != nil {
		b.fail(err)
	}
	b.queue.push(".")
	var wg sync.WaitGroup
	for range treeWorkers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newFileWorker()
			defer w.close()
			for {
				rel, ok := b.queue.pop()
				if !ok {
					return
				}
				err := b.copyDir(w, rel)
				b.queue.done()
				if err != nil {
					b.fail(err)
				}
			}
		}()
	}
	wg.Wait()
	close(b.results)
	<-done
	err := b.err
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return st, err
	}
	// Hard links are made last: the first name's copy is finished by now.
	for _, l := range b.links {
		if err := os.Link(absPath(b.data, l[1]), absPath(b.data, l[0])); err != nil {
			return st, fmt.Errorf("link %s in backup: %w", l[0], err)
		}
	}
	return st, nil
}

// rootEntry is the manifest entry of the source directory itself.
func (b *backupRun) rootEntry() (ManifestEntry, error) {
	var st unix.Stat_t
	if err := unix.Lstat(b.src, &st); err != nil {
		return ManifestEntry{}, fmt.Errorf("stat %s: %w", b.src, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return ManifestEntry{}, fmt.Errorf("back up %s: changed while being copied (no longer a directory)", b.src)
	}
	return entryFromStat(".", EntryDir, &st), nil
}

// send hands a batch of entries to the manifest writer.
func (b *backupRun) send(batch []ManifestEntry) error {
	select {
	case b.results <- batch:
		return nil
	case <-b.ctx.Done():
		return b.ctx.Err()
	}
}

// copyDir copies the entries of directory rel (already created in the
// backup): files, symlinks and the subdirectories themselves, which it
// creates and queues for a worker. A directory's entry reaches the
// manifest before it is queued, so before any of its children's.
func (b *backupRun) copyDir(w *fileWorker, rel string) error {
	srcDir := absPath(b.src, rel)
	sfd, err := unix.Open(srcDir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err == unix.ENOTDIR || err == unix.ELOOP {
		return fmt.Errorf("back up %s: changed while being copied (no longer a directory)", srcDir)
	}
	if err != nil {
		return fmt.Errorf("read directory %s: %w", srcDir, err)
	}
	defer unix.Close(sfd)
	dfd, err := openDir(absPath(b.data, rel))
	if err != nil {
		return fmt.Errorf("open directory %s in backup: %w", rel, err)
	}
	defer unix.Close(dfd)
	batch := make([]ManifestEntry, 0, treeBatch)
	var subdirs []string
	flush := func() error {
		if len(batch) > 0 {
			if err := b.send(batch); err != nil {
				return err
			}
			batch = make([]ManifestEntry, 0, treeBatch)
		}
		if len(subdirs) > 0 {
			b.queue.push(subdirs...)
			subdirs = subdirs[:0]
		}
		return nil
	}
	w.ent.reset(sfd)
	for {
		nb, typ, err := w.ent.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read directory %s: %w", srcDir, err)
		}
		if err := b.ctx.Err(); err != nil {
			return err
		}
		name := string(nb)
		child := relJoin(rel, name)
		if b.exclude.has(child) {
			continue
		}
		var e ManifestEntry
		keep, isDir := true, false
		if typ == unix.DT_REG {
			e, err = b.copyFile(w, sfd, dfd, name, child)
		} else {
			e, keep, isDir, err = b.copyOther(w, sfd, dfd, name, child)
		}
		if err != nil {
			return err
		}
		if !keep {
			continue
		}
		batch = append(batch, e)
		if isDir {
			subdirs = append(subdirs, child)
		}
		if len(batch) == treeBatch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// copyOther backs up an entry that getdents did not call a regular file:
// a directory is created in the backup (isDir), a symlink copied as a
// symlink, a socket skipped (keep false); fifos and devices are an error.
func (b *backupRun) copyOther(w *fileWorker, sfd, dfd int, name, rel string) (e ManifestEntry, keep, isDir bool, err error) {
	var st unix.Stat_t
	if err := unix.Fstatat(sfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return e, false, false, fmt.Errorf("stat %s: %w", absPath(b.src, rel), err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dfd, name, 0o700); err != nil {
			return e, false, false, fmt.Errorf("create directory %s in backup: %w", rel, err)
		}
		return entryFromStat(rel, EntryDir, &st), true, true, nil
	case unix.S_IFREG: // a file system without d_type
		e, err := b.copyFile(w, sfd, dfd, name, rel)
		return e, err == nil, false, err
	case unix.S_IFLNK:
		n, err := unix.Readlinkat(sfd, name, w.buf)
		if err == nil && n >= len(w.buf) {
			err = unix.ENAMETOOLONG
		}
		if err != nil {
			return e, false, false, fmt.Errorf("read symlink %s: %w", absPath(b.src, rel), err)
		}
		target := string(w.buf[:n])
		if err := unix.Symlinkat(target, dfd, name); err != nil {
			return e, false, false, fmt.Errorf("create symlink %s in backup: %w", rel, err)
		}
		e = entryFromStat(rel, EntrySymlink, &st)
		e.Target = target
		return e, true, false, nil
	case unix.S_IFSOCK:
		return e, false, false, nil
	}
	return e, false, false, fmt.Errorf("back up %s: unsupported file type %s", absPath(b.src, rel), statMode(&st).Type())
}

// copyFile copies regular file name of directory sfd (rel in the tree)
// into directory dfd of the backup (0600), hashing it on the way, or notes
// it as a hard link to a file already seen.
func (b *backupRun) copyFile(w *fileWorker, sfd, dfd int, name, rel string) (ManifestEntry, error) {
	in, err := openReadAt(sfd, name)
	if err == unix.ELOOP {
		return ManifestEntry{}, fmt.Errorf("back up %s: changed while being copied (no longer a regular file)", absPath(b.src, rel))
	}
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("open %s: %w", absPath(b.src, rel), err)
	}
	defer unix.Close(in)
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return ManifestEntry{}, fmt.Errorf("stat %s: %w", absPath(b.src, rel), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ManifestEntry{}, fmt.Errorf("back up %s: changed while being copied (no longer a regular file)", absPath(b.src, rel))
	}
	e := entryFromStat(rel, EntryFile, &st)
	if st.Nlink > 1 {
		key := devIno{uint64(st.Dev), uint64(st.Ino)}
		b.mu.Lock()
		first, seen := b.inodes[key]
		if seen {
			b.links = append(b.links, [2]string{rel, first})
		} else {
			b.inodes[key] = rel
		}
		b.mu.Unlock()
		if seen {
			b.hardLinks.Add(1)
			e.HardLink = first
			return e, nil
		}
	}
	out, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return e, fmt.Errorf("create %s in backup: %w", rel, err)
	}
	n, sum, err := w.copyAndHash(out, in, e.Size)
	b.copied.Add(n)
	if err != nil {
		unix.Close(out)
		return e, fmt.Errorf("copy %s to backup: %w", absPath(b.src, rel), err)
	}
	if err := unix.Close(out); err != nil {
		return e, fmt.Errorf("write %s in backup: %w", rel, err)
	}
	if n != e.Size {
		return e, fmt.Errorf("back up %s: changed while being copied (%d bytes read, %d expected)", absPath(b.src, rel), n, e.Size)
	}
	e.SHA256 = string(sum)
	return e, nil
}

// syncFS flushes the whole file system holding dir: one syncfs instead of
// an fsync per file.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}

// isNoSpace reports whether err says the file system or quota is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// backupWriteError turns a full destination into the operator's message
// (how much more space is needed) with exit code Runtime; other errors
// pass through.
func backupWriteError(err error, dst, src string, exclude []string, copied int64) error {
	if !isNoSpace(err) {
		return err
	}
	total, entries := treeSize(src, newRelSet(exclude))
	need := max(total-copied, 0) + entries*manifestBytesPerEntry
	var free int64
	var sfs unix.Statfs_t
	if unix.Statfs(dst, &sfs) == nil {
		free = int64(sfs.Bavail) * int64(sfs.Bsize)
	}
	return exitcode.Wrap(exitcode.Runtime, fmt.Errorf(
		"backup destination %s is full: need about %d more bytes (%s more; copied %s of %s from %s, %s free there; the partial backup is left, marked incomplete): %w",
		dst, need, humanBytes(need), humanBytes(copied), humanBytes(total), src, humanBytes(free), err))
}

// manifestBytesPerEntry estimates one manifest line, for space estimates.
const manifestBytesPerEntry = 256

// treeSize sums the sizes of the regular files below root (outside the
// excluded paths) and counts its entries; errors are skipped: it only
// feeds an estimate.
func treeSize(root string, exclude relSet) (bytes, entries int64) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if exclude.has(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		entries++
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				bytes += fi.Size()
			}
		}
		return nil
	})
	return bytes, entries
}

// humanBytes renders n in binary units: "1.5 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Verify re-reads every file of backup name in dst and compares its
// size and SHA-256 with the manifest; directories, symlinks and hard links
// are checked too, and the manifest's trailer proves the manifest whole.
// A backup that fails gives a *CorruptBackupError listing up to 20
// problems.
//
// The files are read back through the page cache, as any reader would get
// them: right after Backup most come from memory, not from the disk.
// That checks that the backup holds what the manifest says (no file
// missing, cut short or altered since); that it reached the disk is
// Backup's syncfs before it writes the manifest's trailer, not this
// re-read. No cache is dropped (dropping would evict other programs'
// pages too).
func Verify(ctx context.Context, dst, name string) error {
	return verifyBackup(ctx, dst, name, nil)
}

// verifyBackup is Verify; each, when set, is called with every entry
// of the manifest in order (from one goroutine), so that a restore learns
// the backup's paths in the same read of the manifest.
func verifyBackup(ctx context.Context, dst, name string, each func(*ManifestEntry)) error {
	data := DataDir(dst, name)
	var mu sync.Mutex
	var probs problemList
	add := func(format string, args ...any) {
		mu.Lock()
		probs.add(format, args...)
		mu.Unlock()
	}
	pool := startTreePool(ctx, func(_ context.Context, w *fileWorker, batch []ManifestEntry) error {
		for i := range batch {
			e := &batch[i]
			dir, base := splitRel(e.Path)
			dfd, err := w.dir[0].get(data, dir)
			var n int64
			var sum []byte
			if err == nil {
				n, sum, err = w.hashFileAt(dfd, base)
			}
			switch {
			case errors.Is(err, fs.ErrNotExist):
				add("missing file %s", e.Path)
			case err != nil:
				add("unreadable file %s: %v", e.Path, err)
			case n != e.Size:
				add("size of %s: %d bytes, manifest says %d", e.Path, n, e.Size)
			case string(sum) != e.SHA256:
				add("sha256 of %s: %.12s…, manifest says %.12s…", e.Path, sum, e.SHA256)
			}
		}
		return nil
	})
	batches := &entryBatcher{pool: pool}
	_, rerr := readManifest(ManifestPath(dst, name), func(e *ManifestEntry) error {
		if each != nil {
			each(e)
		}
		p := absPath(data, e.Path)
		switch {
		case e.Type == EntryDir:
			if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
				add("missing directory %s", e.Path)
			}
		case e.Type == EntrySymlink:
			if t, err := os.Readlink(p); err != nil {
				add("missing symlink %s", e.Path)
			} else if t != e.Target {
				add("symlink %s points to %q, manifest says %q", e.Path, t, e.Target)
			}
		case e.HardLink != "":
			a, err1 := os.Lstat(p)
			b, err2 := os.Lstat(absPath(data, e.HardLink))
			if err1 != nil || err2 != nil || !os.SameFile(a, b) {
				add("hard link %s is not a link to %s", e.Path, e.HardLink)
			}
		default:
			return batches.add(*e)
		}
		return nil
	})
	if rerr == nil {
		rerr = batches.flush()
	}
	perr := pool.wait(ctx)
	var mc *manifestCorruptError
	switch {
	case errors.As(rerr, &mc):
		add("%s", mc.msg)
	case rerr != nil && !errors.Is(rerr, context.Canceled):
		return fmt.Errorf("verify backup %s: %w", name, rerr)
	}
	if perr != nil {
		return fmt.Errorf("verify backup %s: %w", name, perr)
	}
	return probs.err(dst, name)
}
