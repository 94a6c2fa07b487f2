// A backup worker's copying of one directory, file, symlink or hard link.

package treebackup

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

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
