package treebackup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/internal/atomicfile"
)

// Stats counts what Backup copied. Files includes hard links;
// Bytes counts the content of each hard-linked file once.
type Stats struct {
	Files, Dirs, Symlinks, Bytes int64
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
// and are recorded with ManifestEntry.HardLink. A large file's holes stay
// holes in the backup, and Restore writes them back as holes (a sparse
// database map costs its data, not its size; its SHA-256 covers its whole
// content, zeros of the holes included). Sockets are skipped (a stopped
// daemon's leftovers); fifos and devices are an error.
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
