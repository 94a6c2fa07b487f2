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

	"golang.org/x/sys/unix"
)

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
	if err := verifyBackup(ctx, dst, name, func(e *ManifestEntry) { paths.add(e.Path) }, readBack, nil); err != nil {
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
		err = setMtime(dfd, name, e.MTime)
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
		err = setMtime(dfd, name, e.MTime)
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
