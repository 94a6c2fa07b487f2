package treebackup

import (
	"context"
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
)

// maxDifferences bounds the list Compare returns; a last line says
// how many more there were.
const maxDifferences = 1000

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
		e.MTime = time.Unix(int64(s.Mtim.Sec), int64(s.Mtim.Nsec)).UTC() // int32 fields on 32-bit hosts
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
