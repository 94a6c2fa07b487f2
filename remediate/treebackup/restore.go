package treebackup

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxDifferences bounds the list Compare returns; a last line says
// how many more there were.
const maxDifferences = 1000

// restoreTempPrefix starts the name of a file being restored, renamed over
// its final name once complete.
const restoreTempPrefix = ".msguard-restore-"

// Restore makes root exactly the tree of backup name in dst: it first
// verifies the whole backup and refuses a corrupt one without touching
// root; then it removes what the manifest does not list (except the keep
// paths, relative and slash-separated, such as the store mount point, and
// what lies below them), writes every entry back with its original content,
// mode, owner and mtime, remakes hard links, and sets each directory's
// metadata after its contents. Files are written to a temporary name and
// renamed into place, so a running binary is replaced rather than
// overwritten. The file system is synced before Restore returns.
func Restore(ctx context.Context, dst, name, root string, keep []string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return fmt.Errorf("restore %s: %w", root, err)
	}
	if root == "/" {
		return fmt.Errorf("restore %s: refusing to restore over /", name)
	}
	kp, err := cleanRelPaths("keep", keep)
	if err != nil {
		return fmt.Errorf("restore %s: %w", root, err)
	}
	ks := newRelSet(kp)
	if rel, inside := pathInside(root, dst); inside && !ks.under(rel) {
		return fmt.Errorf("restore %s: backup %s is inside it and not kept", root, dst)
	}
	// One read of the manifest both verifies the backup and learns its
	// paths (8 bytes each), which removeExtras needs.
	paths := newManifestPathSet()
	if err := verifyBackup(ctx, dst, name, func(e *ManifestEntry) { paths.add(e.Path) }); err != nil {
		return fmt.Errorf("restore %s: %w", root, err)
	}
	paths.seal()
	r := &restoreRun{data: DataDir(dst, name), root: root, keep: ks, paths: paths}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return fmt.Errorf("restore %s: %w", root, err)
	}
	if err := r.removeExtras(ctx, "."); err != nil {
		return fmt.Errorf("restore %s: remove what the backup does not hold: %w", root, err)
	}
	if err := r.writeEntries(ctx, dst, name); err != nil {
		return fmt.Errorf("restore %s: %w", root, err)
	}
	// Hard links, then directory metadata: both change directories, so
	// they come after every file is in place. The hard links (few) were
	// kept from the pass above; the directories are read again from the
	// manifest rather than held.
	for i := range r.links {
		if err := r.link(&r.links[i]); err != nil {
			return fmt.Errorf("restore %s: %w", root, err)
		}
	}
	if _, err := ReadManifest(dst, name, func(e *ManifestEntry) error {
		if e.Type != EntryDir || ks.under(e.Path) {
			return nil
		}
		return setMeta(absPath(root, e.Path), e)
	}); err != nil {
		return fmt.Errorf("restore %s: %w", root, err)
	}
	return syncFS(root)
}

// restoreRun is one Restore call.
type restoreRun struct {
	data, root string
	keep       relSet
	paths      *manifestPathSet
	links      []ManifestEntry // hard links, made once every file is in place
}

// removeExtras walks directory rel of root and removes every path the
// manifest does not hold, except kept ones. A directory above a kept path
// is emptied rather than removed.
func (r *restoreRun) removeExtras(ctx context.Context, rel string) error {
	f, err := os.Open(absPath(r.root, rel))
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		ents, rerr := f.ReadDir(readDirBatch)
		for _, de := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			child := relJoin(rel, de.Name())
			if r.keep.has(child) {
				continue
			}
			known := r.paths.has(child)
			if !known && !r.keep.above(child) {
				if err := os.RemoveAll(absPath(r.root, child)); err != nil {
					return err
				}
				continue
			}
			if de.IsDir() {
				if err := r.removeExtras(ctx, child); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// writeEntries creates every directory (in this goroutine: the manifest
// lists a directory before its contents) and writes files and symlinks
// in a pool, in batches of one stretch of the manifest (mostly one
// directory's files, as the backup wrote them). Hard links are noted.
func (r *restoreRun) writeEntries(ctx context.Context, dst, name string) error {
	pool := startTreePool(ctx, func(_ context.Context, w *fileWorker, batch []ManifestEntry) error {
		for i := range batch {
			e := &batch[i]
			var err error
			if e.Type == EntrySymlink {
				err = r.symlink(w, e)
			} else {
				err = r.file(w, e)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	batches := &entryBatcher{pool: pool}
	_, rerr := ReadManifest(dst, name, func(e *ManifestEntry) error {
		switch {
		case r.keep.under(e.Path):
			return nil
		case e.HardLink != "":
			r.links = append(r.links, *e)
			return nil
		case e.Type == EntryDir:
			return r.dir(e)
		}
		return batches.add(*e)
	})
	if rerr == nil {
		rerr = batches.flush()
	}
	perr := pool.wait(ctx)
	if perr != nil {
		return perr
	}
	return rerr
}

// dir makes sure entry e is a directory in root.
func (r *restoreRun) dir(e *ManifestEntry) error {
	p := absPath(r.root, e.Path)
	// Most often it is missing and its parent is there: one mkdir.
	err := unix.Mkdir(p, 0o700)
	if err == nil {
		return nil
	}
	if err != unix.EEXIST && err != unix.ENOENT {
		return &fs.PathError{Op: "mkdir", Path: p, Err: err}
	}
	fi, err := os.Lstat(p)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		if err := os.Remove(p); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(p, 0o700); err != nil {
		return err
	}
	return nil
}

// restoreDirs returns descriptors of the directory of entry e in the
// backup and in root, and e's name in them.
func (r *restoreRun) restoreDirs(w *fileWorker, e *ManifestEntry) (sfd, dfd int, name string, err error) {
	dir, name := splitRel(e.Path)
	if sfd, err = w.dir[0].get(r.data, dir); err != nil {
		return -1, -1, "", fmt.Errorf("open backup of %s: %w", e.Path, err)
	}
	if dfd, err = w.dir[1].get(r.root, dir); errors.Is(err, fs.ErrNotExist) {
		// The manifest lists a directory before its contents, so it
		// exists unless a kept or racing path removed it.
		if err = os.MkdirAll(absPath(r.root, dir), 0o700); err == nil {
			w.dir[1].close()
			dfd, err = w.dir[1].get(r.root, dir)
		}
	}
	if err != nil {
		return -1, -1, "", fmt.Errorf("restore %s: %w", e.Path, err)
	}
	return sfd, dfd, name, nil
}

// file writes file entry e from the backup with its owner, mode and
// mtime. A new path is created in place (O_EXCL: nothing was there to
// replace, and a failure removes it again); an existing one is replaced by
// writing a temporary name in its directory and renaming it over, so a
// running binary is replaced rather than overwritten.
func (r *restoreRun) file(w *fileWorker, e *ManifestEntry) error {
	sfd, dfd, base, err := r.restoreDirs(w, e)
	if err != nil {
		return err
	}
	in, err := openReadAt(sfd, base)
	if err != nil {
		return fmt.Errorf("open backup of %s: %w", e.Path, err)
	}
	defer unix.Close(in)
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	name, tmp := base, false
	out, err := unix.Openat(dfd, name, flags, 0o600)
	if err == unix.EEXIST {
		name, tmp = restoreTempName(), true
		out, err = unix.Openat(dfd, name, flags, 0o600)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", e.Path, err)
	}
	committed := false
	defer func() {
		if !committed {
			unix.Unlinkat(dfd, name, 0)
		}
	}()
	// copy_file_range for large files: no pass through user space.
	_, err = w.copyFD(out, in, e.Size, false)
	if err == nil {
		// chown clears setuid and setgid: chmod after it.
		err = unix.Fchown(out, e.UID, e.GID)
	}
	if err == nil {
		err = unix.Fchmod(out, unixMode(e))
	}
	if err == nil {
		err = unix.UtimesNanoAt(dfd, name, mtimeSpec(e.MTime), unix.AT_SYMLINK_NOFOLLOW)
	}
	if cerr := unix.Close(out); err == nil {
		err = cerr
	}
	if err == nil && tmp {
		err = r.replaceAt(dfd, name, base, e.Path)
	}
	if err != nil {
		return fmt.Errorf("restore %s: %w", e.Path, err)
	}
	committed = true
	return nil
}

// symlink recreates symlink entry e with its owner and mtime, in place or
// renamed over what is there.
func (r *restoreRun) symlink(w *fileWorker, e *ManifestEntry) error {
	_, dfd, base, err := r.restoreDirs(w, e)
	if err != nil {
		return err
	}
	name, tmp := base, false
	err = unix.Symlinkat(e.Target, dfd, name)
	if err == unix.EEXIST {
		name, tmp = restoreTempName(), true
		err = unix.Symlinkat(e.Target, dfd, name)
	}
	if err != nil {
		return fmt.Errorf("restore symlink %s: %w", e.Path, err)
	}
	err = unix.Fchownat(dfd, name, e.UID, e.GID, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil {
		err = unix.UtimesNanoAt(dfd, name, mtimeSpec(e.MTime), unix.AT_SYMLINK_NOFOLLOW)
	}
	if err == nil && tmp {
		err = r.replaceAt(dfd, name, base, e.Path)
	}
	if err != nil {
		unix.Unlinkat(dfd, name, 0)
		return fmt.Errorf("restore symlink %s: %w", e.Path, err)
	}
	return nil
}

// replaceAt renames tmp over name in directory dfd (rel in root); a
// directory in the way is removed first.
func (r *restoreRun) replaceAt(dfd int, tmp, name, rel string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if err := os.RemoveAll(absPath(r.root, rel)); err != nil {
			return err
		}
	}
	return unix.Renameat(dfd, tmp, dfd, name)
}

// link remakes hard link entry e to its first name.
func (r *restoreRun) link(e *ManifestEntry) error {
	p, first := absPath(r.root, e.Path), absPath(r.root, e.HardLink)
	a, err := os.Lstat(p)
	if err == nil {
		if b, err := os.Lstat(first); err == nil && os.SameFile(a, b) {
			return nil
		}
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("restore hard link %s: %w", e.Path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("restore hard link %s: %w", e.Path, err)
	}
	if err := os.Link(first, p); err != nil {
		return fmt.Errorf("restore hard link %s: %w", e.Path, err)
	}
	return nil
}

// restoreTempName returns a fresh temporary name for a file or symlink
// being restored next to the one it replaces.
func restoreTempName() string {
	var b [8]byte
	rand.Read(b[:])
	return restoreTempPrefix + hex.EncodeToString(b[:])
}

// setMeta gives p (not followed if a symlink) the owner, mode and mtime
// of e; a symlink has no mode of its own.
func setMeta(p string, e *ManifestEntry) error {
	if err := os.Lchown(p, e.UID, e.GID); err != nil {
		return err
	}
	if e.Type != EntrySymlink {
		if err := os.Chmod(p, e.FileMode()); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(e.MTime.UnixNano()), unix.NsecToTimespec(e.MTime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimensat", Path: p, Err: err}
	}
	return nil
}

// Compare re-reads root against the manifest of backup name in dst
// and returns the differences, sorted: "missing P", "extra P", "type P:
// …", "modified P: sha256 … in backup, … on disk", "mode P:
// …", "owner P: …", "mtime P: …", "target P: …", "link P: …". Paths under
// keep are ignored. No differences proves a backout restored the host
// exactly. A corrupt manifest is an error (*CorruptBackupError).
func Compare(ctx context.Context, dst, name, root string, keep []string) ([]string, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", root, err)
	}
	kp, err := cleanRelPaths("keep", keep)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", root, err)
	}
	c := &compareRun{root: root, keep: newRelSet(kp)}
	pool := startTreePool(ctx, func(_ context.Context, w *fileWorker, batch []ManifestEntry) error {
		for i := range batch {
			c.compareFile(w, &batch[i])
		}
		return nil
	})
	batches := &entryBatcher{pool: pool}
	paths := newManifestPathSet()
	_, rerr := ReadManifest(dst, name, func(e *ManifestEntry) error {
		paths.add(e.Path)
		if c.keep.under(e.Path) {
			return nil
		}
		if e.Type == EntryFile && e.HardLink == "" {
			return batches.add(*e)
		}
		c.compareEntry(e)
		return nil
	})
	if rerr == nil {
		rerr = batches.flush()
	}
	if err := pool.wait(ctx); err != nil {
		return nil, fmt.Errorf("compare %s with backup %s: %w", root, name, err)
	}
	if rerr != nil {
		return nil, fmt.Errorf("compare %s with backup %s: %w", root, name, rerr)
	}
	paths.seal()
	if err := c.findExtras(ctx, paths, "."); err != nil {
		return nil, fmt.Errorf("compare %s with backup %s: %w", root, name, err)
	}
	slices.Sort(c.diffs)
	if c.total > len(c.diffs) {
		c.diffs = append(c.diffs, fmt.Sprintf("… and %d more differences", c.total-len(c.diffs)))
	}
	return c.diffs, nil
}

// compareRun is one Compare call.
type compareRun struct {
	root  string
	keep  relSet
	mu    sync.Mutex
	diffs []string
	total int
}

func (c *compareRun) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	if len(c.diffs) < maxDifferences {
		c.diffs = append(c.diffs, fmt.Sprintf(format, args...))
	}
}

// stat returns the stat of entry e in root, noting a missing or
// differently typed path.
func (c *compareRun) stat(e *ManifestEntry) (fs.FileInfo, bool) {
	fi, err := os.Lstat(absPath(c.root, e.Path))
	if errors.Is(err, fs.ErrNotExist) {
		c.add("missing %s", e.Path)
		return nil, false
	}
	if err != nil {
		c.add("unreadable %s: %v", e.Path, err)
		return nil, false
	}
	if got := entryType(fi.Mode()); got != e.Type {
		c.add("type %s: %s in backup, %s on disk", e.Path, e.Type, got)
		return nil, false
	}
	return fi, true
}

// entryType names a file mode as a manifest type.
func entryType(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return EntryFile
	case m.IsDir():
		return EntryDir
	case m&fs.ModeSymlink != 0:
		return EntrySymlink
	}
	return m.Type().String()
}

// entryFromInfo fills the metadata of an entry from a stat result.
func entryFromInfo(rel, typ string, fi fs.FileInfo) ManifestEntry {
	e := ManifestEntry{Path: rel, Type: typ, Mode: uint32(fi.Mode() & manifestModeBits), MTime: fi.ModTime().UTC()}
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(s.Uid), int(s.Gid)
		e.MTime = time.Unix(s.Mtim.Sec, s.Mtim.Nsec).UTC()
	}
	if typ == EntryFile {
		e.Size = fi.Size()
	}
	return e
}

// compareMeta compares owner, mode (not for symlinks) and mtime.
func (c *compareRun) compareMeta(e *ManifestEntry, fi fs.FileInfo) {
	got := entryFromInfo(e.Path, e.Type, fi)
	if e.Type != EntrySymlink && got.Mode != e.Mode {
		c.add("mode %s: %s in backup, %s on disk", e.Path, octalMode(e.Mode), octalMode(got.Mode))
	}
	if got.UID != e.UID || got.GID != e.GID {
		c.add("owner %s: %d:%d in backup, %d:%d on disk", e.Path, e.UID, e.GID, got.UID, got.GID)
	}
	if !got.MTime.Equal(e.MTime) {
		c.add("mtime %s: %s in backup, %s on disk", e.Path, e.MTime.Format(time.RFC3339Nano), got.MTime.Format(time.RFC3339Nano))
	}
}

// compareEntry compares a directory, symlink or hard link.
func (c *compareRun) compareEntry(e *ManifestEntry) {
	fi, ok := c.stat(e)
	if !ok {
		return
	}
	switch {
	case e.Type == EntrySymlink:
		if t, err := os.Readlink(absPath(c.root, e.Path)); err != nil || t != e.Target {
			c.add("target %s: %q in backup, %q on disk", e.Path, e.Target, t)
		}
	case e.HardLink != "":
		first, err := os.Lstat(absPath(c.root, e.HardLink))
		if err != nil || !os.SameFile(fi, first) {
			c.add("link %s: a hard link to %s in backup, not on disk", e.Path, e.HardLink)
		}
	}
	c.compareMeta(e, fi)
}

// compareFile compares a file's content and metadata.
func (c *compareRun) compareFile(w *fileWorker, e *ManifestEntry) {
	fi, ok := c.stat(e)
	if !ok {
		return
	}
	c.compareMeta(e, fi)
	dir, base := splitRel(e.Path)
	dfd, err := w.dir[0].get(c.root, dir)
	var n int64
	var sum []byte
	if err == nil {
		n, sum, err = w.hashFileAt(dfd, base)
	}
	switch {
	case err != nil:
		c.add("unreadable %s: %v", e.Path, err)
	case n != e.Size:
		c.add("modified %s: sha256 %.12s… in backup, %.12s… on disk (%d bytes in backup, %d on disk)", e.Path, e.SHA256, sum, e.Size, n)
	case string(sum) != e.SHA256:
		c.add("modified %s: sha256 %.12s… in backup, %.12s… on disk", e.Path, e.SHA256, sum)
	}
}

// findExtras reports paths below directory rel of root that the manifest
// does not hold (an extra directory once, not its contents).
func (c *compareRun) findExtras(ctx context.Context, paths *manifestPathSet, rel string) error {
	f, err := os.Open(absPath(c.root, rel))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil // already reported as missing or as a type change
	}
	if err != nil {
		return err
	}
	defer f.Close()
	for {
		ents, rerr := f.ReadDir(readDirBatch)
		for _, de := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			child := relJoin(rel, de.Name())
			switch {
			case c.keep.has(child):
			case !paths.has(child):
				if c.keep.above(child) {
					if err := c.findExtras(ctx, paths, child); err != nil {
						return err
					}
					continue
				}
				c.add("extra %s", child)
			case de.IsDir():
				if err := c.findExtras(ctx, paths, child); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// octalMode renders manifest mode bits the Unix way: 04755.
func octalMode(m uint32) string {
	fm := os.FileMode(m)
	u := uint32(fm.Perm())
	if fm&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	if fm&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if fm&os.ModeSticky != 0 {
		u |= 0o1000
	}
	return fmt.Sprintf("%04o", u)
}
